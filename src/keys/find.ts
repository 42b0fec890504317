/**
 * Where keys come from, first hit wins (DESIGN.md "Keys and secrets"): command-line option →
 * an environment variable naming a file → one holding the PEM (CI secrets) → esp8266-sign.json →
 * private.key / public.key in the sketch folder → a keys folder outside the sketch.
 */
import { basename, join, resolve } from 'node:path';
import { UserError } from '../errors.js';
import { statSync } from 'node:fs';
import { MAX_KEY_BYTES, readUserFile } from '../io.js';

export type KeyKind = 'private' | 'public';

export interface FoundKey {
  bytes: Buffer;
  /** Where it came from, for messages and the manifest; never the key itself. */
  source: string;
  path: string | null;
}

export interface KeyLookup {
  option?: string;
  /** A path from esp8266-sign.json, relative to the sketch folder. */
  settings?: string;
  sketchDir: string;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

const FILE_VARS = { private: 'ESP8266_SIGN_PRIVATE_KEY', public: 'ESP8266_SIGN_PUBLIC_KEY' } as const;
const PEM_VARS = { private: 'ESP8266_SIGN_PRIVATE_KEY_PEM', public: 'ESP8266_SIGN_PUBLIC_KEY_PEM' } as const;
export const KEYS_DIR_VAR = 'ESP8266_SIGN_KEYS_DIR';

/** Finds one key; `looked` lists every place tried, for the error when nothing is found. */
export function findKey(kind: KeyKind, q: KeyLookup): { found: FoundKey | null; looked: string[] } {
  const name = `${kind}.key`;
  const looked: string[] = [];
  const named = (path: string, source: string): FoundKey => {
    const abs = resolve(q.cwd, path);
    return { bytes: readUserFile(abs, `${kind} key`, `It was named by ${source}; fix the path or remove the setting.`, MAX_KEY_BYTES), source, path: abs };
  };
  if (q.option) return { found: named(q.option, `--${kind}key`), looked };
  const fileVar = q.env[FILE_VARS[kind]];
  if (fileVar) return { found: named(fileVar, `$${FILE_VARS[kind]}`), looked };
  looked.push(`$${FILE_VARS[kind]} (not set)`);
  const pem = q.env[PEM_VARS[kind]];
  if (pem) {
    if (!pem.includes('-----BEGIN')) throw new UserError(`$${PEM_VARS[kind]} does not hold a PEM key (no "-----BEGIN" line). Put the whole PEM text in it, or use $${FILE_VARS[kind]} to name a file.`);
    return { found: { bytes: Buffer.from(pem.replace(/\\n/g, '\n'), 'latin1'), source: `$${PEM_VARS[kind]}`, path: null }, looked };
  }
  looked.push(`$${PEM_VARS[kind]} (not set)`);
  if (q.settings) return { found: named(resolve(q.sketchDir, q.settings), `esp8266-sign.json "${kind}Key"`), looked };
  const candidates: Array<[string, string]> = [[join(q.sketchDir, name), 'the sketch folder']];
  const keysDir = q.env[KEYS_DIR_VAR];
  if (keysDir) {
    candidates.push([join(keysDir, basename(q.sketchDir), name), `$${KEYS_DIR_VAR}/<sketch>`], [join(keysDir, name), `$${KEYS_DIR_VAR}`]);
  } else {
    looked.push(`$${KEYS_DIR_VAR} (not set)`);
  }
  for (const [path, source] of candidates) {
    if (existsAsNonFolder(path)) return { found: { bytes: readUserFile(path, `${kind} key`, '', MAX_KEY_BYTES), source, path }, looked };
    looked.push(path);
  }
  return { found: null, looked };
}

/** A candidate that exists and is not a folder is read (a FIFO there is an error, not a silent skip). */
function existsAsNonFolder(path: string): boolean {
  try {
    return !statSync(path).isDirectory();
  } catch {
    return false;
  }
}
