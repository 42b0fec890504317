// Length-limited Huffman codes. Lengths come from Moffat and Katajainen's in-place method on the
// frequencies sorted by (frequency, symbol), so equal inputs always give equal codes; lengths over
// the limit are folded back by moving leaves down the tree until Kraft's sum is exact again.
// Every code built here has at least two symbols and is complete, which every inflater (zlib,
// GNU gzip, eboot's uzlib) decodes without special cases.

/** Most symbols an alphabet has here (literal/length, with the fixed code's two unused ones). */
const MAX_SYMBOLS: i32 = 288;

/** Scratch: sort keys (u64), the in-place method's array (i64), codes per length (i32[16]). */
let keys: usize = 0;
let weights: usize = 0;
let perLength: usize = 0;

/** The scratch's size in bytes. */
export const HUFFMAN_SCRATCH: usize = (<usize>MAX_SYMBOLS << 4) + 64;

export function useScratch(at: usize): void {
  keys = at;
  weights = at + (<usize>MAX_SYMBOLS << 3);
  perLength = weights + (<usize>MAX_SYMBOLS << 3);
}

/** Code lengths (u8[n], 0 = unused) for the counts `freqs` (u32[n]), none longer than `maxBits` (≤ 15). */
export function codeLengths(freqs: usize, n: i32, maxBits: i32, lengths: usize): void {
  memory.fill(lengths, 0, <usize>n);
  let count: i32 = 0;
  for (let s = 0; s < n; s++) {
    const f = load<u32>(freqs + (<usize>s << 2));
    if (f) store<u64>(keys + (<usize>(count++) << 3), (<u64>f << 10) | <u64>s);
  }
  // two symbols at least, so that each gets a 1-bit code rather than an incomplete 0-bit one
  for (let s = 0; count < 2 && s < n; s++) {
    if (!load<u32>(freqs + (<usize>s << 2))) store<u64>(keys + (<usize>(count++) << 3), <u64>s);
  }
  sortKeys(count);
  for (let i = 0; i < count; i++) store<i64>(weights + (<usize>i << 3), <i64>(load<u64>(keys + (<usize>i << 3)) >> 10));
  minimumRedundancy(weights, count);
  memory.fill(perLength, 0, 64);
  for (let i = 0; i < count; i++) {
    const at = perLength + (<usize>min(<i32>load<i64>(weights + (<usize>i << 3)), maxBits) << 2);
    store<i32>(at, load<i32>(at) + 1);
  }
  limitLengths(maxBits);
  // the rarest symbols take the longest codes
  let i: i32 = 0;
  for (let len = maxBits; len >= 1; len--) {
    for (let c = load<i32>(perLength + (<usize>len << 2)); c > 0; c--) {
      store<u8>(lengths + <usize>(load<u64>(keys + (<usize>(i++) << 3)) & 1023), <u8>len);
    }
  }
}

/** Shell sort, ascending; the keys are distinct, so any sort gives this order. */
function sortKeys(n: i32): void {
  for (let gap = n >> 1; gap > 0; gap >>= 1) {
    for (let i = gap; i < n; i++) {
      const k = load<u64>(keys + (<usize>i << 3));
      let j = i;
      for (; j >= gap && load<u64>(keys + (<usize>(j - gap) << 3)) > k; j -= gap) store<u64>(keys + (<usize>j << 3), load<u64>(keys + (<usize>(j - gap) << 3)));
      store<u64>(keys + (<usize>j << 3), k);
    }
  }
}

/** In place: n ≥ 2 weights (i64) sorted ascending become code lengths (a[0] the longest). */
function minimumRedundancy(a: usize, n: i32): void {
  store<i64>(a, load<i64>(a) + load<i64>(a, 8));
  let root: i32 = 0;
  let leaf: i32 = 2;
  for (let next: i32 = 1; next < n - 1; next++) {
    const at = a + (<usize>next << 3);
    if (leaf >= n || load<i64>(a + (<usize>root << 3)) < load<i64>(a + (<usize>leaf << 3))) {
      store<i64>(at, load<i64>(a + (<usize>root << 3)));
      store<i64>(a + (<usize>(root++) << 3), next);
    } else store<i64>(at, load<i64>(a + (<usize>(leaf++) << 3)));
    if (leaf >= n || (root < next && load<i64>(a + (<usize>root << 3)) < load<i64>(a + (<usize>leaf << 3)))) {
      store<i64>(at, load<i64>(at) + load<i64>(a + (<usize>root << 3)));
      store<i64>(a + (<usize>(root++) << 3), next);
    } else store<i64>(at, load<i64>(at) + load<i64>(a + (<usize>(leaf++) << 3)));
  }
  store<i64>(a + (<usize>(n - 2) << 3), 0);
  for (let next = n - 3; next >= 0; next--) {
    const at = a + (<usize>next << 3);
    store<i64>(at, load<i64>(a + (<usize>load<i64>(at) << 3)) + 1);
  }
  let avail: i32 = 1;
  let used: i32 = 0;
  let depth: i64 = 0;
  root = n - 2;
  let next = n - 1;
  while (avail > 0) {
    while (root >= 0 && load<i64>(a + (<usize>root << 3)) == depth) {
      used++;
      root--;
    }
    while (avail > used) {
      store<i64>(a + (<usize>(next--) << 3), depth);
      avail--;
    }
    avail = 2 * used;
    depth++;
    used = 0;
  }
}

/** Restores Kraft's equality after the lengths over maxBits were counted as maxBits. */
function limitLengths(maxBits: i32): void {
  let kraft: i32 = 0;
  for (let len = maxBits; len >= 1; len--) kraft += load<i32>(perLength + (<usize>len << 2)) << (maxBits - len);
  while (kraft > 1 << maxBits) {
    const last = perLength + (<usize>maxBits << 2);
    store<i32>(last, load<i32>(last) - 1);
    for (let len = maxBits - 1; len >= 1; len--) {
      const at = perLength + (<usize>len << 2);
      if (load<i32>(at) > 0) {
        store<i32>(at, load<i32>(at) - 1);
        store<i32>(at, load<i32>(at, 4) + 2, 4);
        break;
      }
    }
    kraft--;
  }
}

/**
 * The canonical codes of `lengths` (u8[n]) into `codes` (u32[n]), each `length << 16 | code`, the
 * code bit-reversed because DEFLATE sends Huffman codes MSB first into an LSB-first stream.
 */
export function canonicalCodes(lengths: usize, n: i32, codes: usize): void {
  memory.fill(perLength, 0, 64);
  for (let s = 0; s < n; s++) {
    const at = perLength + (<usize>load<u8>(lengths + <usize>s) << 2);
    store<i32>(at, load<i32>(at) + 1);
  }
  store<i32>(perLength, 0);
  // perLength becomes the next code of each length
  let code: i32 = 0;
  let below: i32 = 0;
  for (let len = 1; len < 16; len++) {
    const at = perLength + (<usize>len << 2);
    code = (code + below) << 1;
    below = load<i32>(at);
    store<i32>(at, code);
  }
  for (let s = 0; s < n; s++) {
    const len = <i32>load<u8>(lengths + <usize>s);
    let r: u32 = 0;
    if (len) {
      const at = perLength + (<usize>len << 2);
      let c = load<i32>(at);
      store<i32>(at, c + 1);
      for (let b = 0; b < len; b++) {
        r = (r << 1) | <u32>(c & 1);
        c >>= 1;
      }
    }
    store<u32>(codes + (<usize>s << 2), (<u32>len << 16) | r);
  }
}
