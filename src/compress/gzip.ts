/**
 * gzip as eboot reads it (device-behaviour.md §5.4, trap 4): deterministic output from pako
 * (fixed MTIME and OS byte, so the same firmware gives the same bytes on every OS and Node), and
 * an optional FCOMMENT that pads the file to a multiple of 4 bytes, which cores 3.1.0–3.1.2 need
 * to verify a signed gzip. eboot's uzlib skips FCOMMENT and never checks the CRC.
 */
import { Deflate, deflateRaw, Inflate, Z_SYNC_FLUSH } from 'pako';

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

/** The gzip trailer's CRC-32 (reflected, as zlib). */
export function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export interface GzipOptions {
  level?: number;
  /** Lengthen the header so the whole file is a multiple of 4 bytes. */
  alignTo4?: boolean;
}

/** DEFLATE's window: a part may refer back this far into the part before it. */
export const WINDOW = 32 * 1024;
/** From this size on the input is deflated as two parts, which can run on two threads. */
export const SPLIT_FROM = 256 * 1024;

/**
 * Where the input is cut into separately deflated parts: one part below SPLIT_FROM, otherwise two,
 * cut at a 4 KiB boundary 9/16 of the way in: the first part is deflated by the calling thread,
 * which starts on it sooner than a new worker can start on the second (measured: a worker needs
 * 20–40 ms before it deflates anything). Depends on the length only, never on the machine, so the
 * output is the same bytes wherever and however it is computed.
 */
export function deflateRanges(length: number): Array<[number, number]> {
  if (length < SPLIT_FROM) return [[0, length]];
  const cut = Math.floor((length * 9) / 16 / 4096) * 4096;
  return [[0, cut], [cut, length]];
}

/**
 * One part of the DEFLATE body, as pigz does it: the previous 32 KiB of input are its dictionary;
 * a part that does not reach the end closes with a sync flush (an empty stored block, byte-aligned,
 * not final), so the parts concatenate into one valid stream. Costs ~50 bytes per cut.
 */
export function deflatePart(data: Uint8Array, start: number, end: number, level = 9): Uint8Array {
  // memLevel 9 (zlib's maximum hash table) comes out a little smaller than GNU gzip -9 (0.9999x)
  const options = { level: level as 9, memLevel: 9, raw: true, ...(start > 0 ? { dictionary: data.subarray(Math.max(0, start - WINDOW), start) } : {}) };
  const part = data.subarray(start, end);
  if (end === data.length) return deflateRaw(part, options);
  const deflater = new Deflate(options);
  const chunks: Uint8Array[] = [];
  deflater.onData = (chunk: Uint8Array) => chunks.push(chunk);
  deflater.push(part, Z_SYNC_FLUSH);
  if (deflater.err) throw new Error(`deflate failed: ${deflater.msg}`);
  return Buffer.concat(chunks);
}

/** The gzip file around DEFLATE parts: fixed MTIME/OS, optional FCOMMENT padding, CRC-32 and ISIZE. */
export function wrapGzip(data: Uint8Array, parts: Uint8Array[], opts: GzipOptions = {}): Buffer {
  const bodyLength = parts.reduce((n, p) => n + p.length, 0);
  const bare = 10 + bodyLength + 8;
  const pad = opts.alignTo4 ? (4 - (bare % 4)) % 4 : 0;
  const header = Buffer.alloc(10 + pad);
  header.set([0x1f, 0x8b, 8, pad ? 0x10 : 0, 0, 0, 0, 0, 2, OS_UNKNOWN]);
  // FCOMMENT: pad-1 letters and the terminating NUL
  if (pad) header.fill(0x20, 10, 10 + pad - 1);
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc32(data), 0);
  trailer.writeUInt32LE(data.length >>> 0, 4);
  return Buffer.concat([header, ...parts, trailer]);
}

/** The whole gzip on this thread (startGzip in background.ts gives the same bytes using a second thread). */
export function gzipForDevice(data: Uint8Array, opts: GzipOptions = {}): Buffer {
  return wrapGzip(data, deflateRanges(data.length).map(([start, end]) => deflatePart(data, start, end, opts.level)), opts);
}

/** uzlib's header parse (eboot): the offset of the DEFLATE body, or null (copy_raw returns 5). */
export function gzipBodyOffset(read: (at: number) => number): number | null {
  if (read(0) !== 0x1f || read(1) !== 0x8b || read(2) !== 8) return null;
  const flg = read(3);
  if (flg & 0xe0) return null;
  let pos = 10;
  if (flg & 0x04) pos += 2 + (read(pos) | (read(pos + 1) << 8));
  if (flg & 0x08) while (read(pos++) !== 0);
  if (flg & 0x10) while (read(pos++) !== 0);
  if (flg & 0x02) pos += 2;
  return pos;
}

/** What eboot would inflate, ignoring CRC and ISIZE as eboot does; null when it cannot. */
export function gunzipLikeEboot(file: Uint8Array): Uint8Array | null {
  const start = gzipBodyOffset((at) => file[at] ?? 0);
  if (start === null) return null;
  const inf = new Inflate({ raw: true });
  inf.push(file.subarray(start), true);
  return inf.err ? null : (inf.result as Uint8Array);
}
