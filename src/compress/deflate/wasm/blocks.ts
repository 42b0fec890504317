// Blocks: each run of items goes out as whichever of the three block types (RFC 1951 §3.2.3) is
// smallest: stored, fixed Huffman, or dynamic Huffman with its code-length header run-length coded.
// A plan is the block's counts, its type and size, and what a dynamic header sends.

import { alignToByte, putBits, putBytes, putItems } from './bits';
import { canonicalCodes, codeLengths } from './huffman';
import { STATS_BYTES } from './stats';
import { CODE_LENGTH_ORDER, DIST_SYMBOLS, distExtra, END_OF_BLOCK, fixedLitlenLength, lengthExtra, LITLEN_SYMBOLS } from './symbols';

const STORED: i32 = 0;
const FIXED: i32 = 1;
const DYNAMIC: i32 = 2;
const STORED_MAX: i32 = 65535;
/** Items written per call of putItems (see engine.ts). */
const STEP: i32 = 1 << 14;

// A plan's layout: the counts (stats.ts), then the fields below. Code lengths are u8[288] and
// u8[32], the entries past 286 and 30 always 0 (the fixed code's are in `fixedLengths`).
const TYPE: usize = STATS_BYTES;
const BITS: usize = STATS_BYTES + 8;
const LITLEN_LENGTHS: usize = STATS_BYTES + 16;
const DIST_LENGTHS: usize = LITLEN_LENGTHS + 288;
const HLIT: usize = DIST_LENGTHS + 32;
const HDIST: usize = HLIT + 4;
const HCLEN: usize = HLIT + 8;
const RUN_COUNT: usize = HLIT + 12;
const CODE_LENGTH_LENGTHS: usize = HLIT + 16;
/** The run-length coded code lengths: symbol 0..18, and each 16/17/18's repeat count field. */
const RUNS: usize = CODE_LENGTH_LENGTHS + 24;
const RUN_EXTRA: usize = RUNS + 320;
export const PLAN_BYTES: usize = RUN_EXTRA + 320;

// Scratch (BLOCK_SCRATCH bytes): the code-length symbols' counts, then a code table (huffman.ts
// canonicalCodes) of 288 + 32 entries, then the fixed code's lengths
let scratch: usize = 0;
let codes: usize = 0;
let fixedLengths: usize = 0;
export const BLOCK_SCRATCH: usize = 80 + 320 * 4 + 320;

export function useBlockScratch(at: usize): void {
  scratch = at;
  codes = at + 80;
  fixedLengths = codes + 320 * 4;
  for (let s = 0; s < 288; s++) store<u8>(fixedLengths + <usize>s, fixedLitlenLength(s));
  memory.fill(fixedLengths + 288, 5, 32);
}

export function planBits(plan: usize): i64 {
  return load<i64>(plan + BITS);
}

/** Chooses the smallest block type for `plan`'s counts over `rawLength` input bytes. */
export function planBlock(plan: usize, rawLength: i32): void {
  codeLengths(plan, LITLEN_SYMBOLS, 15, plan + LITLEN_LENGTHS);
  codeLengths(plan + (<usize>LITLEN_SYMBOLS << 2), DIST_SYMBOLS, 15, plan + DIST_LENGTHS);
  const dynamic = 3 + dynamicHeader(plan) + dataBits(plan, plan + LITLEN_LENGTHS, plan + DIST_LENGTHS);
  const fixed = 3 + dataBits(plan, fixedLengths, fixedLengths + 288);
  const stored = storedBits(rawLength);
  let type = DYNAMIC;
  let bits = dynamic;
  if (stored < fixed && stored < dynamic) {
    type = STORED;
    bits = stored;
  } else if (fixed <= dynamic) {
    type = FIXED;
    bits = fixed;
  }
  store<i32>(plan + TYPE, type);
  store<i64>(plan + BITS, bits);
}

/** A stored block's size in bits: an upper bound for its byte alignment. */
function storedBits(rawLength: i32): i64 {
  const chunks = max(1, (rawLength + STORED_MAX - 1) / STORED_MAX);
  return <i64>chunks * (3 + 7 + 32) + <i64>rawLength * 8;
}

function dataBits(stats: usize, litlen: usize, dist: usize): i64 {
  let bits: i64 = 0;
  for (let s = 0; s < LITLEN_SYMBOLS; s++) {
    const f = load<u32>(stats + (<usize>s << 2));
    if (f) bits += <i64>f * <i64>(<i32>load<u8>(litlen + <usize>s) + lengthExtra(s));
  }
  const counts = stats + (<usize>LITLEN_SYMBOLS << 2);
  for (let s = 0; s < DIST_SYMBOLS; s++) {
    const f = load<u32>(counts + (<usize>s << 2));
    if (f) bits += <i64>f * <i64>(<i32>load<u8>(dist + <usize>s) + distExtra(s));
  }
  return bits;
}

function runExtraBits(symbol: i32): i32 {
  return symbol == 16 ? 2 : symbol == 17 ? 3 : 7;
}

/** The code length of the i-th symbol a dynamic header sends: literal/length ones, then distance ones. */
function sentLength(plan: usize, hlit: i32, i: i32): i32 {
  return <i32>load<u8>(i < hlit ? plan + LITLEN_LENGTHS + <usize>i : plan + DIST_LENGTHS + <usize>(i - hlit));
}

