/**
 * Length-limited Huffman codes. Lengths come from Moffat and Katajainen's in-place method on the
 * frequencies sorted by (frequency, symbol), so equal inputs always give equal codes; lengths over
 * the limit are folded back by moving leaves down the tree until Kraft's sum is exact again.
 * Every code built here has at least two symbols and is complete, which every inflater (zlib,
 * GNU gzip, eboot's uzlib) decodes without special cases.
 */

/** Code lengths for `freqs` (0 = symbol unused), none longer than `maxBits`. */
export function codeLengths(freqs: ArrayLike<number>, maxBits: number): Uint8Array {
  const n = freqs.length;
  const lengths = new Uint8Array(n);
  let used = 0;
  for (let s = 0; s < n; s++) if (freqs[s]! > 0) used++;
  // two symbols at least, so that each gets a 1-bit code rather than an incomplete 0-bit one
  const keys = new Float64Array(Math.max(2, used));
  let count = 0;
  for (let s = 0; s < n; s++) if (freqs[s]! > 0) keys[count++] = freqs[s]! * 1024 + s;
  for (let s = 0; count < 2 && s < n; s++) if (!(freqs[s]! > 0)) keys[count++] = s;
  // a typed array sorts by value: (frequency, symbol) order, the same on every engine
  keys.sort();
  const a = new Float64Array(count);
  for (let i = 0; i < count; i++) a[i] = Math.floor(keys[i]! / 1024);
  minimumRedundancy(a);
  const perLength = new Int32Array(Math.max(maxBits, 64) + 1);
  for (let i = 0; i < count; i++) perLength[Math.min(a[i]!, maxBits)]++;
  limitLengths(perLength, maxBits);
  // the rarest symbols take the longest codes
  let i = 0;
  for (let len = maxBits; len >= 1; len--) {
    for (let c = perLength[len]!; c > 0; c--) lengths[keys[i++]! % 1024] = len;
  }
  return lengths;
}

/** In place: weights sorted ascending become code lengths (a[0] the longest). */
function minimumRedundancy(a: Float64Array): void {
  const n = a.length;
  if (n === 1) {
    a[0] = 1;
    return;
  }
  a[0] = a[0]! + a[1]!;
  let root = 0;
  let leaf = 2;
  for (let next = 1; next < n - 1; next++) {
    if (leaf >= n || a[root]! < a[leaf]!) {
      a[next] = a[root]!;
      a[root++] = next;
    } else a[next] = a[leaf++]!;
    if (leaf >= n || (root < next && a[root]! < a[leaf]!)) {
      a[next] = a[next]! + a[root]!;
      a[root++] = next;
    } else a[next] = a[next]! + a[leaf++]!;
  }
  a[n - 2] = 0;
  for (let next = n - 3; next >= 0; next--) a[next] = a[a[next]!]! + 1;
  let avail = 1;
  let used = 0;
  let depth = 0;
  root = n - 2;
  let next = n - 1;
  while (avail > 0) {
    while (root >= 0 && a[root] === depth) {
      used++;
      root--;
    }
    while (avail > used) {
      a[next--] = depth;
      avail--;
    }
    avail = 2 * used;
    depth++;
    used = 0;
  }
}

/** Folds every code longer than maxBits into maxBits, then restores Kraft's equality. */
function limitLengths(perLength: Int32Array, maxBits: number): void {
  for (let len = maxBits + 1; len < perLength.length; len++) {
    perLength[maxBits] += perLength[len]!;
    perLength[len] = 0;
  }
  let kraft = 0;
  for (let len = maxBits; len >= 1; len--) kraft += perLength[len]! * 2 ** (maxBits - len);
  while (kraft > 2 ** maxBits) {
    perLength[maxBits]--;
    for (let len = maxBits - 1; len >= 1; len--) {
      if (perLength[len]! > 0) {
        perLength[len]--;
        perLength[len + 1] += 2;
        break;
      }
    }
    kraft--;
  }
}

/** Canonical codes for `lengths`, bit-reversed because DEFLATE sends Huffman codes MSB first into an LSB-first stream. */
export function canonicalCodes(lengths: Uint8Array): Uint16Array {
  const perLength = new Uint16Array(16);
  for (const l of lengths) perLength[l]++;
  perLength[0] = 0;
  const next = new Uint16Array(16);
  let code = 0;
  for (let len = 1; len < 16; len++) {
    code = (code + perLength[len - 1]!) << 1;
    next[len] = code;
  }
  const codes = new Uint16Array(lengths.length);
  for (let s = 0; s < lengths.length; s++) {
    const len = lengths[s]!;
    if (!len) continue;
    let c = next[len]++;
    let r = 0;
    for (let b = 0; b < len; b++) {
      r = (r << 1) | (c & 1);
      c >>= 1;
    }
    codes[s] = r;
  }
  return codes;
}
