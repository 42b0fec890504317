/** Per-sketch choices in `esp8266-sign.json`, so IDE users need not edit recipes. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from './errors.js';

export interface SketchSettings {
  /** true (the default level) or "max" (smaller, slower). */
  compress?: boolean | 'default' | 'max';
  legacy?: boolean;
  fleet?: string[];
  strict?: boolean;
  privateKey?: string;
  publicKey?: string;
}

export const SETTINGS_FILE = 'esp8266-sign.json';

const TYPES: Record<keyof SketchSettings, 'boolean' | 'string' | 'string[]' | 'compression'> = {
  compress: 'compression',
  legacy: 'boolean',
  fleet: 'string[]',
  strict: 'boolean',
  privateKey: 'string',
  publicKey: 'string',
};

export function readSettings(sketchDir: string): SketchSettings {
  const path = join(sketchDir, SETTINGS_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return {};
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new UserError(`${path} is not valid JSON (${(err as Error).message}). Fix it or delete it.`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UserError(`${path} must hold a JSON object such as {"compress": true}.`);
  for (const [k, v] of Object.entries(value)) {
    const type = TYPES[k as keyof SketchSettings];
    if (!type) throw new UserError(`${path}: unknown setting "${k}". Known settings: ${Object.keys(TYPES).join(', ')}.`);
    const ok = type === 'string[]' ? Array.isArray(v) && v.every((x) => typeof x === 'string')
      : type === 'compression' ? typeof v === 'boolean' || v === 'default' || v === 'max'
      : typeof v === type;
    const want = type === 'string[]' ? 'a list of strings' : type === 'compression' ? 'true, false, "default" or "max"' : `a ${type}`;
    if (!ok) throw new UserError(`${path}: "${k}" must be ${want}, not ${JSON.stringify(v)}.`);
  }
  return value as SketchSettings;
}
