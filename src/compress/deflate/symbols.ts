/**
 * DEFLATE's alphabets (RFC 1951 §3.2.5): length 3..258 → literal/length symbol 257..285 plus extra
 * bits, distance 1..32768 → distance symbol 0..29 plus extra bits. Tables are built once from the
 * RFC's bases, so the encoder never branches on ranges in its inner loops.
 */
export const END_OF_BLOCK = 256;
export const LITLEN_SYMBOLS = 286;
export const DIST_SYMBOLS = 30;
export const MIN_MATCH = 3;
export const MAX_MATCH = 258;
/** eboot's uzlib keeps a 32 KiB dictionary and accepts distances up to its size (issue 10). */
export const MAX_DIST = 32768;

export const LENGTH_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
export const LENGTH_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
export const DIST_BASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577];
export const DIST_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];

/** Literal/length symbol of each match length (index = length). */
export const LENGTH_SYMBOL = new Uint16Array(MAX_MATCH + 1);
/** Distance symbol of each distance (index = distance). */
export const DIST_SYMBOL = new Uint8Array(MAX_DIST + 1);

for (let s = 0; s < LENGTH_BASE.length; s++) {
  const to = s + 1 < LENGTH_BASE.length - 1 ? LENGTH_BASE[s + 1]! : LENGTH_BASE[s]! + (1 << LENGTH_EXTRA[s]!);
  for (let l = LENGTH_BASE[s]!; l < to && l <= MAX_MATCH; l++) LENGTH_SYMBOL[l] = 257 + s;
}
// 258 has its own symbol (285) although 227 + 31 reaches it too
LENGTH_SYMBOL[MAX_MATCH] = 285;
for (let s = 0; s < DIST_BASE.length; s++) {
  const to = DIST_BASE[s]! + (1 << DIST_EXTRA[s]!);
  for (let d = DIST_BASE[s]!; d < to && d <= MAX_DIST; d++) DIST_SYMBOL[d] = s;
}

/** Order in which a dynamic block sends the code-length code's lengths (RFC 1951 §3.2.7). */
export const CODE_LENGTH_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/** The fixed Huffman code's lengths (RFC 1951 §3.2.6). */
export const FIXED_LITLEN_LENGTHS = new Uint8Array(288).map((_, s) => (s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8));
export const FIXED_DIST_LENGTHS = new Uint8Array(32).fill(5);
