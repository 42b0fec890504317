// Parses: a parse is a list of items, each a literal byte (value < 256) or a match,
// `length << 16 | distance`. The greedy parse is what the first block split goes by; every block is
// then parsed again along the cheapest path under the prices of its previous parse. Prices are in
// 1/16 bit, so that a whole block's price fits 32-bit integers; they come from integer results of
// exactly rounded f64 operations only, so every CPU prices a parse the same.

import { countItem } from './stats';
import { DIST_SYMBOLS, distExtra, distSymbol, END_OF_BLOCK, lengthExtra, lengthSymbol, LITLEN_SYMBOLS, MAX_MATCH, MIN_MATCH } from './symbols';

/** log2Scaled's unit. */
const BIT: i32 = 256;
/** The parser's unit. */
const PRICE_BIT: i32 = 16;

/** Matches of positions [p, to) (matches.ts `counts`). */
function matchesIn(counts: usize, p: i32, to: i32): i32 {
  let k: i32 = 0;
  for (; p < to; p++) k += <i32>load<u16>(counts + (<usize>p << 1));
  return k;
}

/**
 * The greedy parse of data[p, end): the longest recorded match wherever there is one, else the
 * literal. Writes at most `most` items to `items` (u32), their count to `state` (i32), and returns
 * the position after the last one; the parse goes on from there. `cursor` (i32) holds the index in
 * `matches` of p's first match, and then of the returned position's.
 */
export function greedyParse(data: usize, p: i32, end: i32, most: i32, counts: usize, matches: usize, cursor: usize, items: usize, state: usize): i32 {
  let count: i32 = 0;
  let k = load<i32>(cursor);
  for (; p < end && count < most; count++) {
    const here = <i32>load<u16>(counts + (<usize>p << 1));
    let item: u32 = load<u8>(data + <usize>p);
    let step: i32 = 1;
    if (here) {
      const m = load<u32>(matches + (<usize>(k + here - 1) << 2));
      const l: i32 = min(<i32>(m >> 16), end - p);
      if (l >= MIN_MATCH) {
        item = (<u32>l << 16) | (m & 0xffff);
        step = l;
      }
    }
    store<u32>(items + (<usize>count << 2), item);
    k += matchesIn(counts, p, p + step);
    p += step;
  }
  store<i32>(cursor, k);
  store<i32>(state, count);
  return p;
}

/**
 * Relaxes the edges out of positions [i0, i1) of the parse of data[from, from + n), under the prices
 * (1/16 bit) at `literal` (i32[256]), `length` (i32[259], by length) and `distance` (i32[30], by
 * symbol): `cost` (i32[n + 1]) holds the cheapest known price of reaching each position, `choice`
 * (u32[n + 1]) the item that reaches it so. Called for consecutive ranges from 0 (engine.ts);
 * `cursor` (i32) holds the index in `matches` of the first match of position i0, then of i1's. Ties
 * keep the literal, then the shorter distance.
 */
export function parseRange(data: usize, from: i32, n: i32, i0: i32, i1: i32, counts: usize, matches: usize, cursor: usize, literal: usize, length: usize, distance: usize, cost: usize, choice: usize): void {
  // the positions these edges reach for the first time start unreached (position 0 free)
  const reached = i0 == 0 ? 0 : min(n, i0 - 1 + MAX_MATCH) + 1;
  const reach = min(n, i1 - 1 + MAX_MATCH);
  for (let j = reached; j <= reach; j++) store<i32>(cost + (<usize>j << 2), j == 0 ? 0 : i32.MAX_VALUE);
  let k = load<i32>(cursor);
  for (let i = i0; i < i1; i++) {
    const base = load<i32>(cost + (<usize>i << 2));
    const p: i32 = from + i;
    const byte = load<u8>(data + <usize>p);
    const lit = base + load<i32>(literal + (<usize>byte << 2));
    const next = cost + (<usize>(i + 1) << 2);
    if (lit < load<i32>(next)) {
      store<i32>(next, lit);
      store<u32>(choice + (<usize>(i + 1) << 2), byte);
    }
    const room = n - i;
    let l: i32 = MIN_MATCH;
    const end = k + <i32>load<u16>(counts + (<usize>p << 1));
    for (let j = k; j < end && l <= room; j++) {
      const m = load<u32>(matches + (<usize>j << 2));
      const longest: i32 = min(<i32>(m >> 16), room);
      const d: i32 = <i32>(m & 0xffff);
      const withDistance = base + load<i32>(distance + (<usize>distSymbol(d) << 2));
      for (; l <= longest; l++) {
        const c = withDistance + load<i32>(length + (<usize>l << 2));
        const at = cost + (<usize>(i + l) << 2);
        if (c < load<i32>(at)) {
          store<i32>(at, c);
          store<u32>(choice + (<usize>(i + l) << 2), (<u32>l << 16) | <u32>d);
        }
      }
    }
    k = end;
  }
  store<i32>(cursor, k);
}

