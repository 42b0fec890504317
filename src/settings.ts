/** Per-sketch choices in `esp8266-sign.json`, so IDE users need not edit recipes. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from './errors.js';

export interface SketchSettings {
  compress?: boolean;
  legacy?: boolean;
  fleet?: string[];
  strict?: boolean;
  privateKey?: string;
  publicKey?: string;
}

export const SETTINGS_FILE = 'esp8266-sign.json';

const TYPES: Record<keyof SketchSettings, 'boolean' | 'string' | 'string[]'> = {
  compress: 'boolean',
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
    const ok = type === 'string[]' ? Array.isArray(v) && v.every((x) => typeof x === 'string') : typeof v === type;
    if (!ok) throw new UserError(`${path}: "${k}" must be ${type === 'string[]' ? 'a list of strings' : `a ${type}`}, not ${JSON.stringify(v)}.`);
  }
  return value as SketchSettings;
}
