// The match finder: for every position, the matches a parse may choose from.

import { MAX_DIST, MAX_MATCH, MIN_MATCH } from './symbols';

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

/** The slot of the 3-byte prefix at p in `head3`. */
@inline function slot3Of(head3: usize, p: usize): usize {
  const key3: u32 = (<u32>load<u8>(p) << 16) | (<u32>load<u8>(p, 1) << 8) | <u32>load<u8>(p, 2);
  return head3 + (<usize>((key3 * 0x9e3779b1) >> (32 - HASH3_BITS)) << 2);
}

/** The slot of the 4-byte prefix at p in `head`. */
@inline function slotOf(head: usize, p: usize): usize {
  return head + (<usize>((load<u32>(p) * 0x9e3779b1) >> (32 - HASH_BITS)) << 2);
}

/**
 * The match finder, for positions [from, to) of data[0, n); called for consecutive ranges starting
 * at 0 (so that V8 can move the loop to optimised code between calls: WebAssembly has no on-stack
 * replacement). The nearest earlier occurrence of the 3-byte prefix (`head3`) gives the shortest
 * matches; hash chains over 4-byte prefixes (`head`, `prev`), walked nearest first for at most
 * `depth` links, give the longer ones, as in libdeflate's hash-chain finder. For each position,
 * every match longer than all nearer ones is written as `length << 16 | distance` to `matches`
 * (u32), and their number to `counts` (u16[n]; 256 at most, one per length). Parses read them in
 * position order, keeping their own index into `matches` (a u16 per position instead of an index
 * saves 2 MiB of fresh pages per MiB of input). A match of `nice` bytes ends the search, and the
 * positions it covers are only indexed. Past `capacity` entries no more matches are recorded.
 * `state` (i32[2]) carries the entry count and the positions still to skip from call to call.
 */
export function findMatches(data: usize, n: i32, from: i32, to: i32, depth: i32, nice: i32, counts: usize, matches: usize, capacity: i32, head3: usize, head: usize, prev: usize, state: usize): void {
  if (from == 0) {
    memory.fill(head3, 0xff, (<usize>1 << HASH3_BITS) << 2);
    memory.fill(head, 0xff, (<usize>1 << HASH_BITS) << 2);
    store<i32>(state, 0);
    store<i32>(state, 0, 4);
  }
  let count = load<i32>(state);
  let skip = load<i32>(state, 4);
  // each position's hash slots and what they hold are read one position ahead, so that their cache
  // misses (the tables are as large as the L2 cache) overlap the search before them
  let slot3: usize = 0;
  let slot: usize = 0;
  let near: i32 = -1;
  let chain: i32 = -1;
  if (from + MIN_MATCH <= n) {
    slot3 = slot3Of(head3, data + <usize>from);
    near = load<i32>(slot3);
    if (from + 4 <= n) {
      slot = slotOf(head, data + <usize>from);
      chain = load<i32>(slot);
    }
  }
  for (let pos = from; pos < to; pos++) {
    const before = count;
    if (pos + MIN_MATCH > n) {
      store<u16>(counts + (<usize>pos << 1), 0);
      continue;
    }
    const p = data + <usize>pos;
    const has4 = pos + 4 <= n;
    let nextSlot3: usize = 0;
    let nextSlot: usize = 0;
    let nextNear: i32 = -1;
    let nextChain: i32 = -1;
    if (pos + 1 + MIN_MATCH <= n) {
      nextSlot3 = slot3Of(head3, p + 1);
      nextNear = load<i32>(nextSlot3);
      if (pos + 5 <= n) {
        nextSlot = slotOf(head, p + 1);
        nextChain = load<i32>(nextSlot);
      }
    }
    if (skip > 0) {
      skip--;
    } else {
      const maxLen: i32 = min(MAX_MATCH, n - pos);
      let best: i32 = MIN_MATCH - 1;
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
        let cand = chain;
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
    store<u16>(counts + (<usize>pos << 1), <u16>(count - before));
    store<i32>(slot3, pos);
    if (has4) {
      store<i32>(prev + (<usize>(pos & WINDOW_MASK) << 2), chain);
      store<i32>(slot, pos);
    }
    // this position may have just taken the next one's slots
    near = nextSlot3 == slot3 ? pos : nextNear;
    chain = has4 && nextSlot == slot ? pos : nextChain;
    slot3 = nextSlot3;
    slot = nextSlot;
  }
  store<i32>(state, count);
  store<i32>(state, skip, 4);
}
