// DEFLATE's alphabets (RFC 1951 §3.2.5): match length 3..258 is literal/length symbol 257..285 plus
// extra bits, distance 1..32768 is distance symbol 0..29 plus extra bits. Computed from the symbol
// structure rather than looked up, so no table has to be built before the first byte.

export const MIN_MATCH: i32 = 3;
export const MAX_MATCH: i32 = 258;
/** eboot's uzlib keeps a 32 KiB dictionary and accepts distances up to its size (issue 10). */
export const MAX_DIST: i32 = 32768;
export const END_OF_BLOCK: i32 = 256;
export const LITLEN_SYMBOLS: i32 = 286;
export const DIST_SYMBOLS: i32 = 30;

/** Distance symbol of distance d. */
export function distSymbol(d: i32): i32 {
  const v = d - 1;
  if (v < 2) return v;
  const l = 31 - clz(v);
  return 2 * l + ((v >> (l - 1)) & 1);
}

/** Literal/length symbol of match length l. */
export function lengthSymbol(l: i32): i32 {
  if (l == MAX_MATCH) return 285;
  if (l < 11) return 257 + l - 3;
  const v = l - 3;
  const e = 29 - clz(v);
  return 257 + 4 * e + 4 + ((v >> e) & 3);
}

/** Extra bits after literal/length symbol s (none for literals, the end of block and 258). */
export function lengthExtra(s: i32): i32 {
  return s >= 265 && s < 285 ? (s - 261) >> 2 : 0;
}

/** Extra bits after distance symbol s. */
export function distExtra(s: i32): i32 {
  return s < 4 ? 0 : (s >> 1) - 1;
}

/** Order in which a dynamic block sends the code-length code's lengths (RFC 1951 §3.2.7). */
export const CODE_LENGTH_ORDER = memory.data<u8>([16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]);

/** The fixed Huffman code's length of literal/length symbol s (RFC 1951 §3.2.6); every distance's is 5. */
export function fixedLitlenLength(s: i32): u8 {
  return s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8;
}
