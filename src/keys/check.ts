import type { KeyObject } from 'node:crypto';
import { crypto } from '../lazy.js';
import { UserError } from '../errors.js';

/** SHA-256 of the SubjectPublicKeyInfo DER: names a key in reports without revealing anything. */
export function fingerprint(publicKey: KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return 'SHA256:' + crypto().createHash('sha256').update(der).digest('hex');
}

export function spkiPem(publicKey: KeyObject): Buffer {
  return Buffer.from(publicKey.export({ type: 'spki', format: 'pem' }) as string, 'latin1');
}

export interface KeyVerdict {
  bits: number;
  warnings: string[];
}

/**
 * Whether an ESP8266 can ever verify signatures made with this key (device-behaviour.md §4.4):
 * RSA of 512–4096 bits on every core; EC and larger RSA never. Throws with the reason otherwise.
 */
export function checkDeviceKey(key: KeyObject, path: string): KeyVerdict {
  const type = key.asymmetricKeyType;
  if (type === 'ec') {
    throw new UserError(`key ${path} is an EC key. No ESP8266 core can verify EC signatures (BearSSLHelpers drops the point prefix), so every update would be rejected. Use an RSA key: "esp8266-sign keygen".`);
  }
  if (type !== 'rsa') {
    throw new UserError(`key ${path} is a ${type ?? 'unknown'} key. ESP8266 cores verify only RSA PKCS#1 v1.5 signatures. Use an RSA key: "esp8266-sign keygen".`);
  }
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits > 4096) {
    throw new UserError(`key ${path} is a ${bits}-bit RSA key. BearSSL on the ESP8266 verifies at most 4096-bit keys, so every update would be rejected. Use a 2048–4096-bit key: "esp8266-sign keygen --bits 4096".`);
  }
  if (bits < 512) {
    throw new UserError(`key ${path} is a ${bits}-bit RSA key, too small to hold a SHA-256 signature. Use a 2048–4096-bit key: "esp8266-sign keygen".`);
  }
  return { bits, warnings: rsaSizeWarnings(bits, path) };
}

/** What an RSA key of this size, in the 512-4096 bits a device takes, deserves to be told. */
export function rsaSizeWarnings(bits: number, path: string): string[] {
  return bits < 2048 ? [`key ${path} is only ${bits} bits; devices accept it, but RSA below 2048 bits is weak. Consider "esp8266-sign keygen".`] : [];
}

export function samePublicKey(a: KeyObject, b: KeyObject): boolean {
  return a.export({ type: 'spki', format: 'der' }).equals(b.export({ type: 'spki', format: 'der' }));
}

export function assertPairMatches(privatePath: string, derived: KeyObject, publicPath: string, publicKey: KeyObject): void {
  if (!samePublicKey(derived, publicKey)) {
    throw new UserError(`private key ${privatePath} does not belong to public key ${publicPath}: a device built with that public key would reject everything signed with this private key. Use the matching pair, or regenerate both with "esp8266-sign keygen".`);
  }
}
