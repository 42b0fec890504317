import { readFileSync } from 'node:fs';
import { builtVersion } from './build-info.js';

let cached: string | undefined;

/**
 * This tool's version: built into the bundles (a single executable has no package.json beside it),
 * else from package.json (dist/*.js sit one folder below it).
 */
export function toolVersion(): string {
  if (builtVersion) return builtVersion;
  if (cached) return cached;
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { name?: string; version: string };
    if (pkg.name === 'esp8266-sign') return (cached = pkg.version);
  } catch {
    // no package.json where it belongs: a copy of the modules outside the package
  }
  return (cached = 'unknown');
}