function addRun(plan: usize, count: i32, symbol: i32, extra: i32): i32 {
  store<u8>(plan + RUNS + <usize>count, <u8>symbol);
  store<u8>(plan + RUN_EXTRA + <usize>count, <u8>extra);
  return count + 1;
}

/** Fills in `plan`'s dynamic header from its code lengths; returns the header's size in bits. */
function dynamicHeader(plan: usize): i32 {
  let hlit = LITLEN_SYMBOLS;
  while (hlit > 257 && load<u8>(plan + LITLEN_LENGTHS + <usize>(hlit - 1)) == 0) hlit--;
  let hdist = DIST_SYMBOLS;
  while (hdist > 1 && load<u8>(plan + DIST_LENGTHS + <usize>(hdist - 1)) == 0) hdist--;
  // run-length coding of the lengths (RFC 1951 §3.2.7): 16 repeats the previous length 3–6 times,
  // 17 and 18 send 3–10 and 11–138 zeros
  const total = hlit + hdist;
  let count: i32 = 0;
  for (let i = 0; i < total;) {
    const v = sentLength(plan, hlit, i);
    let run: i32 = 1;
    while (i + run < total && sentLength(plan, hlit, i + run) == v) run++;
    i += run;
    if (v == 0) {
      while (run >= 11) {
        const r = min(run, 138);
        count = addRun(plan, count, 18, r - 11);
        run -= r;
      }
      if (run >= 3) {
        count = addRun(plan, count, 17, run - 3);
        run = 0;
      }
    } else {
      count = addRun(plan, count, v, 0);
      run--;
      while (run >= 3) {
        const r = min(run, 6);
        count = addRun(plan, count, 16, r - 3);
        run -= r;
      }
    }
    for (; run > 0; run--) count = addRun(plan, count, v, 0);
  }
  memory.fill(scratch, 0, 19 * 4);
  for (let i = 0; i < count; i++) {
    const at = scratch + (<usize>load<u8>(plan + RUNS + <usize>i) << 2);
    store<u32>(at, load<u32>(at) + 1);
  }
  const lengths = plan + CODE_LENGTH_LENGTHS;
  codeLengths(scratch, 19, 7, lengths);
  let hclen: i32 = 19;
  while (hclen > 4 && load<u8>(lengths + <usize>load<u8>(CODE_LENGTH_ORDER + <usize>(hclen - 1))) == 0) hclen--;
  let bits: i32 = 5 + 5 + 4 + 3 * hclen;
  for (let i = 0; i < count; i++) {
    const s = <i32>load<u8>(plan + RUNS + <usize>i);
    bits += <i32>load<u8>(lengths + <usize>s) + (s >= 16 ? runExtraBits(s) : 0);
  }
  store<i32>(plan + HLIT, hlit);
  store<i32>(plan + HDIST, hdist);
  store<i32>(plan + HCLEN, hclen);
  store<i32>(plan + RUN_COUNT, count);
  return bits;
}

/** Writes `count` items at `items`, which encode the `rawLength` input bytes at `raw`, as one block of `plan`'s type. */
export function writeBlock(plan: usize, items: usize, count: i32, raw: usize, rawLength: i32, final: bool): void {
  const type = load<i32>(plan + TYPE);
  if (type == STORED) {
    let at: i32 = 0;
    do {
      const n = min(STORED_MAX, rawLength - at);
      putBits(final && at + n == rawLength ? 1 : 0, 1);
      putBits(0, 2);
      alignToByte();
      putBits(n, 16);
      putBits(~n & 0xffff, 16);
      putBytes(raw + <usize>at, n);
      at += n;
    } while (at < rawLength);
    return;
  }
  putBits(final ? 1 : 0, 1);
  putBits(type == FIXED ? 1 : 2, 2);
  let lengths = fixedLengths;
  if (type == DYNAMIC) {
    lengths = plan + LITLEN_LENGTHS;
    writeHeader(plan);
  }
  canonicalCodes(lengths, 288, codes);
  canonicalCodes(lengths + 288, 32, codes + 288 * 4);
  for (let i: i32 = 0; i < count; i += STEP) putItems(items + (<usize>i << 2), min(STEP, count - i), codes);
  const end = load<u32>(codes + (<usize>END_OF_BLOCK << 2));
  putBits(end & 0xffff, end >> 16);
}

function writeHeader(plan: usize): void {
  const hclen = load<i32>(plan + HCLEN);
  putBits(load<i32>(plan + HLIT) - 257, 5);
  putBits(load<i32>(plan + HDIST) - 1, 5);
  putBits(hclen - 4, 4);
  const lengths = plan + CODE_LENGTH_LENGTHS;
  for (let i = 0; i < hclen; i++) putBits(load<u8>(lengths + <usize>load<u8>(CODE_LENGTH_ORDER + <usize>i)), 3);
  canonicalCodes(lengths, 19, codes);
  const count = load<i32>(plan + RUN_COUNT);
  for (let i = 0; i < count; i++) {
    const s = <i32>load<u8>(plan + RUNS + <usize>i);
    const c = load<u32>(codes + (<usize>s << 2));
    putBits(c & 0xffff, c >> 16);
    if (s >= 16) putBits(load<u8>(plan + RUN_EXTRA + <usize>i), runExtraBits(s));
  }
}
