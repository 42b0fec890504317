/** Small builders for device stories: images, signatures, gzip, and a device at a core version. */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzip } from 'pako';
import { Device } from '../src/emulator/device.js';
import { makeLayout, namedLayout, type Layout } from '../src/emulator/layouts.js';
import { profileFor } from '../src/emulator/profiles.js';
import { parseGzipHeader, TINF_DONE, TINF_OK, Uzlib } from '../src/emulator/uzlib.js';
import { makeImage, type FlashMode, type ImageSpec } from '../src/image/image.js';
import { appendSignature, sha256, signDigestInfo, signLegacy } from '../src/signing/sign.js';
import { VECTORS } from './helpers.js';

export const KEY2048: KeyObject = createPrivateKey(readFileSync(join(VECTORS, 'keys', 'rsa2048.pkcs1.pem')));
export const PUB2048 = readFileSync(join(VECTORS, 'keys', 'rsa2048.public.pem'));
export const KEY1024: KeyObject = createPrivateKey(readFileSync(join(VECTORS, 'keys', 'rsa1024.pkcs1.pem')));
export const PUB1024 = readFileSync(join(VECTORS, 'keys', 'rsa1024.public.pem'));

export function image(spec: ImageSpec = {}): Buffer {
  return makeImage({ size: 200_000, ...spec });
}

export function signWith(payload: Uint8Array, key = KEY2048, format: 'new' | 'legacy' = 'new'): Buffer {
  const d = sha256(payload);
  return appendSignature(payload, format === 'new' ? signDigestInfo(d, key) : signLegacy(d, key));
}

export function gz(data: Uint8Array): Buffer {
  return Buffer.from(gzip(data, { level: 9 }));
}

/** A gzip of `data` whose length is `mod` modulo 4: extra FEXTRA bytes lengthen the header. */
export function gzWithLengthMod4(data: Uint8Array, mod: number): Buffer {
  const g = gz(data);
  const extra = (((mod - (g.length + 2)) % 4) + 4) % 4;
  const header = Buffer.from([0x1f, 0x8b, 8, g[3]! | 0x04, ...g.subarray(4, 10), extra, 0, ...Buffer.alloc(extra, 0x41)]);
  return Buffer.concat([header, g.subarray(10)]);
}

export interface DeviceAt {
  layout?: Layout | string;
  runningSketchSize?: number;
  mode?: FlashMode;
  key?: Uint8Array | null;
}

export function deviceAt(core: string, o: DeviceAt = {}): Device {
  const layout = typeof o.layout === 'string' ? namedLayout(o.layout) : o.layout ?? namedLayout('4M2M');
  return new Device({
    profile: profileFor(core),
    layout,
    runningSketchSize: o.runningSketchSize ?? 200_000,
    runningFlashMode: o.mode ?? 'dio',
    embeddedKey: o.key === undefined ? PUB2048 : o.key,
  });
}

export { makeLayout };

/**
 * What eboot's uzlib (the emulator's model of it) inflates from a gzip file: the header parsed as
 * uzlib does, then uzlib_uncompress 4 KiB at a time up to ISIZE, as copy_raw calls it; null on an error.
 */
export function inflateLikeEboot(gz: Uint8Array): Uint8Array | null {
  let at = 0;
  const src = { byte: () => (at < gz.length ? gz[at++]! : (at++, 0xff)) };
  if (!parseGzipHeader(src)) return null;
  const size = new DataView(gz.buffer, gz.byteOffset, gz.length).getUint32(gz.length - 4, true);
  const out = new Uint8Array(size);
  const uzlib = new Uzlib(src);
  for (let from = 0; from < size;) {
    const { res, end } = uzlib.uncompress(out, from, Math.min(size, from + 4096));
    if (res !== TINF_OK && res !== TINF_DONE) return null;
    if (end === from) return null;
    from = end;
  }
  return out;
}
