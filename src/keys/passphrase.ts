import { UserError } from '../errors.js';
import { MAX_KEY_BYTES, readUserFile } from '../io.js';

export const PASSPHRASE_ENV = 'ESP8266_SIGN_PASSPHRASE';

/**
 * The passphrase of an encrypted private key: from a file (first line) or the environment, never
 * from a command-line value, which other users could read in the process list.
 */
export function readPassphrase(env: NodeJS.ProcessEnv, passphraseFile?: string): string | undefined {
  if (passphraseFile) {
    const text = readUserFile(passphraseFile, 'passphrase file', '', MAX_KEY_BYTES).toString('utf8');
    const first = text.split(/\r?\n/, 1)[0] ?? '';
    if (first === '') throw new UserError(`passphrase file ${passphraseFile} is empty. Put the passphrase on its first line.`);
    return first;
  }
  const fromEnv = env[PASSPHRASE_ENV];
  return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv;
}
