/** What a file is, for `inspect`: image headers, gzip header, signature trailer. */
import { FLASH_MODES, magicFlashChipSize, parseImageAt, APP_OFFSET } from './image.js';
import { isGzip } from './kind.js';

const FREQS: Record<number, string> = { 0: '40MHz', 1: '26MHz', 2: '20MHz', 0xf: '80MHz' };

export function describeHeader(buf: Uint8Array, offset: number) {
  const h = parseImageAt(buf, offset);
  if (!h) return null;
  return {
    offset,
    segments: h.segments.map((s) => ({ address: `0x${s.address.toString(16)}`, length: s.length })),
    flashMode: FLASH_MODES[h.flashMode] ?? `unknown (${h.flashMode})`,
    flashSize: magicFlashChipSize(h.flashSizeNibble) ? `${magicFlashChipSize(h.flashSizeNibble) / 1024}K` : `unknown (${h.flashSizeNibble})`,
    flashFreq: FREQS[h.flashFreqNibble] ?? `unknown (${h.flashFreqNibble})`,
    entry: `0x${h.entry.toString(16)}`,
    end: h.end,
  };
}

export function describeGzip(buf: Uint8Array) {
  if (!isGzip(buf) || buf.length < 18) return null;
  const flg = buf[3]!;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const flags = [flg & 1 && 'FTEXT', flg & 2 && 'FHCRC', flg & 4 && 'FEXTRA', flg & 8 && 'FNAME', flg & 16 && 'FCOMMENT'].filter(Boolean);
  return { method: buf[2], flags, reservedFlags: (flg & 0xe0) !== 0, mtime: view.getUint32(4, true), os: buf[9], isize: view.getUint32(buf.length - 4, true), length: buf.length };
}

/** Image facts of a (possibly signed, possibly gzip) file: eboot sector and application image. */
export function describeImage(buf: Uint8Array) {
  return { boot: describeHeader(buf, 0), app: describeHeader(buf, APP_OFFSET) };
}