/**
 * The parse's items, from the choices that reach the end of `n` bytes: written backwards into
 * `items` (u32[n + 1]) so that they end at index n, in order, and counted into `stats` (stats.ts);
 * returns the index of the first.
 */
export function parseEnd(n: i32, choice: usize, items: usize, stats: usize): i32 {
  let k = n;
  for (let j = n; j > 0;) {
    const c = load<u32>(choice + (<usize>j << 2));
    store<u32>(items + (<usize>--k << 2), c);
    j -= countItem(stats, c);
  }
  return k;
}

/** log2(x) · 256, for x ≥ 1, rounded down; by repeated squaring, exact on every CPU. */
function log2Scaled(x: u32): i32 {
  const e = 31 - <i32>clz(x);
  let m = <f64>x / <f64>(<u64>1 << <u64>e);
  let frac: i32 = 0;
  for (let b = 0; b < 8; b++) {
    m *= m;
    frac <<= 1;
    if (m >= 2) {
      m /= 2;
      frac |= 1;
    }
  }
  return e * BIT + frac;
}

/** log2Scaled of twice the sum of n counts, plus one: the whole of which each symbol's price is a share. */
function wholeOf(freqs: usize, n: i32): i32 {
  let total: u32 = 0;
  for (let s = 0; s < n; s++) total += load<u32>(freqs + (<usize>s << 2));
  return log2Scaled(2 * total + 1);
}

/**
 * A symbol's price in 1/16 bit: -log2 of its share, counts doubled so that an unseen symbol weighs
 * one half, at least a quarter bit; rounded half up (v / 16 for v in 1/256 bit).
 */
function price(f: u32, whole: i32): i32 {
  const v = max(BIT / 4, f > 0 ? whole - log2Scaled(2 * f) : whole);
  return (v * PRICE_BIT + BIT / 2) / BIT;
}

/**
 * The price lists parseRange reads, from a parse's symbol counts `stats` (u32[286] literal/length
 * symbols, then u32[30] distance symbols): `literal` (i32[256]), `length` (i32[259] by match
 * length) and `distance` (i32[30] by symbol), each with its extra bits.
 */
export function setPrices(stats: usize, literal: usize, length: usize, distance: usize): void {
  const dist = stats + (<usize>LITLEN_SYMBOLS << 2);
  const wholeLitlen = wholeOf(stats, LITLEN_SYMBOLS);
  const wholeDist = wholeOf(dist, DIST_SYMBOLS);
  for (let s = 0; s < END_OF_BLOCK; s++) store<i32>(literal + (<usize>s << 2), price(load<u32>(stats + (<usize>s << 2)), wholeLitlen));
  for (let l = MIN_MATCH; l <= MAX_MATCH; l++) {
    const s = lengthSymbol(l);
    store<i32>(length + (<usize>l << 2), price(load<u32>(stats + (<usize>s << 2)), wholeLitlen) + lengthExtra(s) * PRICE_BIT);
  }
  for (let d = 0; d < DIST_SYMBOLS; d++) store<i32>(distance + (<usize>d << 2), price(load<u32>(dist + (<usize>d << 2)), wholeDist) + distExtra(d) * PRICE_BIT);
}
