/**
 * ESP8266 flash images as elf2bin lays them out (device-behaviour.md §6): eboot in the first 4 KiB,
 * the application image at 0x1000. Parsing answers what the device reads from a header;
 * synthesis builds realistic test firmware without any upstream binary.
 */
import { createHash } from 'node:crypto';
import { UsageError } from '../errors.js';
import { IMAGE_MAGIC } from './kind.js';

export const SECTOR = 0x1000;
export const APP_OFFSET = 0x1000;
export const IROM_ADDRESS = 0x40201010;

export const FLASH_MODES = ['qio', 'qout', 'dio', 'dout'] as const;
export type FlashMode = (typeof FLASH_MODES)[number];

/** Header byte 3, high nibble (elf2bin's encoding; §6.2). */
export const FLASH_SIZE_CODES: Record<string, number> = { '512K': 0, '256K': 1, '1M': 2, '2M': 3, '4M': 4, '8M': 8, '16M': 9 };
/** A board menu flash mode (`dio`, `QIO`); `what` names the option in the error. */
export function parseFlashMode(text: string, what: string): FlashMode {
  const m = text.trim().toLowerCase();
  if (!(FLASH_MODES as readonly string[]).includes(m)) throw new UsageError(`${what} "${text}" must be one of ${FLASH_MODES.join(', ')}.`);
  return m as FlashMode;
}

/** A board value such as `4M`, `512K` or `4MB` → its name in FLASH_SIZE_CODES. */
export function flashSizeName(text: string): string {
  const name = text.trim().toUpperCase().replace(/B$/, '');
  if (!(name in FLASH_SIZE_CODES)) throw new UsageError(`flash size "${text}" is not an ESP8266 flash size. Use a board value: ${Object.keys(FLASH_SIZE_CODES).join(', ')}.`);
  return name;
}

/** The name of a flash size in bytes (the inverse of magicFlashChipSize over FLASH_SIZE_CODES). */
export function flashSizeNameOf(bytes: number): string | undefined {
  return Object.keys(FLASH_SIZE_CODES).find((n) => magicFlashChipSize(FLASH_SIZE_CODES[n]!) === bytes);
}

/** Header byte 3, low nibble. */
export const FLASH_FREQ_CODES: Record<string, number> = { '40': 0, '26': 1, '20': 2, '80': 0xf };

/** `magicFlashChipSize`: header nibble → bytes; unknown nibbles map to 0 (and pass every check). */
export function magicFlashChipSize(nibble: number): number {
  const kib: Record<number, number> = { 0: 512, 1: 256, 2: 1024, 3: 2048, 4: 4096, 8: 8192, 9: 16384 };
  return (kib[nibble & 0xf] ?? 0) * 1024;
}

/** `magicFlashChipMode`: 0..3 are QIO..DOUT; anything else is FM_UNKNOWN (0xFF). */
export function magicFlashChipMode(byte: number): number {
  return byte <= 3 ? byte : 0xff;
}

export interface Segment {
  address: number;
  length: number;
  /** Offset of the segment's data in the file. */
  offset: number;
}

export interface ImageHeader {
  offset: number;
  segments: Segment[];
  flashMode: number;
  flashSizeNibble: number;
  flashFreqNibble: number;
  entry: number;
  /** Offset just past the checksum byte (the image length, a multiple of 16). */
  end: number;
  checksum: number;
  checksumOk: boolean;
}

/** Reads the image header and segments at `offset`; null when there is no complete image there. */
export function parseImageAt(buf: Uint8Array, offset: number, opts: { checksum?: boolean } = {}): ImageHeader | null {
  const withChecksum = opts.checksum ?? true;
  if (offset + 8 > buf.length || buf[offset] !== IMAGE_MAGIC) return null;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const count = buf[offset + 1]!;
  const segments: Segment[] = [];
  let pos = offset + 8;
  let sum = 0xef;
  for (let i = 0; i < count; i++) {
    if (pos + 8 > buf.length) return null;
    const address = view.getUint32(pos, true);
    const length = view.getUint32(pos + 4, true);
    if (pos + 8 + length > buf.length) return null;
    if (withChecksum) for (let j = pos + 8; j < pos + 8 + length; j++) sum ^= buf[j]!;
    segments.push({ address, length, offset: pos + 8 });
    pos += 8 + length;
  }
  const end = ((pos - offset + 16) & ~15) + offset;
  const checksum = end - 1 < buf.length ? buf[end - 1]! : -1;
  return {
    offset,
    segments,
    flashMode: buf[offset + 2]!,
    flashSizeNibble: buf[offset + 3]! >> 4,
    flashFreqNibble: buf[offset + 3]! & 0xf,
    entry: view.getUint32(offset + 4, true),
    end,
    checksum,
    checksumOk: withChecksum && checksum === sum,
  };
}

