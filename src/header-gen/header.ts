import { statSync } from 'node:fs';
import { errnoCode, UserError } from '../errors.js';
import { MAX_KEY_BYTES, readUserFile } from '../io.js';
import { decodeDevicePublicKey, deviceKeyProblem, keyAsStrlenSees } from '../emulator/bearssl.js';
import { checkDeviceKey, spkiPem } from '../keys/check.js';
import { parsePublicKey } from '../keys/load.js';

export const DISABLED_HEADER = '#define ARDUINO_SIGNING 0\n';

/**
 * Updater_Signing.h exactly as signing.py writes it (device-behaviour.md §1.3): one `0xNN, ` line
 * per key byte, the last separator trimmed, no terminating NUL (kept so headers stay identical).
 */
export function renderHeader(key: Uint8Array): string {
  const parts = ['#include <pgmspace.h>\n#define ARDUINO_SIGNING 1\nstatic const char signing_pubkey[] PROGMEM = {\n'];
  for (const byte of key) parts.push(`0x${byte.toString(16).padStart(2, '0')}, \n`);
  return parts.join('').slice(0, -3) + '\n};\n';
}

/** The inverse of renderHeader: the `signing_pubkey[]` bytes, or null for a signing-off header. */
export function parseHeader(text: string): Buffer | null {
  if (!/#define ARDUINO_SIGNING 1/.test(text)) return null;
  return Buffer.from([...text.matchAll(/0x([0-9a-fA-F]{2})/g)].map((m) => parseInt(m[1]!, 16)));
}

export interface EmbeddedKey {
  bytes: Buffer;
  warnings: string[];
  bits: number;
}

/**
 * Decides what goes into `signing_pubkey[]`. signing.py embeds any file verbatim; a device can only
 * load an RSA SubjectPublicKeyInfo PEM (§4.2). So: embed the file when the device loads it,
 * otherwise embed the same key converted to SPKI PEM and say why, or refuse when there is no key.
 */
export function chooseEmbeddedKey(bytes: Buffer, path: string): EmbeddedKey {
  const derived = parsePublicKey(bytes, path);
  if (!derived) {
    const what = bytes.length === 0 ? 'is empty' : 'does not contain a key this tool can read';
    throw new UserError(`public key ${path} ${what}. Put the RSA public key (PEM "BEGIN PUBLIC KEY") there, or generate a pair with "esp8266-sign keygen".`);
  }
  const { bits, warnings } = checkDeviceKey(derived.key, path);
  const asDevice = decodeDevicePublicKey(keyAsStrlenSees(bytes));
  const problem = deviceKeyProblem(asDevice);
  if (problem === null) return { bytes, warnings, bits };
  const why = derived.fromPrivate ? 'it is a private key' : bytes.includes(0) && !bytes.includes('-----BEGIN')
    ? `it is DER; the firmware reads the embedded key with strlen, which stops at its first zero byte (offset ${bytes.indexOf(0)})`
    : problem;
  warnings.push(`public key ${path} cannot be loaded by the device as written (${why}); embedding the same key as SubjectPublicKeyInfo PEM instead. Replace the file with that form to silence this warning.`);
  return { bytes: spkiPem(derived.key), warnings, bits };
}

/**
 * Reads a key file for the header; undefined when it is missing or a folder (signing off, as
 * signing.py's IOError path). A FIFO, device or oversized file is an error, never a hang.
 */
export function readKeyIfPresent(path: string): Buffer | undefined {
  try {
    if (statSync(path).isDirectory()) return undefined;
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
  }
  return readUserFile(path, 'public key', '', MAX_KEY_BYTES);
}
