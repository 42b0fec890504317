// AssemblyScript, compiled to WebAssembly by scripts/build.js (never by tsc): the encoder's two hot
// loops, the match finder and the cheapest-path parser, and the symbol counts of a parse. The rest
// of the encoder is TypeScript (../). Every buffer lives in this module's memory at an address the
// caller chooses (../engine.ts); nothing here allocates. Integer arithmetic only, so the result is
// the same on every CPU.

const MIN_MATCH: i32 = 3;
const MAX_MATCH: i32 = 258;
const MAX_DIST: i32 = 32768;
const WINDOW_MASK: i32 = MAX_DIST - 1;
const HASH_BITS: u32 = 16;
const HASH3_BITS: u32 = 15;

/** How far data[c..] and data[p..] agree, up to maxLen, four bytes at a time while they can. */
function matchLength(c: usize, p: usize, maxLen: i32): i32 {
  let l: i32 = 0;
  while (l + 4 <= maxLen && load<u32>(c + <usize>l) == load<u32>(p + <usize>l)) l += 4;
  while (l < maxLen && load<u8>(c + <usize>l) == load<u8>(p + <usize>l)) l++;
  return l;
}

/**
 * The match finder, for positions [from, to) of data[0, n); called for consecutive ranges starting
 * at 0 (so that V8 can move the loop to optimised code between calls: WebAssembly has no on-stack
 * replacement). The nearest earlier occurrence of the 3-byte prefix (`head3`) gives the shortest
 * matches; hash chains over 4-byte prefixes (`head`, `prev`), walked nearest first for at most
 * `depth` links, give the longer ones, as in libdeflate's hash-chain finder. For each position,
 * every match longer than all nearer ones is written as `length << 16 | distance` to `matches`
 * (u32), and `start` (i32[n + 1]) indexes them. A match of `nice` bytes ends the search, and the
 * positions it covers are only indexed. Past `capacity` entries no more matches are recorded.
 * `state` (i32[2]) carries the entry count and the positions still to skip from call to call.
 */
export function findMatches(data: usize, n: i32, from: i32, to: i32, depth: i32, nice: i32, start: usize, matches: usize, capacity: i32, head3: usize, head: usize, prev: usize, state: usize): void {
  if (from == 0) {
    memory.fill(head3, 0xff, (<usize>1 << HASH3_BITS) << 2);
    memory.fill(head, 0xff, (<usize>1 << HASH_BITS) << 2);
    store<i32>(state, 0);
    store<i32>(state, 0, 4);
  }
  let count = load<i32>(state);
  let skip = load<i32>(state, 4);
  for (let pos = from; pos < to; pos++) {
    store<i32>(start + (<usize>pos << 2), count);
    if (pos + MIN_MATCH > n) continue;
    const p = data + <usize>pos;
    const key3: u32 = (<u32>load<u8>(p) << 16) | (<u32>load<u8>(p, 1) << 8) | <u32>load<u8>(p, 2);
    const slot3 = head3 + (<usize>((key3 * 0x9e3779b1) >> (32 - HASH3_BITS)) << 2);
    const has4 = pos + 4 <= n;
    const slot = has4 ? head + (<usize>((load<u32>(p) * 0x9e3779b1) >> (32 - HASH_BITS)) << 2) : 0;
    if (skip > 0) {
      skip--;
    } else {
      const maxLen: i32 = min(MAX_MATCH, n - pos);
      let best: i32 = MIN_MATCH - 1;
      const near = load<i32>(slot3);
      if (near >= 0 && pos - near <= MAX_DIST) {
        const l = matchLength(data + <usize>near, p, maxLen);
        if (l >= MIN_MATCH) {
          if (count < capacity) {
            store<u32>(matches + (<usize>count << 2), (<u32>l << 16) | <u32>(pos - near));
            count++;
          }
          best = l;
        }
      }
      if (has4 && best < nice && best < maxLen) {
        let cand = load<i32>(slot);
        for (let left = depth; cand >= 0 && pos - cand <= MAX_DIST && left > 0; left--) {
          const c = data + <usize>cand;
          if (load<u8>(c + <usize>best) == load<u8>(p + <usize>best)) {
            const l = matchLength(c, p, maxLen);
            if (l > best) {
              if (count < capacity) {
                store<u32>(matches + (<usize>count << 2), (<u32>l << 16) | <u32>(pos - cand));
                count++;
              }
              best = l;
              if (l >= nice || l == maxLen) break;
            }
          }
          cand = load<i32>(prev + (<usize>(cand & WINDOW_MASK) << 2));
        }
      }
      if (best >= nice) skip = best - 1;
    }
    store<i32>(slot3, pos);
    if (has4) {
      store<i32>(prev + (<usize>(pos & WINDOW_MASK) << 2), load<i32>(slot));
      store<i32>(slot, pos);
    }
  }
  store<i32>(start + (<usize>to << 2), count);
  store<i32>(state, count);
  store<i32>(state, skip, 4);
}

