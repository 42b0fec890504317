/**
 * Block splitting by symbol statistics: the parse is cut into short segments, then the two
 * neighbours whose merge saves the most bits are merged, again and again, while a merge saves
 * anything. A block ends where the data's statistics change enough to pay for a new header.
 * Merges are judged by an entropy estimate (much cheaper than building the codes, and close to
 * them); the blocks finally written are priced exactly (planBlock).
 */
import { BIT } from './cost.js';
import { mergeStats, type SymbolStats } from './stats.js';
import { DIST_EXTRA, DIST_SYMBOLS, LENGTH_EXTRA, LITLEN_SYMBOLS } from './symbols.js';

export interface BlockRange {
  /** Items of the parse. */
  itemFrom: number;
  itemTo: number;
  /** Input bytes they encode. */
  byteFrom: number;
  byteTo: number;
}

interface Candidate extends BlockRange {
  stats: SymbolStats;
  bits: number;
}

/** A dynamic header's cost: its fixed fields and code-length code, and about 5 bits per code length sent. */
const HEADER_BITS = 14 + 3 * 19;
const BITS_PER_USED_SYMBOL = 5;

export function splitBlocks(items: Uint32Array, segmentItems: number, count: (items: Uint32Array) => SymbolStats): BlockRange[] {
  const blocks: Candidate[] = [];
  let byte = 0;
  for (let from = 0; from < items.length || blocks.length === 0; from += segmentItems) {
    const to = Math.min(items.length, from + segmentItems);
    let bytes = 0;
    for (let i = from; i < to; i++) bytes += items[i]! < 256 ? 1 : items[i]! >>> 16;
    const stats = count(items.subarray(from, to));
    blocks.push({ itemFrom: from, itemTo: to, byteFrom: byte, byteTo: byte + bytes, stats, bits: estimateBits(stats) });
    byte += bytes;
  }
  const merged: Array<Candidate | null> = blocks.map((_, i) => (i + 1 < blocks.length ? merge(blocks[i]!, blocks[i + 1]!) : null));
  for (;;) {
    let best = -1;
    let saving = 0;
    for (let i = 0; i + 1 < blocks.length; i++) {
      const s = blocks[i]!.bits + blocks[i + 1]!.bits - merged[i]!.bits;
      if (s > saving) [best, saving] = [i, s];
    }
    if (best < 0) break;
    blocks.splice(best, 2, merged[best]!);
    merged.splice(best, 2, best + 1 < blocks.length ? merge(blocks[best]!, blocks[best + 1]!) : null);
    if (best > 0) merged[best - 1] = merge(blocks[best - 1]!, blocks[best]!);
  }
  return blocks.map(({ itemFrom, itemTo, byteFrom, byteTo }) => ({ itemFrom, itemTo, byteFrom, byteTo }));
}

function merge(a: Candidate, b: Candidate): Candidate {
  const stats = mergeStats(a.stats, b.stats);
  return { itemFrom: a.itemFrom, itemTo: b.itemTo, byteFrom: a.byteFrom, byteTo: b.byteTo, stats, bits: estimateBits(stats) };
}

/** A dynamic block's size in 1/256 bit, from the entropy of its symbols. */
function estimateBits(stats: SymbolStats): number {
  return part(stats.litlen, LITLEN_SYMBOLS, (s) => (s > 256 ? LENGTH_EXTRA[s - 257]! : 0)) + part(stats.dist, DIST_SYMBOLS, (s) => DIST_EXTRA[s]!) + HEADER_BITS * BIT;
}

function part(freqs: Uint32Array, n: number, extra: (s: number) => number): number {
  let total = 0;
  for (let s = 0; s < n; s++) total += freqs[s]!;
  if (total === 0) return 0;
  const whole = roughLog2(total);
  let bits = 0;
  for (let s = 0; s < n; s++) {
    const f = freqs[s]!;
    if (f) bits += f * (whole - roughLog2(f) + extra(s) * BIT) + BITS_PER_USED_SYMBOL * BIT;
  }
  return bits;
}

/** log2(x) · 256 within 0.09 bit: the exponent plus the mantissa taken as linear (exact IEEE operations only). */
function roughLog2(x: number): number {
  const e = 31 - Math.clz32(x);
  return (e + x / 2 ** e - 1) * BIT;
}
