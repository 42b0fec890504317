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
  const literal = lit.slice(0, END_OF_BLOCK);
  const length = new Int32Array(MAX_MATCH + 1);
  for (let l = MIN_MATCH; l <= MAX_MATCH; l++) {
    const s = LENGTH_SYMBOL[l]!;
    length[l] = lit[s]! + LENGTH_EXTRA[s - 257]! * PRICE_BIT;
  }
  const distance = new Int32Array(DIST_SYMBOLS);
  for (let d = 0; d < DIST_SYMBOLS; d++) distance[d] = dist[d]! + DIST_EXTRA[d]! * PRICE_BIT;
  return { literal, length, distance };
}

/** Each symbol's price in 1/16 bit: -log2 of its share, counts doubled so that an unseen symbol weighs one half. */
function priceSymbols(freqs: Uint32Array, n: number): Int32Array {
  let total = 0;
  for (let s = 0; s < n; s++) total += freqs[s]!;
  const whole = log2Scaled(2 * total + 1);
  const unseen = Math.round((Math.max(BIT / 4, whole) * PRICE_BIT) / BIT);
  const price = new Int32Array(n);
  for (let s = 0; s < n; s++) {
    price[s] = freqs[s]! > 0 ? Math.round((Math.max(BIT / 4, whole - log2Scaled(2 * freqs[s]!)) * PRICE_BIT) / BIT) : unseen;
  }
  return price;
}
