import { statSync } from 'node:fs';
import { errnoCode, UserError } from '../errors.js';
import { MAX_KEY_BYTES, readUserFile } from '../io.js';
import { decodeDevicePublicKey, deviceKeyProblem, keyAsStrlenSees, type DeviceKey } from '../emulator/bearssl.js';
import { checkDeviceKey, rsaSizeWarnings, spkiPem } from '../keys/check.js';
import { parsePublicKey, pemBlock } from '../keys/load.js';

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
  const asDevice = decodeDevicePublicKey(keyAsStrlenSees(bytes));
  const canonical = canonicalRsaKeyBits(bytes, asDevice);
  if (canonical !== null) return { bytes, warnings: rsaSizeWarnings(canonical, path), bits: canonical };
  const derived = parsePublicKey(bytes, path);
  if (!derived) {
    const what = bytes.length === 0 ? 'is empty' : 'does not contain a key this tool can read';
    throw new UserError(`public key ${path} ${what}. Put the RSA public key (PEM "BEGIN PUBLIC KEY") there, or generate a pair with "esp8266-sign keygen".`);
  }
  const { bits, warnings } = checkDeviceKey(derived.key, path);
  const problem = deviceKeyProblem(asDevice);
  if (problem === null) return { bytes, warnings, bits };
  const why = derived.fromPrivate ? 'it is a private key' : bytes.includes(0) && !bytes.includes('-----BEGIN')
    ? `it is DER; the firmware reads the embedded key with strlen, which stops at its first zero byte (offset ${bytes.indexOf(0)})`
    : problem;
  warnings.push(`public key ${path} cannot be loaded by the device as written (${why}); embedding the same key as SubjectPublicKeyInfo PEM instead. Replace the file with that form to silence this warning.`);
  return { bytes: spkiPem(derived.key), warnings, bits };
}

/**
 * The bits of a key written exactly as OpenSSL and keygen write it (RSA SubjectPublicKeyInfo PEM,
 * 64-column base64, LF line ends), which the device's decoder reads: such a file needs neither
 * node:crypto (5-18 ms of a fresh process to load, in every build's prebuild) nor a conversion.
 * Null for anything else, which goes through OpenSSL's parser and every check.
 */
export function canonicalRsaKeyBits(bytes: Uint8Array, key: DeviceKey = decodeDevicePublicKey(keyAsStrlenSees(bytes))): number | null {
  if (key.kind !== 'rsa' || deviceKeyProblem(key) !== null) return null;
  const bits = bitLength(key.n);
  if (bits < 512 || bits > 4096) return null;
  return Buffer.from(rsaSpkiPem(key.n, key.e)).equals(bytes) ? bits : null;
}

function bitLength(n: Uint8Array): number {
  return n.length === 0 ? 0 : (n.length - 1) * 8 + (32 - Math.clz32(n[0]!));
}

/** DER: a tag, a definite length (short or long form), the body. */
function tlv(tag: number, body: Uint8Array): Uint8Array {
  const len = body.length;
  const head = len < 0x80 ? [tag, len] : len < 0x100 ? [tag, 0x81, len] : [tag, 0x82, len >> 8, len & 0xff];
  return Buffer.concat([Uint8Array.from(head), body]);
}

/** An unsigned big-endian integer as DER INTEGER (a leading zero where the top bit is set). */
function derInteger(v: Uint8Array): Uint8Array {
  return tlv(0x02, v.length > 0 && v[0]! >= 0x80 ? Buffer.concat([Uint8Array.of(0), v]) : v);
}

const RSA_ALGORITHM = Uint8Array.of(0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00);

/** The SubjectPublicKeyInfo PEM OpenSSL writes for this modulus and exponent. */
function rsaSpkiPem(n: Uint8Array, e: Uint8Array): string {
  const rsaKey = tlv(0x30, Buffer.concat([derInteger(n), derInteger(e)]));
  const der = tlv(0x30, Buffer.concat([RSA_ALGORITHM, tlv(0x03, Buffer.concat([Uint8Array.of(0), rsaKey]))]));
  return pemBlock('PUBLIC KEY', Buffer.from(der).toString('base64'));
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