/** Distance symbol of distance d (RFC 1951 §3.2.5). */
function distSymbol(d: i32): i32 {
  const v = d - 1;
  if (v < 2) return v;
  const l = 31 - clz(v);
  return 2 * l + ((v >> (l - 1)) & 1);
}

/**
 * The greedy parse of data[from, to): the longest recorded match wherever there is one, else the
 * literal. Writes the items to `items` (u32) and returns their number.
 */
export function greedyParse(data: usize, from: i32, to: i32, start: usize, matches: usize, items: usize): i32 {
  let count: i32 = 0;
  for (let p = from; p < to;) {
    const first = load<i32>(start + (<usize>p << 2));
    const end = load<i32>(start + (<usize>(p + 1) << 2));
    let item: u32 = load<u8>(data + <usize>p);
    let step: i32 = 1;
    if (end > first) {
      const m = load<u32>(matches + (<usize>(end - 1) << 2));
      const l: i32 = min(<i32>(m >> 16), to - p);
      if (l >= MIN_MATCH) {
        item = (<u32>l << 16) | (m & 0xffff);
        step = l;
      }
    }
    store<u32>(items + (<usize>count << 2), item);
    count++;
    p += step;
  }
  return count;
}

/** Starts a cheapest-path parse: positions [from, to) unreached, position 0 free (called in steps). */
export function parseBegin(cost: usize, from: i32, to: i32): void {
  for (let i = from; i < to; i++) store<i32>(cost + (<usize>i << 2), i == 0 ? 0 : i32.MAX_VALUE);
}

/**
 * Relaxes the edges out of positions [i0, i1) of the parse of data[from, from + n), under the prices
 * (1/16 bit) at `literal` (i32[256]), `length` (i32[259], by length) and `distance` (i32[30], by
 * symbol): `cost` (i32[n + 1]) holds the cheapest known price of reaching each position, `choice`
 * (u32[n + 1]) the item that reaches it so. Called for consecutive ranges (see findMatches). Ties
 * keep the literal, then the shorter distance.
 */
export function parseRange(data: usize, from: i32, n: i32, i0: i32, i1: i32, start: usize, matches: usize, literal: usize, length: usize, distance: usize, cost: usize, choice: usize): void {
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
    const end = load<i32>(start + (<usize>(p + 1) << 2));
    for (let k = load<i32>(start + (<usize>p << 2)); k < end && l <= room; k++) {
      const m = load<u32>(matches + (<usize>k << 2));
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
  }
}

/**
 * The parse's items, from the choices that reach the end of `n` bytes: written backwards into
 * `items` (u32[n + 1]) so that they end at index n, in order; returns the index of the first.
 */
