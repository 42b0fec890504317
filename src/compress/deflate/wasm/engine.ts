// AssemblyScript, compiled to WebAssembly by scripts/build.js (never by tsc): the whole encoder of
// ../deflate.ts. One instance per input: `prepare` lays out its memory for n input bytes and says
// where they go; `deflate` runs the pipeline (find matches once, parse the whole input greedily,
// split it into blocks where the statistics change, re-parse each block under the prices of its own
// previous parse until that stops paying, write each block as its smallest type) and returns the
// output's length, the output at `output()`. Nothing allocates after `prepare`. Integer arithmetic
// and exactly rounded f64 operations in a fixed order only, so the output is the same on every CPU.
//
// Long loops run in steps of STEP positions or items, each a call of its own function: WebAssembly
// has no on-stack replacement, so one long call would run V8's baseline code from start to end,
// while V8 optimises a function that is called often and later calls run the optimised code.

import { alignToByte, outputLength, startOutput } from './bits';
import { BLOCK_SCRATCH, planBits, planBlock, PLAN_BYTES, useBlockScratch, writeBlock } from './blocks';
import { HUFFMAN_SCRATCH, useScratch } from './huffman';
import { findMatches } from './matches';
import { greedyParse, parseEnd, parseRange, setPrices } from './parse';
import { addSegment, RECORD_BYTES, recordFrom, recordMatchFrom, recordStats, recordTo, splitBlocks } from './split';
import { clearStats, countSymbols, STATS_BYTES } from './stats';

// The functions that run in steps are exported too, only so that binaryen keeps each a function
// of its own: it inlines a function with one caller, loops and all, and then there is no later call.
export { putItems } from './bits';
export { findMatches } from './matches';
export { greedyParse, parseEnd, parseRange } from './parse';
export { countSymbols } from './stats';

const STEP: i32 = 1 << 14;
/** Matches recorded per input byte at most (the table's size; 0.7 at default and 0.9 at max on real code); past it, later positions get none: a cost in size only, and the same on every machine. */
const MATCHES_PER_BYTE: i32 = 2;
const HASH_SLOTS: usize = 1 << 16;
const HASH3_SLOTS: usize = 1 << 15;
const WINDOW: usize = 32768;

let n: i32 = 0;
let capacity: i32 = 0;
let data: usize = 0;
let counts: usize = 0;
let matches: usize = 0;
let head3: usize = 0;
let head: usize = 0;
let prev: usize = 0;
let state: usize = 0;
let itemCount: usize = 0;
let cursor: usize = 0;
let segmentItems: usize = 0;
let cost: usize = 0;
let choice: usize = 0;
let parses: usize = 0;
let literal: usize = 0;
let length: usize = 0;
let distance: usize = 0;
let plans: usize = 0;
let records: usize = 0;
let order: usize = 0;
let merged: usize = 0;
let scratch: usize = 0;
let out: usize = 0;

let end: usize = 0;

function take(bytes: usize): usize {
  const at = end;
  end += (bytes + 15) & ~15;
  return at;
}

/** Lays out memory for `size` input bytes split in segments of `segment` items; returns where the input goes. */
export function prepare(size: i32, segment: i32): usize {
  n = size;
  capacity = MATCHES_PER_BYTE * n + 1024;
  const positions = <usize>(n + 1) << 2;
  const segments = n / segment + 1;
  end = (__heap_base + 15) & ~15;
  data = take(<usize>n + 8);
  counts = take(<usize>n << 1);
  matches = take(<usize>capacity << 2);
  head3 = take(HASH3_SLOTS << 2);
  head = take(HASH_SLOTS << 2);
  prev = take(WINDOW << 2);
  // the match finder's state (matches.ts), a greedy parse's item count, a parse's index into the matches
  state = take(8);
  itemCount = take(4);
  cursor = take(4);
  segmentItems = take(<usize>segment << 2);
  cost = take(positions);
  choice = take(positions);
  // two buffers for cheapest parses: the best one of a block so far and the one being tried
  parses = take(positions << 1);
  literal = take(256 << 2);
  length = take(259 << 2);
  distance = take(30 << 2);
  plans = take(PLAN_BYTES << 1);
  records = take(<usize>segments * RECORD_BYTES);
  order = take(<usize>segments << 2);
  merged = take(<usize>segments << 3);
  scratch = take(STATS_BYTES);
  const huffman = take(HUFFMAN_SCRATCH);
  const block = take(BLOCK_SCRATCH);
  // stored blocks are the worst case: 5 bytes per 64 KiB beyond the input itself
  out = take(<usize>n + 5 * (<usize>n / 65535 + 1) + 1024);
  const pages = <i32>((end + 0xffff) >> 16) - memory.size();
  if (pages > 0) memory.grow(pages);
  useScratch(huffman);
  useBlockScratch(block);
  return data;
}

