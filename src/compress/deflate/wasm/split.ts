// Block splitting by symbol statistics: the greedy parse is cut into segments of a level's number
// of items (engine.ts), then the two neighbours whose merge saves the most bits by the entropy
// estimate (stats.ts) are merged, again and again, while a merge saves anything. A block ends where
// the data's statistics change enough to pay for a new header; the blocks are then priced exactly
// (blocks.ts).

import { clearStats, countSymbols, estimateBits, mergeStats, STATS_BYTES } from './stats';

/**
 * Candidate blocks live in `records`, one per segment: stats (STATS_BYTES), then the i32 bounds
 * of the input bytes they encode, the index of their first position's first match (matches.ts),
 * and the f64 estimate. A merge keeps the left one's record.
 */
export const RECORD_BYTES: usize = STATS_BYTES + 24;
const RANGE: usize = STATS_BYTES;
const MATCH_FROM: usize = STATS_BYTES + 8;
const ESTIMATE: usize = STATS_BYTES + 16;

export function recordStats(records: usize, r: i32): usize {
  return records + <usize>r * RECORD_BYTES;
}

export function recordFrom(records: usize, r: i32): i32 {
  return load<i32>(records + <usize>r * RECORD_BYTES + RANGE);
}

export function recordTo(records: usize, r: i32): i32 {
  return load<i32>(records + <usize>r * RECORD_BYTES + RANGE, 4);
}

export function recordMatchFrom(records: usize, r: i32): i32 {
  return load<i32>(records + <usize>r * RECORD_BYTES + MATCH_FROM);
}

function estimateOf(records: usize, r: i32): f64 {
  return load<f64>(records + <usize>r * RECORD_BYTES + ESTIMATE);
}

/** The estimate of records a and b merged, counted into `scratch` (stats). */
function mergedEstimate(records: usize, a: i32, b: i32, scratch: usize): f64 {
  mergeStats(scratch, recordStats(records, a), recordStats(records, b));
  return estimateBits(scratch);
}

/** Makes segment k, the `count` items at `items` that encode the input bytes from `byteFrom` on (their first match `matchFrom`), record k. */
export function addSegment(records: usize, k: i32, items: usize, count: i32, byteFrom: i32, matchFrom: i32): void {
  const at = records + <usize>k * RECORD_BYTES;
  clearStats(at);
  const bytes = countSymbols(items, count, at);
  store<i32>(at + RANGE, byteFrom);
  store<i32>(at + RANGE, byteFrom + bytes, 4);
  store<i32>(at + MATCH_FROM, matchFrom);
  store<f64>(at + ESTIMATE, estimateBits(at));
}

/**
 * Merges the k segments in `records` into blocks: writes the blocks' record numbers in order to
 * `order` (i32) and returns how many there are. `merged` (f64, one per segment) holds the
 * estimate of each block merged with the next.
 */
export function splitBlocks(k: i32, records: usize, order: usize, merged: usize, scratch: usize): i32 {
  for (let i = 0; i < k; i++) store<i32>(order + (<usize>i << 2), i);
  for (let i = 0; i + 1 < k; i++) store<f64>(merged + (<usize>i << 3), mergedEstimate(records, i, i + 1, scratch));
  for (;;) {
    let best: i32 = -1;
    let saving: f64 = 0;
    for (let i = 0; i + 1 < k; i++) {
      const s = estimateOf(records, load<i32>(order + (<usize>i << 2))) + estimateOf(records, load<i32>(order + (<usize>(i + 1) << 2))) - load<f64>(merged + (<usize>i << 3));
      if (s > saving) {
        best = i;
        saving = s;
      }
    }
    if (best < 0) break;
    const a = load<i32>(order + (<usize>best << 2));
    const b = load<i32>(order + (<usize>(best + 1) << 2));
    const at = records + <usize>a * RECORD_BYTES;
    mergeStats(at, at, recordStats(records, b));
    store<i32>(at + RANGE, recordTo(records, b), 4);
    store<f64>(at + ESTIMATE, load<f64>(merged + (<usize>best << 3)));
    // the block after the pair moves down into its second place, and its merge estimate with it
    memory.copy(order + (<usize>(best + 1) << 2), order + (<usize>(best + 2) << 2), <usize>(k - best - 2) << 2);
    memory.copy(merged + (<usize>(best + 1) << 3), merged + (<usize>(best + 2) << 3), <usize>(k - best - 2) << 3);
    k--;
    if (best + 1 < k) store<f64>(merged + (<usize>best << 3), mergedEstimate(records, a, load<i32>(order + (<usize>(best + 1) << 2)), scratch));
    if (best > 0) store<f64>(merged + (<usize>(best - 1) << 3), mergedEstimate(records, load<i32>(order + (<usize>(best - 1) << 2)), a, scratch));
  }
  return k;
}
