// Symbol counts: what a block's size depends on. A run of items' counts ("stats") are u32[286]
// literal/length symbols, then u32[30] distance symbols, the end-of-block symbol counted once.

import { DIST_SYMBOLS, distExtra, distSymbol, END_OF_BLOCK, lengthExtra, lengthSymbol, LITLEN_SYMBOLS } from './symbols';

export const STATS_SYMBOLS: i32 = LITLEN_SYMBOLS + DIST_SYMBOLS;
export const STATS_BYTES: usize = <usize>STATS_SYMBOLS << 2;

/** Counts one item (a literal byte, or length << 16 | distance) into `stats`; returns the input bytes it encodes. */
// @ts-ignore: decorator
@inline export function countItem(stats: usize, item: u32): i32 {
  if (item < 256) {
    const at = stats + (<usize>item << 2);
    store<u32>(at, load<u32>(at) + 1);
    return 1;
  }
  const l = <i32>(item >> 16);
  const ls = stats + (<usize>lengthSymbol(l) << 2);
  store<u32>(ls, load<u32>(ls) + 1);
  const ds = stats + (<usize>(LITLEN_SYMBOLS + distSymbol(<i32>(item & 0xffff))) << 2);
  store<u32>(ds, load<u32>(ds) + 1);
  return l;
}

/** Adds the symbol counts of `count` items to `stats`; returns the number of input bytes they encode. */
export function countSymbols(items: usize, count: i32, stats: usize): i32 {
  let bytes: i32 = 0;
  for (let i: i32 = 0; i < count; i++) bytes += countItem(stats, load<u32>(items + (<usize>i << 2)));
  return bytes;
}

/** Counts set to none but the end-of-block symbol. */
export function clearStats(stats: usize): void {
  memory.fill(stats, 0, STATS_BYTES);
  store<u32>(stats + (<usize>END_OF_BLOCK << 2), 1);
}

/** `to` = the counts of two neighbouring runs `a` and `b` as one (one end-of-block symbol); `to` may be `a`. */
export function mergeStats(to: usize, a: usize, b: usize): void {
  for (let s = 0; s < STATS_SYMBOLS; s++) store<u32>(to + (<usize>s << 2), load<u32>(a + (<usize>s << 2)) + load<u32>(b + (<usize>s << 2)));
  store<u32>(to + (<usize>END_OF_BLOCK << 2), 1);
}

/** The entropy estimate's unit: 1/256 bit. */
const BIT: f64 = 256;
/** A dynamic header's cost: its fixed fields and code-length code, and about 5 bits per code length sent. */
const HEADER_BITS: f64 = 14 + 3 * 19;
const BITS_PER_USED_SYMBOL: f64 = 5;

/**
 * A dynamic block's size in 1/256 bit, from the entropy of its symbols: much cheaper than building
 * its codes, and close to them. f64 with exactly rounded operations only, in a fixed order, so every
 * CPU estimates the same.
 */
export function estimateBits(stats: usize): f64 {
  return part(stats, LITLEN_SYMBOLS, false) + part(stats + (<usize>LITLEN_SYMBOLS << 2), DIST_SYMBOLS, true) + HEADER_BITS * BIT;
}

function part(freqs: usize, n: i32, distances: bool): f64 {
  let total: u32 = 0;
  for (let s = 0; s < n; s++) total += load<u32>(freqs + (<usize>s << 2));
  if (total == 0) return 0;
  const whole = roughLog2(total);
  let bits: f64 = 0;
  for (let s = 0; s < n; s++) {
    const f = load<u32>(freqs + (<usize>s << 2));
    const extra = distances ? distExtra(s) : lengthExtra(s);
    if (f) bits += <f64>f * (whole - roughLog2(f) + <f64>extra * BIT) + BITS_PER_USED_SYMBOL * BIT;
  }
  return bits;
}

/** log2(x) · 256 within 0.09 bit: the exponent plus the mantissa taken as linear. */
function roughLog2(x: u32): f64 {
  const e = 31 - <i32>clz(x);
  return (<f64>e + <f64>x / <f64>(<u64>1 << <u64>e) - 1) * BIT;
}
