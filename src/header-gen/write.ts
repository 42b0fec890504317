import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { UserError } from '../errors.js';
import { assertWritable, readOptionalFile, writeFileAtomic } from '../io.js';

/**
 * Writes the header only when its text changes, so the build does not recompile the core for
 * nothing (signing.py since 3.0.0). The compare reads with universal newlines, as Python does.
 * Returns whether the file was written.
 */
export function writeHeaderIfChanged(path: string, content: string): boolean {
  const existing = readOptionalFile(path, 'header', 1024 * 1024);
  if (existing !== undefined && existing.toString('latin1').replace(/\r\n?/g, '\n') === content) return false;
  try {
    mkdirSync(dirname(path), { recursive: true });
  } catch (err) {
    throw new UserError(`cannot create the folder for ${path}: ${(err as Error).message}`);
  }
  assertWritable(path, 'header');
  writeFileAtomic(path, content);
  return true;
}
