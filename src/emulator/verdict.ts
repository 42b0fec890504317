/**
 * Why a device said no, and what to do about it: every verdict's plain-language cause and fix is
 * decided here, from the stage, the device error and the facts of the file and the device.
 */
import { createHash } from 'node:crypto';
import { FLASH_MODES } from '../image/image.js';
import { isGzip } from '../image/kind.js';
import { deviceKeyProblem, deviceVerify, verifierLength, type DeviceKey } from './bearssl.js';
import type { DeviceSpec } from './device.js';
import type { EbootResult } from './eboot.js';
import type { DeviceError } from './errors.js';

interface Facts {
  stage: string;
  error: DeviceError | null;
  preError?: string;
  spec: DeviceSpec;
  key: DeviceKey | null;
  file: Uint8Array;
  trailer: { payloadLength: number; sigLenTrailer: number | null };
  eboot?: EbootResult;
  bootloaderIntact?: boolean;
}

export interface Explanation {
  cause: string;
  fix: string;
}

const hex = (n: number) => `0x${n.toString(16)}`;

export function explain(f: Facts): Explanation {
  const p = f.spec.profile;
  const gzip = isGzip(f.file);
  if (f.preError) return { cause: f.preError, fix: 'Make the file fit the free sketch space and start with 0xE9 (or 0x1F 8B on 2.7.0+).' };
  const name = f.error?.name;
  if (name === 'SPACE' && f.stage === 'begin') {
    return {
      cause: `the update (${f.file.length} bytes, staged in whole 4 KiB sectors just below the filesystem at ${hex(f.spec.layout.fsStart)}) would overlap the running sketch, which ends at ${hex(f.spec.runningSketchSize)}`,
      fix: 'make the sketch smaller, compress the update (cores 3.0.0+), or flash a layout with a smaller filesystem over serial once',
    };
  }
  if (name === 'SPACE') return { cause: 'more bytes arrived than the size given to Update.begin()', fix: 'send the file with its real length (Content-Length / espota size)' };
  if (name === 'FLASH_CONFIG') return { cause: 'the running firmware was built for a larger flash chip than the device has', fix: 'flash a build with the correct Flash Size over serial' };
  if (name === 'NO_DATA') return { cause: 'no data was written before Update.end()', fix: 'check the upload path' };
  if (name === 'MAGIC_BYTE') {
    if (gzip && !p.gzip) return { cause: `cores ${p.releases} cannot take gzip-compressed updates (eboot learnt gzip in 2.7.0)`, fix: 'upload the uncompressed .bin.signed; compress only for devices running 2.7.0+ (3.0.0+ when signed)' };
    return { cause: 'the staged file does not start with the image magic 0xE9', fix: 'upload a firmware .bin (or its signed form), not another file' };
  }
  if (name === 'NEW_FLASH_CONFIG') return { cause: 'the new image header claims a larger flash chip than the device has', fix: 'build with the board\'s real Flash Size' };
  if (name === 'SIGN') return explainSign(f);
  if (f.stage === 'end' && !f.error) return { cause: 'the upload ended before the declared size was reached', fix: 'send the whole file' };
  if (f.stage === 'eboot' && f.eboot) {
    if (f.eboot.result === 5) return { cause: 'eboot could not parse the gzip header (reserved flags or not deflate)', fix: 'compress with gzip, pako or esp8266-sign postbuild --compress' };
    if (f.eboot.unpredictable) return { cause: 'the gzip ISIZE field promises more bytes than the stream holds; the device then decodes whatever follows (corrupt or unpredictable)', fix: 'do not edit a gzip file after compressing; recompress' };
    return { cause: `eboot's copy failed with result ${f.eboot.result} after overwriting part of the app`, fix: 'recompress the image; check that it fits below the filesystem' };
  }
  if (f.bootloaderIntact === false) {
    return {
      cause: `cores ${p.releases} give eboot the signed size, so it reads the signature-length trailer as the gzip ISIZE and overwrites the bootloader sector: the next reset hangs (#7570)`,
      fix: 'never send a signed gzip to 2.7.x devices; send the uncompressed .bin.signed (cores 3.0.0+ handle signed gzip)',
    };
  }
  if (gzip && f.trailer.payloadLength > 0) {
    return {
      cause: 'eboot inflated the image over compressed input it had not read yet (the staged gzip sits too close to the start of flash), or ISIZE is smaller than the image: the flash does not hold the new firmware',
      fix: 'leave more room between the sketch and the filesystem, or send the update uncompressed',
    };
  }
  return { cause: 'after the copy, the flash does not hold a loadable copy of the new image', fix: 'check that the file is a complete firmware image' };
}

function explainSign(f: Facts): Explanation {
  const p = f.spec.profile;
  const key = f.key;
  if (!key) return { cause: 'unexpected: SIGN without a verifier', fix: '' };
  const problem = deviceKeyProblem(key);
  const expected = verifierLength(key);
  if (problem && (key.kind !== 'rsa')) {
    return { cause: `the firmware's compiled-in public key cannot verify anything: ${problem}`, fix: 'rebuild and flash over serial with public.key as an RSA SubjectPublicKeyInfo PEM (esp8266-sign header converts it)' };
  }
  const t = f.trailer.sigLenTrailer;
  if (t !== expected) {
    if (t === null || t > 4096) return { cause: `the file is not signed: its last 4 bytes read as a signature length of ${t}, the device key needs ${expected}`, fix: 'upload the .bin.signed file, not the .bin' };
    return { cause: `the file's trailer says ${t}-byte signature but the device's key is ${expected * 8}-bit (${expected} bytes): signed with a different key`, fix: 'sign with the private key whose public key is compiled into the running firmware' };
  }
  const payload = f.file.subarray(0, f.trailer.payloadLength);
  const sig = f.file.subarray(f.trailer.payloadLength, f.trailer.payloadLength + expected);
  if (p.staleHashTail && payload.length % 4 !== 0) {
    return {
      cause: `cores ${p.releases} hash stale bytes when the signed payload's length (${payload.length}) is not a multiple of 4, so a correct signature fails`,
      fix: 'pad the payload to a multiple of 4 (esp8266-sign postbuild --compress pads the gzip header) or send an uncompressed image',
    };
  }
  const digest = createHash('sha256').update(payload).digest();
  const mode = FLASH_MODES.indexOf(f.spec.runningFlashMode);
  const patched = !isGzip(payload) && payload[2] !== mode;
  if (patched && deviceVerify(key, digest, sig, p.padding)) {
    return {
      cause: `the image was built for flash mode ${FLASH_MODES[payload[2]!] ?? payload[2]} but the device runs ${f.spec.runningFlashMode}: the Updater writes the device's mode into byte 2 and then hashes the flash, so the signature no longer matches`,
      fix: `build with Flash Mode ${f.spec.runningFlashMode.toUpperCase()} (the mode the device was flashed with)`,
    };
  }
  const other = p.padding === 'null-oid' ? 'digestinfo' : 'null-oid';
  if (deviceVerify(key, digest, sig, other)) {
    return p.padding === 'null-oid'
      ? { cause: 'a 2.5.x device verifies the legacy signature format, and this file carries the 2.6.0+ DigestInfo signature', fix: 'upload the .bin.legacy_sig file to 2.5.x devices' }
      : { cause: `the file carries a legacy (2.5.x) signature; cores ${p.releases} verify the DigestInfo format`, fix: 'upload the .bin.signed file' };
  }
  return { cause: 'the signature does not match: the file was signed with another key or changed after signing', fix: 'sign the unmodified .bin with the private key matching the public key in the running firmware' };
}
