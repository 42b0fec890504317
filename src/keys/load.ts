import type { KeyObject } from 'node:crypto';
import { crypto } from '../lazy.js';
import { errnoCode, UserError } from '../errors.js';
import { PASSPHRASE_ENV } from './passphrase.js';

export interface PrivateKey {
  path: string;
  key: KeyObject;
  publicKey: KeyObject;
}

export interface PublicKey {
  path: string;
  /** The file's bytes as they are (the header embeds these when the device can load them). */
  bytes: Buffer;
  key: KeyObject;
}

function pemLabels(text: string): string[] {
  return [...text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----/g)].map((m) => m[1]!);
}

function isEncryptedPem(text: string): boolean {
  return pemLabels(text).includes('ENCRYPTED PRIVATE KEY') || /Proc-Type:\s*4,ENCRYPTED/.test(text);
}

/**
 * Parses a private key: PKCS#1 or PKCS#8, PEM (LF or CRLF) or DER, encrypted PEM with a passphrase.
 * The bytes are the file's content; `path` only names it in messages.
 */
export function parsePrivateKey(bytes: Buffer, path: string, passphrase?: string): PrivateKey {
  if (bytes.length === 0) {
    throw new UserError(`private key ${path} is empty. Generate a key pair with "esp8266-sign keygen" or restore the file.`);
  }
  const text = bytes.toString('latin1');
  const labels = pemLabels(text);
  if (labels.length > 0 && labels.every((l) => l.includes('PUBLIC KEY'))) {
    throw new UserError(`private key ${path} holds a public key ("${labels[0]}"). Pass the private key here; the public key belongs in public.key.`);
  }
  const encrypted = isEncryptedPem(text);
  if (encrypted && passphrase === undefined) {
    throw new UserError(`private key ${path} is encrypted. Set ${PASSPHRASE_ENV} or pass --passphrase-file FILE with its passphrase.`);
  }
  let key: KeyObject | undefined;
  try {
    if (labels.length > 0) {
      key = crypto().createPrivateKey({ key: bytes, format: 'pem', passphrase: encrypted ? passphrase : undefined });
    } else {
      for (const type of ['pkcs8', 'pkcs1', 'sec1'] as const) {
        try {
          key = crypto().createPrivateKey({ key: bytes, format: 'der', type });
          break;
        } catch {
          // try the next DER container
        }
      }
    }
  } catch (err) {
    const code = errnoCode(err) ?? '';
    if (code === 'ERR_OSSL_BAD_DECRYPT' || (encrypted && code.startsWith('ERR_OSSL'))) {
      throw new UserError(`private key ${path} could not be decrypted: wrong passphrase. Check ${PASSPHRASE_ENV} or the passphrase file.`);
    }
  }
  if (!key) {
    throw new UserError(`private key ${path} is not a private key this tool can read (expected PEM or DER, PKCS#1 or PKCS#8). Generate one with "esp8266-sign keygen".`);
  }
  return { path, key, publicKey: crypto().createPublicKey(key) };
}

/** Rebuilds a PEM block in canonical form (64-column base64, LF) whatever its spacing, BOM or line breaks. */
function canonicalPem(text: string): string | null {
  const m = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/.exec(text);
  return m ? pemBlock(m[1]!, m[2]!.replace(/\s+/g, '')) : null;
}

/** A PEM block as OpenSSL writes it: the label's BEGIN line, the base64 in 64 columns, END; LF throughout. */
export function pemBlock(label: string, base64: string): string {
  return `-----BEGIN ${label}-----\n${base64.replace(/.{1,64}/g, '$&\n')}-----END ${label}-----\n`;
}

/**
 * Parses a public key as Node reads it: SPKI or PKCS#1, PEM (in any spacing) or DER, or a private
 * key to derive it from (`fromPrivate`). Null when the bytes hold no key.
 */
export function parsePublicKey(bytes: Buffer, path: string): (PublicKey & { fromPrivate: boolean }) | null {
  if (bytes.length === 0) return null;
  const text = bytes.toString('latin1');
  const labels = pemLabels(text);
  const pem = labels.length ? canonicalPem(text) : null;
  const attempts: Array<() => KeyObject> = pem
    ? [() => crypto().createPublicKey({ key: pem, format: 'pem' })]
    : [
        () => crypto().createPublicKey({ key: bytes, format: 'der', type: 'spki' }),
        () => crypto().createPublicKey({ key: bytes, format: 'der', type: 'pkcs1' }),
      ];
  for (const attempt of attempts) {
    try {
      return { path, bytes, key: attempt(), fromPrivate: labels.some((l) => l.includes('PRIVATE KEY')) };
    } catch {
      // not this form
    }
  }
  return null;
}