export function parseEnd(n: i32, choice: usize, items: usize): i32 {
  let k = n;
  for (let j = n; j > 0;) {
    const c = load<u32>(choice + (<usize>j << 2));
    store<u32>(items + (<usize>--k << 2), c);
    j -= c < 256 ? 1 : <i32>(c >> 16);
  }
  return k;
}

/** Literal/length symbol of match length l. */
function lengthSymbol(l: i32): i32 {
  if (l == MAX_MATCH) return 285;
  if (l < 11) return 257 + l - 3;
  const v = l - 3;
  const e = 29 - clz(v);
  return 257 + 4 * e + 4 + ((v >> e) & 3);
}

/** Adds the symbol counts of `count` items to `litlen` (u32[286]) and `dist` (u32[30]). */
export function countSymbols(items: usize, count: i32, litlen: usize, dist: usize): void {
  for (let i: i32 = 0; i < count; i++) {
    const item = load<u32>(items + (<usize>i << 2));
    if (item < 256) {
      const at = litlen + (<usize>item << 2);
      store<u32>(at, load<u32>(at) + 1);
    } else {
      const ls = litlen + (<usize>lengthSymbol(<i32>(item >> 16)) << 2);
      store<u32>(ls, load<u32>(ls) + 1);
      const ds = dist + (<usize>distSymbol(<i32>(item & 0xffff)) << 2);
      store<u32>(ds, load<u32>(ds) + 1);
    }
  }
}

// The bit stream (RFC 1951 §3.1.1: bits fill each byte from its least significant end). `w` is
// u32[4]: output address, bytes written, pending bits, their number (< 8 between calls).

export function putBits(w: usize, value: u32, n: u32): void {
  let acc = load<u32>(w, 8) | (value << load<u32>(w, 12));
  let count = load<u32>(w, 12) + n;
  let at = load<u32>(w) + load<u32>(w, 4);
  while (count >= 8) {
    store<u8>(at++, <u8>acc);
    acc >>= 8;
    count -= 8;
  }
  store<u32>(w, at - load<u32>(w), 4);
  store<u32>(w, acc, 8);
  store<u32>(w, count, 12);
}

/**
 * Appends `count` items with the block's codes: `codes` is u32[288 + 32], each `length << 16 |
 * bit-reversed code`, literal/length symbols first, then distance symbols.
 */
export function putItems(w: usize, items: usize, count: i32, codes: usize): void {
  let acc: u64 = <u64>load<u32>(w, 8);
  let bits: u32 = load<u32>(w, 12);
  let at = load<u32>(w) + load<u32>(w, 4);
  for (let i: i32 = 0; i < count; i++) {
    const item = load<u32>(items + (<usize>i << 2));
    if (item < 256) {
      const c = load<u32>(codes + (<usize>item << 2));
      acc |= <u64>(c & 0xffff) << bits;
      bits += c >> 16;
    } else {
      const l = <i32>(item >> 16);
      const ls = lengthSymbol(l);
      const c = load<u32>(codes + (<usize>ls << 2));
      acc |= <u64>(c & 0xffff) << bits;
      bits += c >> 16;
      if (l >= 11 && l < MAX_MATCH) {
        const e = 29 - clz(l - 3);
        acc |= <u64>((l - 3) & ((1 << e) - 1)) << bits;
        bits += <u32>e;
      }
      const d = <i32>(item & 0xffff);
      const dc = load<u32>(codes + (<usize>(288 + distSymbol(d)) << 2));
      acc |= <u64>(dc & 0xffff) << bits;
      bits += dc >> 16;
      if (d > 4) {
        const e = 30 - clz(d - 1);
        acc |= <u64>((d - 1) & ((1 << e) - 1)) << bits;
        bits += <u32>e;
      }
    }
    while (bits >= 8) {
      store<u8>(at++, <u8>acc);
      acc >>= 8;
      bits -= 8;
    }
  }
  store<u32>(w, at - load<u32>(w), 4);
  store<u32>(w, <u32>acc, 8);
  store<u32>(w, bits, 12);
}
