import { readFileSync } from 'node:fs';

let cached: string | undefined;

/** This tool's version, from its package.json (dist/*.js and dist/bundle/*.js sit one or two folders below it). */
export function toolVersion(): string {
  if (cached) return cached;
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version: string };
      if (pkg.name === 'esp8266-sign') return (cached = pkg.version);
    } catch {
      // try the next level up
    }
  }
  return (cached = 'unknown');
}