export function output(): usize {
  return out;
}

/**
 * Deflates the input: `depth` and `nice` are the match search's (matches.ts), `passes` the re-parses
 * per block at most, `segment` as given to prepare. Returns the output's length.
 */
export function deflate(depth: i32, nice: i32, passes: i32, segment: i32): u32 {
  for (let from: i32 = 0; from < n; from += STEP) findMatches(data, n, from, min(n, from + STEP), depth, nice, counts, matches, capacity, head3, head, prev, state);
  // the greedy parse, a segment at a time: only the segments' counts are kept
  store<i32>(cursor, 0);
  let segments: i32 = 0;
  for (let p: i32 = 0; p < n || segments == 0; segments++) {
    const matchFrom = load<i32>(cursor);
    const next = greedyParse(data, p, n, segment, counts, matches, cursor, segmentItems, itemCount);
    addSegment(records, segments, segmentItems, load<i32>(itemCount), p, matchFrom);
    p = next;
  }
  const blocks = splitBlocks(segments, records, order, merged, scratch);
  startOutput(out);
  for (let b: i32 = 0; b < blocks; b++) writeBest(load<i32>(order + (<usize>b << 2)), passes, b == blocks - 1);
  alignToByte();
  return outputLength();
}

/** Re-parses the block of split record r while that pays, then writes the smallest version. */
function writeBest(r: i32, passes: i32, final: bool): void {
  const byteFrom = recordFrom(records, r);
  const size = recordTo(records, r) - byteFrom;
  let best = plans;
  let trial = plans + PLAN_BYTES;
  memory.copy(best, recordStats(records, r), STATS_BYTES);
  planBlock(best, size);
  // the greedy parse's items are not kept (until they are written)
  let greedyBest = true;
  let bestItems: usize = 0;
  let bestCount: i32 = 0;
  let buffer: usize = 0;
  for (let pass = 0; pass < passes; pass++) {
    // the prices of the previous parse, which is the best one: a worse one ends the passes
    setPrices(best, literal, length, distance);
    const items = parses + buffer * (<usize>(n + 1) << 2);
    clearStats(trial);
    const count = cheapestParse(byteFrom, size, recordMatchFrom(records, r), items, trial);
    const first = items + (<usize>(size - count) << 2);
    planBlock(trial, size);
    if (planBits(trial) >= planBits(best)) break;
    const swap = best;
    best = trial;
    trial = swap;
    greedyBest = false;
    bestItems = first;
    bestCount = count;
    buffer ^= 1;
  }
  if (greedyBest) {
    // the block's bounds are the greedy parse's item bounds, so parsing it again gives its items
    bestItems = parses;
    store<i32>(cursor, recordMatchFrom(records, r));
    greedyParse(data, byteFrom, byteFrom + size, size, counts, matches, cursor, bestItems, itemCount);
    bestCount = load<i32>(itemCount);
  }
  writeBlock(best, bestItems, bestCount, data + <usize>byteFrom, size, final);
}

/**
 * The cheapest parse of data[from, from + size), whose first match is `matchFrom`, under the prices
 * set; returns its item count, the items ending at items[size], and adds their counts to `stats`.
 */
function cheapestParse(from: i32, size: i32, matchFrom: i32, items: usize, stats: usize): i32 {
  store<i32>(cursor, matchFrom);
  for (let i: i32 = 0; i < size; i += STEP) parseRange(data, from, size, i, min(size, i + STEP), counts, matches, cursor, literal, length, distance, cost, choice);
  return size - parseEnd(size, choice, items, stats);
}
