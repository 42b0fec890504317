/** Per-sketch choices in `esp8266-sign.json`, so IDE users need not edit recipes. */
import { join } from 'node:path';
import { UserError } from './errors.js';
import { MAX_KEY_BYTES, readOptionalFile } from './io.js';

export interface SketchSettings {
  /** true (the default level) or "max" (smaller, slower). */
  compress?: boolean | 'default' | 'max';
  legacy?: boolean;
  fleet?: string[];
  strict?: boolean;
  privateKey?: string;
  publicKey?: string;
  /** The firmware is built with -DATOMIC_FS_UPDATE, so signed filesystem updates are staged and verified first. */
  atomicFs?: boolean;
}

export const SETTINGS_FILE = 'esp8266-sign.json';

type SettingType = 'boolean' | 'string' | 'string[]' | 'compression';

// A Map, not an object: a key such as "__proto__" or "toString" must not look like a known setting.
const TYPES = new Map<string, SettingType>([
  ['compress', 'compression'],
  ['legacy', 'boolean'],
  ['fleet', 'string[]'],
  ['strict', 'boolean'],
  ['privateKey', 'string'],
  ['publicKey', 'string'],
  ['atomicFs', 'boolean'],
]);

/** A value as it may appear in a message: short, whatever the user put in the file. */
export function quoteValue(v: unknown, max = 60): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > max ? `${text.slice(0, max)}… (${text.length} characters)` : text;
}

function fits(type: SettingType, v: unknown): boolean {
  if (type === 'string[]') return Array.isArray(v) && v.every((x) => typeof x === 'string');
  // compress: true/false, or a level name
  if (type === 'compression') return typeof v === 'boolean' || v === 'default' || v === 'max';
  return typeof v === type;
}

const EXPECTED: Record<SettingType, string> = {
  boolean: 'a boolean',
  string: 'a string',
  'string[]': 'a list of strings',
  compression: 'true, false, "default" or "max"',
};

export function readSettings(sketchDir: string): SketchSettings {
  const path = join(sketchDir, SETTINGS_FILE);
  const bytes = readOptionalFile(path, 'settings file', MAX_KEY_BYTES);
  if (bytes === undefined) return {};
  // editors on Windows like to start UTF-8 files with a byte-order mark; JSON.parse does not
  const text = bytes.toString('utf8').replace(/^\uFEFF/, '');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new UserError(`${path} is not valid JSON (${(err as Error).message.slice(0, 200)}). Fix it or delete it.`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UserError(`${path} must hold a JSON object such as {"compress": true}.`);
  const settings: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const type = TYPES.get(k);
    if (!type) throw new UserError(`${path}: unknown setting ${quoteValue(k)}. Known settings: ${[...TYPES.keys()].join(', ')}.`);
    if (!fits(type, v)) throw new UserError(`${path}: "${k}" must be ${EXPECTED[type]}, not ${quoteValue(v)}.`);
    settings[k] = v;
  }
  return settings as SketchSettings;
}