/**
 * `ESP.getSketchSize()` as the running firmware computes it from flash: the absolute end offset of
 * the application image at 0x1000 (segment headers walked, rounded to 16). Null without an app.
 */
export function sketchSize(flash: Uint8Array): number | null {
  const app = parseImageAt(flash, APP_OFFSET);
  return app ? app.end : null;
}

/** The CRC-32/MPEG-2 used by eboot's command block and elf2bin's CRC words (§5.1, §6.4). */
export function crc32Mpeg2(data: Uint8Array, seed = 0xffffffff): number {
  let crc = seed >>> 0;
  for (let i = 0; i < data.length; i++) crc = ((crc << 8) ^ MPEG2_TABLE[((crc >>> 24) ^ data[i]!) & 0xff]!) >>> 0;
  return crc;
}

/** CRC-32/MPEG-2 of each byte value (polynomial 0x04C11DB7, not reflected), one table lookup per byte. */
const MPEG2_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n << 24;
    for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** Deterministic bytes from a label: SHA-256 in counter mode. */
export function prng(label: string, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0, block = 0; i < length; block++) {
    const h = createHash('sha256').update(`${label}:${block}`).digest();
    i += h.copy(out, i);
  }
  return out;
}

/**
 * Bytes that compress like Xtensa code and data (roughly half their size with gzip -9): runs copied
 * from a pool of recurring instruction sequences, fresh bytes, strings and zero padding.
 * Deterministic per label.
 */
export function codeLike(label: string, length: number): Buffer {
  const seed = prng(label, length + 0x10000);
  const pool = seed.subarray(0, 0x10000);
  const out = Buffer.alloc(length + 64);
  let s = 0x10000;
  let i = 0;
  while (i < length) {
    const r = seed[s++]!;
    if (r < 96) {
      // a recurring sequence: 4–19 bytes from a skewed spot in the pool
      const at = (seed[s++]! * seed[s++]!) & 0xffff;
      const len = 4 + (seed[s++]! & 15);
      pool.copy(out, i, at, Math.min(at + len, pool.length));
      i += len;
    } else if (r < 232) {
      out[i++] = seed[s++]!;
    } else if (r < 240) {
      i += out.write('Update.begin() failed: ', i, 'latin1');
    } else {
      i += 4 + (seed[s++]! & 15);
    }
    if (s > seed.length - 8) s = 0x10000;
  }
  return out.subarray(0, length);
}

export interface ImageSpec {
  flashMode?: FlashMode;
  flashSize?: string;
  flashFreq?: string;
  /** Approximate total file size; the .irom0.text segment absorbs the difference. */
  size?: number;
  /** Bytes placed inside .irom0.text, as a compiled-in key array would be. */
  embed?: Uint8Array;
  /** Varies the code so two builds differ. */
  label?: string;
  /** elf2bin ≥ 3.0.0 writes file length and CRC into the first 8 bytes of .irom0.text. */
  crcWords?: boolean;
}

