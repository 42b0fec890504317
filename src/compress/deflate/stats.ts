/**
 * A parse is a list of items: a literal byte (value < 256) or a match, `length << 16 | distance`.
 * SymbolStats counts the Huffman symbols a run of items needs (Engine.statsOf), which is all a
 * block's size depends on.
 */
import { DIST_SYMBOLS, END_OF_BLOCK, LITLEN_SYMBOLS } from './symbols.js';

export interface SymbolStats {
  litlen: Uint32Array;
  dist: Uint32Array;
}

export function emptyStats(): SymbolStats {
  return { litlen: new Uint32Array(LITLEN_SYMBOLS), dist: new Uint32Array(DIST_SYMBOLS) };
}

/** The counts of two neighbouring runs as one (one end-of-block symbol). */
export function mergeStats(a: SymbolStats, b: SymbolStats): SymbolStats {
  const m = emptyStats();
  for (let s = 0; s < LITLEN_SYMBOLS; s++) m.litlen[s] = a.litlen[s]! + b.litlen[s]!;
  for (let s = 0; s < DIST_SYMBOLS; s++) m.dist[s] = a.dist[s]! + b.dist[s]!;
  m.litlen[END_OF_BLOCK] = 1;
  return m;
}
