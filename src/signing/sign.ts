import type { KeyObject } from 'node:crypto';
import { crypto } from '../lazy.js';
import { decodeDevicePublicKey, deviceVerify, type PaddingMode } from '../emulator/bearssl.js';

/** DER DigestInfo header for SHA-256 (RFC 8017 §9.2 note 1): what `openssl dgst -sha256 -sign` wraps. */
const SHA256_DIGEST_INFO = Buffer.from('3031300d060960864801650304020105000420', 'hex');

export function sha256(data: Uint8Array): Buffer {
  return crypto().createHash('sha256').update(data).digest();
}

/**
 * The signature cores from 2.6.0 verify: RSASSA-PKCS1-v1_5 with the SHA-256 DigestInfo, identical
 * to `openssl dgst -sha256 -sign` (deterministic). Takes the digest so one hash serves both formats.
 */
export function signDigestInfo(digest: Uint8Array, key: KeyObject): Buffer {
  return crypto().privateEncrypt({ key, padding: crypto().constants.RSA_PKCS1_PADDING }, Buffer.concat([SHA256_DIGEST_INFO, digest]));
}

/**
 * The legacy signature 2.5.x cores verify: PKCS#1 type-1 padding around the bare 32-byte digest,
 * no DigestInfo (what `openssl rsautl -sign` writes).
 */
export function signLegacy(digest: Uint8Array, key: KeyObject): Buffer {
  return crypto().privateEncrypt({ key, padding: crypto().constants.RSA_PKCS1_PADDING }, digest);
}

/** What follows the payload: the signature and its length as u32 LE, as Updater::end() reads it back. */
export function signatureTail(signature: Uint8Array): [Uint8Array, Buffer] {
  const trailer = Buffer.alloc(4);
  trailer.writeUInt32LE(signature.length);
  return [signature, trailer];
}

/** `payload ‖ signature ‖ u32le(signature length)` in one buffer. */
export function appendSignature(payload: Uint8Array, signature: Uint8Array): Buffer {
  return Buffer.concat([payload, ...signatureTail(signature)]);
}

export interface Trailer {
  payload: Buffer;
  signature: Buffer;
  sigLenTrailer: number;
}

/** Signature lengths an RSA trailer can name: the modulus bytes of 1024-, 2048-, 3072- and 4096-bit keys. */
export const RSA_SIG_LENGTHS: readonly number[] = [128, 256, 384, 512];

/** Splits a file at a trailer that claims one of `sigLens`; null when the file does not end in one. */
export function splitSigned(file: Uint8Array, sigLens: number | readonly number[]): Trailer | null {
  if (file.length < 4) return null;
  const buf = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  const sigLenTrailer = buf.readUInt32LE(buf.length - 4);
  const wanted = typeof sigLens === 'number' ? [sigLens] : sigLens;
  if (sigLenTrailer === 0 || !wanted.includes(sigLenTrailer) || buf.length < sigLenTrailer + 4) return null;
  const end = buf.length - 4;
  return { payload: buf.subarray(0, end - sigLenTrailer), signature: buf.subarray(end - sigLenTrailer, end), sigLenTrailer };
}

/**
 * Which signature format (if any) already closes this file for this public key. Used to refuse
 * signing twice: a device would hash the old signature as part of the payload.
 */
export function existingSignature(file: Buffer, publicKey: KeyObject): PaddingMode | null {
  const bits = publicKey.asymmetricKeyDetails?.modulusLength;
  // the cheap test first: a trailer naming this key's signature length (almost never true)
  if (publicKey.asymmetricKeyType !== 'rsa' || !bits || !splitSigned(file, Math.ceil(bits / 8))) return null;
  const deviceKey = decodeDevicePublicKey(publicKey.export({ type: 'spki', format: 'der' }));
  if (deviceKey.kind !== 'rsa') return null;
  const split = splitSigned(file, deviceKey.n.length);
  if (!split) return null;
  const digest = sha256(split.payload);
  for (const mode of ['digestinfo', 'null-oid'] as const) {
    if (deviceVerify(deviceKey, digest, split.signature, mode)) return mode;
  }
  return null;
}