/** One image as elf2bin writes it (§6.2–6.3): header, segments, zero padding to 16 and the XOR checksum. */
export function imageBytes(mode: number, sizeFreq: number, entry: number, segments: Array<{ address: number; data: Uint8Array }>): Buffer {
  const parts: Buffer[] = [Buffer.from([IMAGE_MAGIC, segments.length, mode, sizeFreq, entry & 0xff, (entry >>> 8) & 0xff, (entry >>> 16) & 0xff, entry >>> 24])];
  let sum = 0xef;
  let len = 8;
  for (const seg of segments) {
    const h = Buffer.alloc(8);
    h.writeUInt32LE(seg.address, 0);
    h.writeUInt32LE(seg.data.length, 4);
    parts.push(h, Buffer.from(seg.data));
    for (const b of seg.data) sum ^= b;
    len += 8 + seg.data.length;
  }
  const padded = (len + 16) & ~15;
  const tail = Buffer.alloc(padded - len);
  tail[tail.length - 1] = sum;
  parts.push(tail);
  return Buffer.concat(parts);
}

function sizeFreqByte(spec: ImageSpec): number {
  return ((FLASH_SIZE_CODES[spec.flashSize ?? '4M'] ?? 4) << 4) | (FLASH_FREQ_CODES[spec.flashFreq ?? '40'] ?? 0);
}

/** The first 4 KiB of every synthesised file: an eboot-like loader image, padded. */
function bootSector(mode: number, sizeFreq: number, loader = codeLike('eboot-like loader', 0xd50), rodata = prng('eboot rodata', 0x28)): Buffer {
  const boot = imageBytes(mode, sizeFreq, 0x4010f474, [
    { address: 0x4010f000, data: loader },
    { address: 0x3fff20b8, data: rodata },
  ]);
  const sector0 = Buffer.alloc(SECTOR, 0xaa);
  boot.copy(sector0);
  return sector0;
}

/**
 * The firmware an emulated device is running: a loader image in sector 0 and an application whose
 * header is all the Updater and eboot read. Only headers are read from either (the ROM's load check,
 * the Updater's flash mode and size bytes), so their contents are a filler: synthesising code costs
 * a fresh process 20-30 ms of hashing. The loader therefore differs from every update's, and eboot
 * 3.x rewrites sector 0 as it does on a device whose bootloader the new image replaces.
 */
export function makeRunningImage(spec: Pick<ImageSpec, 'flashMode' | 'flashSize'>): Buffer {
  const mode = FLASH_MODES.indexOf(spec.flashMode ?? 'dio');
  const sizeFreq = sizeFreqByte(spec);
  return Buffer.concat([bootSector(mode, sizeFreq, Buffer.alloc(0xd50, 0x5a), Buffer.alloc(0x28, 0xa5)), imageBytes(mode, sizeFreq, 0x40100004, [{ address: IROM_ADDRESS, data: Buffer.alloc(64) }])]);
}

/** A complete firmware file: an eboot-like first sector and a five-segment application image. */
export function makeImage(spec: ImageSpec = {}): Buffer {
  const mode = FLASH_MODES.indexOf(spec.flashMode ?? 'dio');
  const sizeFreq = sizeFreqByte(spec);
  const label = spec.label ?? 'esp8266-sign sample';
  const sector0 = bootSector(mode, sizeFreq);

  const small = [
    { address: 0x40100000, data: codeLike(`${label} iram`, 0x6000) },
    { address: 0x40107000, data: codeLike(`${label} iram1`, 0x200) },
    { address: 0x3ffe8000, data: codeLike(`${label} data`, 0x500) },
    { address: 0x3ffe8500, data: codeLike(`${label} rodata`, 0x1200) },
  ];
  const fixed = SECTOR + 8 + 5 * 8 + small.reduce((n, s) => n + s.data.length, 0) + 16;
  const iromLen = Math.max(64 + (spec.embed?.length ?? 0), ((spec.size ?? 300_000) - fixed) & ~3);
  const irom = codeLike(`${label} irom`, iromLen);
  if (spec.embed) Buffer.from(spec.embed).copy(irom, Math.min(4096, iromLen - spec.embed.length) & ~3);
  const app = imageBytes(mode, sizeFreq, 0x40100004, [{ address: IROM_ADDRESS, data: irom }, ...small]);
  const file = Buffer.concat([sector0, app]);
  if (spec.crcWords ?? true) {
    file.fill(0, 0x1010, 0x1018);
    const crc = crc32Mpeg2(file);
    file.writeUInt32LE(file.length, 0x1010);
    file.writeUInt32LE(crc, 0x1014);
  }
  return file;
}
