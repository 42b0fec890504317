// The bit stream (RFC 1951 §3.1.1: bits fill each byte from its least significant end). One
// stream per instance: the output's address, the bytes written, and the pending bits (< 8 between
// calls).

import { distSymbol, lengthSymbol, MAX_MATCH } from './symbols';

let out: usize = 0;
let written: u32 = 0;
let pending: u32 = 0;
let pendingBits: u32 = 0;

export function startOutput(at: usize): void {
  out = at;
  written = 0;
  pending = 0;
  pendingBits = 0;
}

export function outputLength(): u32 {
  return written;
}

/** Appends the low `n` (≤ 24) bits of `value`. */
export function putBits(value: u32, n: u32): void {
  let acc = pending | (value << pendingBits);
  let count = pendingBits + n;
  let at = out + <usize>written;
  while (count >= 8) {
    store<u8>(at++, <u8>acc);
    acc >>= 8;
    count -= 8;
  }
  written = <u32>(at - out);
  pending = acc;
  pendingBits = count;
}

/** Pads to a byte boundary with zero bits (stored blocks' data, and the end of the stream). */
export function alignToByte(): void {
  if (pendingBits) putBits(0, 8 - pendingBits);
}

/** Appends `n` bytes from `from` verbatim; the stream must be byte-aligned. */
export function putBytes(from: usize, n: u32): void {
  memory.copy(out + <usize>written, from, n);
  written += n;
}

/**
 * Appends `count` items (parse.ts) coded with `codes`: u32[288 + 32], each `length << 16 |
 * bit-reversed code`, literal/length symbols first, then distance symbols.
 */
export function putItems(items: usize, count: i32, codes: usize): void {
  let acc: u64 = <u64>pending;
  let bits: u32 = pendingBits;
  let at = out + <usize>written;
  for (let i: i32 = 0; i < count; i++) {
    const item = load<u32>(items + (<usize>i << 2));
    if (item < 256) {
      const c = load<u32>(codes + (<usize>item << 2));
      acc |= <u64>(c & 0xffff) << bits;
      bits += c >> 16;
    } else {
      const l = <i32>(item >> 16);
      const c = load<u32>(codes + (<usize>lengthSymbol(l) << 2));
      acc |= <u64>(c & 0xffff) << bits;
      bits += c >> 16;
      if (l >= 11 && l < MAX_MATCH) {
        const e = 29 - clz(l - 3);
        acc |= <u64>((l - 3) & ((1 << e) - 1)) << bits;
        bits += <u32>e;
      }
      const d = <i32>(item & 0xffff);
      const dc = load<u32>(codes + (<usize>(288 + distSymbol(d)) << 2));
      acc |= <u64>(dc & 0xffff) << bits;
      bits += dc >> 16;
      if (d > 4) {
        const e = 30 - clz(d - 1);
        acc |= <u64>((d - 1) & ((1 << e) - 1)) << bits;
        bits += <u32>e;
      }
    }
    while (bits >= 8) {
      store<u8>(at++, <u8>acc);
      acc >>= 8;
      bits -= 8;
    }
  }
  written = <u32>(at - out);
  pending = <u32>acc;
  pendingBits = bits;
}
