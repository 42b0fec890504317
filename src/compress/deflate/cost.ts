/**
 * The parser's price list: what each literal, length and distance would cost in the block being
 * built, in 1/16 bit (so that a whole block's price fits the parser's 32-bit integers). Prices are
 * -log2 of each symbol's share of the previous parse (an unseen symbol counts as half an
 * occurrence), plus its extra bits. Only integer results of exactly rounded IEEE arithmetic are
 * used, so every CPU and Node prices a parse the same.
 */
import { DIST_EXTRA, DIST_SYMBOLS, END_OF_BLOCK, LENGTH_EXTRA, LENGTH_SYMBOL, LITLEN_SYMBOLS, MAX_MATCH, MIN_MATCH } from './symbols.js';
import type { SymbolStats } from './stats.js';

/** log2Scaled's unit: 1/256 bit. */
export const BIT = 256;
/** The parser's unit: 1/16 bit. */
const PRICE_BIT = 16;

export interface CostModel {
  literal: Int32Array;
  /** By match length 3..258, with the length's extra bits. */
  length: Int32Array;
  /** By distance symbol, with its extra bits. */
  distance: Int32Array;
}

/** log2(x) · 256, for x ≥ 1, rounded down; from repeated squaring, not Math.log2, whose last bit is the engine's choice. */
export function log2Scaled(x: number): number {
  const e = 31 - Math.clz32(x);
  let m = x / 2 ** e;
  let frac = 0;
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

/** Prices from a parse's symbol counts. */
export function modelFromStats(stats: SymbolStats): CostModel {
  const lit = priceSymbols(stats.litlen, LITLEN_SYMBOLS);
  const dist = priceSymbols(stats.dist, DIST_SYMBOLS);
  return build((s) => lit[s]!, (d) => dist[d]!);
}

function priceSymbols(freqs: Uint32Array, n: number): Float64Array {
  let total = 0;
  for (let s = 0; s < n; s++) total += freqs[s]!;
  // counts doubled so that an unseen symbol can weigh one half
  const whole = log2Scaled(2 * total + 1);
  const price = new Float64Array(n);
  for (let s = 0; s < n; s++) price[s] = Math.max(BIT / 4, whole - log2Scaled(freqs[s]! > 0 ? 2 * freqs[s]! : 1));
  return price;
}

function build(litlen: (s: number) => number, dist: (d: number) => number): CostModel {
  const price = (scaled: number) => Math.round((scaled * PRICE_BIT) / BIT);
  const literal = new Int32Array(END_OF_BLOCK);
  for (let b = 0; b < END_OF_BLOCK; b++) literal[b] = price(litlen(b));
  const length = new Int32Array(MAX_MATCH + 1);
  for (let l = MIN_MATCH; l <= MAX_MATCH; l++) {
    const s = LENGTH_SYMBOL[l]!;
    length[l] = price(litlen(s) + LENGTH_EXTRA[s - 257]! * BIT);
  }
  const distance = new Int32Array(DIST_SYMBOLS);
  for (let d = 0; d < DIST_SYMBOLS; d++) distance[d] = price(dist(d) + DIST_EXTRA[d]! * BIT);
  return { literal, length, distance };
}
