// Block splitting by symbol statistics: the greedy parse is cut into segments of a level's number of
// items, then the two neighbours whose merge saves the most bits by the entropy estimate (stats.ts)
// are merged, again and again, while a merge saves anything. A block ends where the data's
// statistics change enough to pay for a new header; the blocks are then priced exactly (blocks.ts).

import { clearStats, countSymbols, estimateBits, mergeStats, STATS_BYTES } from './stats';

/**
 * Candidate blocks live in `records`, one per segment: stats (STATS_BYTES), then i32 itemFrom,
 * itemTo, byteFrom, byteTo and the f64 estimate. A merge keeps the left one's record.
 */
export const RECORD_BYTES: usize = STATS_BYTES + 24;
const RANGE: usize = STATS_BYTES;
const ESTIMATE: usize = STATS_BYTES + 16;

export function recordStats(records: usize, r: i32): usize {
  return records + <usize>r * RECORD_BYTES;
}

/** Item or byte bound `field` (0 itemFrom, 1 itemTo, 2 byteFrom, 3 byteTo) of record r. */
export function recordRange(records: usize, r: i32, field: i32): i32 {
  return load<i32>(records + <usize>r * RECORD_BYTES + RANGE + (<usize>field << 2));
}

function estimateOf(records: usize, r: i32): f64 {
  return load<f64>(records + <usize>r * RECORD_BYTES + ESTIMATE);
}

/** The estimate of records a and b merged, counted into `scratch` (stats). */
function mergedEstimate(records: usize, a: i32, b: i32, scratch: usize): f64 {
  mergeStats(scratch, recordStats(records, a), recordStats(records, b));
  return estimateBits(scratch);
}

/**
 * Splits `count` items into blocks: writes the blocks' record numbers in order to `order` (i32)
 * and returns how many there are (at least one, even for no items). `merged` (f64, one per
 * segment) holds the estimate of each block merged with the next.
 */
export function splitBlocks(items: usize, count: i32, segment: i32, records: usize, order: usize, merged: usize, scratch: usize): i32 {
  let k: i32 = 0;
  let byte: i32 = 0;
  for (let from: i32 = 0; from < count || k == 0; from += segment) {
    const to = min(count, from + segment);
    const at = records + <usize>k * RECORD_BYTES;
    clearStats(at);
    const bytes = countSymbols(items + (<usize>from << 2), to - from, at);
    store<i32>(at + RANGE, from);
    store<i32>(at + RANGE, to, 4);
    store<i32>(at + RANGE, byte, 8);
    store<i32>(at + RANGE, byte + bytes, 12);
    store<f64>(at + ESTIMATE, estimateBits(at));
    store<i32>(order + (<usize>k << 2), k);
    byte += bytes;
    k++;
  }
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
    store<i32>(at + RANGE, recordRange(records, b, 1), 4);
    store<i32>(at + RANGE, recordRange(records, b, 3), 12);
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
