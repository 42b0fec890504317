/**
 * Blocks: each run of items goes out as whichever of the three block types (RFC 1951 §3.2.3) is
 * smallest: stored, fixed Huffman, or dynamic Huffman with its code-length header run-length coded.
 */
import type { Engine } from './engine.js';
import { canonicalCodes, codeLengths } from './huffman.js';
import type { SymbolStats } from './stats.js';
import { CODE_LENGTH_ORDER, DIST_EXTRA, DIST_SYMBOLS, END_OF_BLOCK, FIXED_DIST_LENGTHS, FIXED_LITLEN_LENGTHS, LENGTH_EXTRA, LITLEN_SYMBOLS } from './symbols.js';

const STORED_MAX = 65535;
const RUN_EXTRA_BITS = [2, 3, 7];

export interface BlockPlan {
  type: 'stored' | 'fixed' | 'dynamic';
  /** Size of the block in bits, header included (stored: an upper bound for its byte alignment). */
  bits: number;
  litlen: Uint8Array;
  dist: Uint8Array;
  header?: DynamicHeader;
}

interface DynamicHeader {
  hlit: number;
  hdist: number;
  hclen: number;
  codeLengthLengths: Uint8Array;
  /** The run-length coded code lengths: symbol 0..18, and each symbol's repeat count field. */
  runs: Uint8Array;
  runExtra: Uint8Array;
  bits: number;
}

/** The smallest block for these counts over `rawLength` input bytes. */
export function planBlock(stats: SymbolStats, rawLength: number): BlockPlan {
  const litlen = codeLengths(stats.litlen, 15);
  const dist = codeLengths(stats.dist, 15);
  const header = dynamicHeader(litlen, dist);
  const dynamic = 3 + header.bits + dataBits(stats, litlen, dist);
  const fixed = 3 + dataBits(stats, FIXED_LITLEN_LENGTHS, FIXED_DIST_LENGTHS);
  const stored = storedBits(rawLength);
  if (stored < fixed && stored < dynamic) return { type: 'stored', bits: stored, litlen, dist };
  if (fixed <= dynamic) return { type: 'fixed', bits: fixed, litlen: FIXED_LITLEN_LENGTHS, dist: FIXED_DIST_LENGTHS };
  return { type: 'dynamic', bits: dynamic, litlen, dist, header };
}

function storedBits(rawLength: number): number {
  const chunks = Math.max(1, Math.ceil(rawLength / STORED_MAX));
  return chunks * (3 + 7 + 32) + rawLength * 8;
}

function dataBits(stats: SymbolStats, litlen: Uint8Array, dist: Uint8Array): number {
  let bits = 0;
  for (let s = 0; s < LITLEN_SYMBOLS; s++) {
    const f = stats.litlen[s]!;
    if (f) bits += f * (litlen[s]! + (s > END_OF_BLOCK ? LENGTH_EXTRA[s - 257]! : 0));
  }
  for (let s = 0; s < DIST_SYMBOLS; s++) {
    const f = stats.dist[s]!;
    if (f) bits += f * (dist[s]! + DIST_EXTRA[s]!);
  }
  return bits;
}

function dynamicHeader(litlen: Uint8Array, dist: Uint8Array): DynamicHeader {
  let hlit = LITLEN_SYMBOLS;
  while (hlit > 257 && litlen[hlit - 1] === 0) hlit--;
  let hdist = DIST_SYMBOLS;
  while (hdist > 1 && dist[hdist - 1] === 0) hdist--;
  const seq = new Uint8Array(hlit + hdist);
  seq.set(litlen.subarray(0, hlit));
  seq.set(dist.subarray(0, hdist), hlit);
  // run-length coding of the lengths (RFC 1951 §3.2.7): 16 repeats the previous length 3–6 times,
  // 17 and 18 send 3–10 and 11–138 zeros
  const runs = new Uint8Array(seq.length);
  const runExtra = new Uint8Array(seq.length);
  let count = 0;
  for (let i = 0; i < seq.length;) {
    const v = seq[i]!;
    let run = 1;
    while (i + run < seq.length && seq[i + run] === v) run++;
    i += run;
    if (v === 0) {
      while (run >= 11) {
        const r = Math.min(run, 138);
        runs[count] = 18;
        runExtra[count++] = r - 11;
        run -= r;
      }
      if (run >= 3) {
        runs[count] = 17;
        runExtra[count++] = run - 3;
        run = 0;
      }
    } else {
      runs[count++] = v;
      run--;
      while (run >= 3) {
        const r = Math.min(run, 6);
        runs[count] = 16;
        runExtra[count++] = r - 3;
        run -= r;
      }
    }
    while (run-- > 0) runs[count++] = v;
  }
  const freqs = new Uint32Array(19);
  for (let i = 0; i < count; i++) freqs[runs[i]!]++;
  const codeLengthLengths = codeLengths(freqs, 7);
  let hclen = 19;
  while (hclen > 4 && codeLengthLengths[CODE_LENGTH_ORDER[hclen - 1]!] === 0) hclen--;
  let bits = 5 + 5 + 4 + 3 * hclen;
  for (let i = 0; i < count; i++) bits += codeLengthLengths[runs[i]!]! + (runs[i]! >= 16 ? RUN_EXTRA_BITS[runs[i]! - 16]! : 0);
  return { hlit, hdist, hclen, codeLengthLengths, runs: runs.subarray(0, count), runExtra: runExtra.subarray(0, count), bits };
}

/** Writes `items`, which encode input bytes [rawFrom, rawTo), as one block of the planned type. */
export function writeBlock(w: Engine, plan: BlockPlan, items: Uint32Array, rawFrom: number, rawTo: number, final: boolean): void {
  if (plan.type === 'stored') {
    let at = rawFrom;
    do {
      const n = Math.min(STORED_MAX, rawTo - at);
      w.put(final && at + n === rawTo ? 1 : 0, 1);
      w.put(0, 2);
      w.alignToByte();
      w.put(n, 16);
      w.put(~n & 0xffff, 16);
      w.putInput(at, at + n);
      at += n;
    } while (at < rawTo);
    return;
  }
  w.put(final ? 1 : 0, 1);
  w.put(plan.type === 'fixed' ? 1 : 2, 2);
  const h = plan.header;
  if (h) {
    w.put(h.hlit - 257, 5);
    w.put(h.hdist - 1, 5);
    w.put(h.hclen - 4, 4);
    for (let i = 0; i < h.hclen; i++) w.put(h.codeLengthLengths[CODE_LENGTH_ORDER[i]!]!, 3);
    const clCodes = canonicalCodes(h.codeLengthLengths);
    for (let i = 0; i < h.runs.length; i++) {
      const s = h.runs[i]!;
      w.put(clCodes[s]!, h.codeLengthLengths[s]!);
      if (s >= 16) w.put(h.runExtra[i]!, RUN_EXTRA_BITS[s - 16]!);
    }
  }
  const litlenCodes = canonicalCodes(plan.litlen);
  w.putItems(items, plan.litlen, litlenCodes, plan.dist, canonicalCodes(plan.dist));
  w.put(litlenCodes[END_OF_BLOCK]!, plan.litlen[END_OF_BLOCK]!);
}
