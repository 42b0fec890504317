/**
 * gzip as eboot reads it (device-behaviour.md §5.4, trap 4): deterministic output from the
 * project's own DEFLATE encoder (deflate/; fixed MTIME and OS byte, so the same firmware gives the
 * same bytes on every OS, CPU and Node), and an optional FCOMMENT that pads the file to a multiple
 * of 4 bytes, which cores 3.1.0–3.1.2 need to verify a signed gzip. eboot's uzlib skips FCOMMENT
 * and never checks the CRC.
 */
import { zlib } from '../lazy.js';
import { deflateRaw, type DeflateLevel } from './deflate/deflate.js';

const OS_UNKNOWN = 255;

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** The gzip trailer's CRC-32 (reflected, as zlib). zlib's own (Node 20.15+, 22.2+) where there is
 * one: a fresh process takes 10-17 ms over 1 MiB in the table loop below. */
export function crc32(data: Uint8Array): number {
  const zlibCrc32 = (zlib() as { crc32?: (data: Uint8Array) => number }).crc32;
  return zlibCrc32 ? zlibCrc32(data) >>> 0 : tableCrc32(data);
}

/** The same, by table: for the Node 20 releases before zlib.crc32. */
export function tableCrc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export type CompressionLevel = DeflateLevel;

export interface GzipOptions {
  /** `default` (what --compress does) or `max` (smaller, slower; deflate/deflate.ts). */
  level?: CompressionLevel;
  /** Lengthen the header so the whole file is a multiple of 4 bytes. */
  alignTo4?: boolean;
}

/** The gzip file eboot reads: fixed MTIME and OS, optional FCOMMENT padding, our DEFLATE, CRC-32 and ISIZE. */
export function gzipForDevice(data: Uint8Array, opts: GzipOptions = {}): Buffer {
  const body = deflateRaw(data, opts.level ?? 'default');
  const bare = 10 + body.length + 8;
  const pad = opts.alignTo4 ? (4 - (bare % 4)) % 4 : 0;
  const file = Buffer.alloc(bare + pad);
  file.set([0x1f, 0x8b, 8, pad ? 0x10 : 0, 0, 0, 0, 0, 2, OS_UNKNOWN]);
  // FCOMMENT: pad-1 spaces and the terminating NUL
  if (pad) file.fill(0x20, 10, 10 + pad - 1);
  file.set(body, 10 + pad);
  file.writeUInt32LE(crc32(data), bare + pad - 8);
  file.writeUInt32LE(data.length >>> 0, bare + pad - 4);
  return file;
}
