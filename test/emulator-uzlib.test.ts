/** eboot's inflater (uzlib 27e4f4c) after the end of the deflate stream, on hand-made streams. */
import fc from 'fast-check';
import { gzipSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { runEboot } from '../src/emulator/eboot.js';
import { Flash } from '../src/emulator/flash.js';
import { profileFor } from '../src/emulator/profiles.js';
import { ACTION_COPY_RAW, encodeCommand } from '../src/emulator/rtc.js';
import { TINF_DATA_ERROR, TINF_DONE, TINF_OK, Uzlib, parseGzipHeader } from '../src/emulator/uzlib.js';

const bytes = (b: number[] | Uint8Array) => Uint8Array.from(b);
const source = (data: Uint8Array, after = 0xff) => {
  let at = 0;
  return { byte: () => (at < data.length ? data[at++]! : after) };
};
const stored = (final: boolean, data: Uint8Array) => bytes([final ? 1 : 0, data.length & 0xff, data.length >> 8, ~data.length & 0xff, (~data.length >> 8) & 0xff, ...data]);
const gzipHeader = bytes([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 255]);

describe('uzlib_uncompress after the final block', () => {
  test('a stored final block: the next call reads a new LEN/NLEN from what follows and copies those bytes', () => {
    const stream = Buffer.concat([stored(true, bytes([0x61, 0x62, 0x63])), bytes([2, 0, 0xfd, 0xff, 0x78, 0x79])]);
    const u = new Uzlib(source(stream));
    const out = new Uint8Array(8);
    expect(u.uncompress(out, 0, 8)).toEqual({ res: TINF_DONE, end: 3 });
    expect(u.uncompress(out, 3, 8)).toEqual({ res: TINF_DONE, end: 5 });
    expect(Buffer.from(out.subarray(0, 5)).toString('latin1')).toBe('abcxy');
  });

  test('a stored final block followed by a LEN/NLEN mismatch: TINF_DATA_ERROR (eboot: cp:6)', () => {
    const u = new Uzlib(source(Buffer.concat([stored(true, bytes([1])), bytes([5, 0, 5, 0])])));
    const out = new Uint8Array(4);
    expect(u.uncompress(out, 0, 4).res).toBe(TINF_DONE);
    expect(u.uncompress(out, 1, 4).res).toBe(TINF_DATA_ERROR);
  });

  test('a fixed-Huffman final block followed by erased flash: the tables stay, and the next code is decoded with them', () => {
    // 0x03 0x00 = BFINAL 1, BTYPE 01, end-of-block (seven zero bits); six zero bits are left, then
    // 0xFF: code 0000001 is length symbol 257, and distance code 11111 (31) is TINF_DATA_ERROR
    const u = new Uzlib(source(bytes([0x03, 0x00])));
    const out = new Uint8Array(4);
    expect(u.uncompress(out, 0, 4)).toEqual({ res: TINF_DONE, end: 0 });
    expect(u.uncompress(out, 0, 4).res).toBe(TINF_DATA_ERROR);
  });

  test('a non-final block ending does not return: the next block is started within the same call', () => {
    const stream = Buffer.concat([stored(false, bytes([1, 2])), stored(true, bytes([3]))]);
    const out = new Uint8Array(3);
    expect(new Uzlib(source(stream)).uncompress(out, 0, 3)).toEqual({ res: TINF_OK, end: 3 });
    expect([...out]).toEqual([1, 2, 3]);
  });

  test('the gzip header parse skips FEXTRA, FNAME, FCOMMENT and FHCRC and refuses reserved flags', () => {
    const all = bytes([0x1f, 0x8b, 8, 0x1e, 0, 0, 0, 0, 0, 3, 2, 0, 9, 9, 0x61, 0, 0x62, 0, 0xaa, 0xbb, 0x42]);
    const src = source(all);
    expect(parseGzipHeader(src)).toBe(true);
    expect(src.byte()).toBe(0x42);
    expect(parseGzipHeader(source(bytes([0x1f, 0x8b, 8, 0x20, 0, 0, 0, 0, 0, 3])))).toBe(false);
  });
});

describe('eboot copy_raw with a lying ISIZE', () => {
  /** A gzip whose stream holds one full sector and "abc"; its CRC field reads as a stored header for 2 more bytes. */
  function lyingGzip(isizeExtra: number): Buffer {
    const sector = Buffer.alloc(4096, 0x5a);
    const body = Buffer.concat([stored(false, sector), stored(true, bytes([0x61, 0x62, 0x63]))]);
    const isize = Buffer.alloc(4);
    isize.writeUInt32LE(4096 + 4096 + isizeExtra);
    return Buffer.concat([gzipHeader, body, bytes([2, 0, 0xfd, 0xff]), isize]);
  }

  test('short sectors keep the previous sector\'s bytes, and what follows the stream is copied as the next stored block', () => {
    const file = lyingGzip(2);
    const flash = new Flash(0x100000);
    flash.program(0x80000, file);
    const r = runEboot(flash, profileFor('3.1.2'), encodeCommand({ action: ACTION_COPY_RAW, args: [0x80000, 0x10000, file.length] }));
    expect(r).toMatchObject({ result: 0, pastStreamEnd: true, unpredictable: false, inflatedInOneCall: false, sectorsWritten: 3 });
    const f = flash.bytes;
    // sector 1: "abc", then the stale 0x5a of sector 0 in copy_raw's reused buffer
    expect(Buffer.from(f.subarray(0x11000, 0x11003)).toString('latin1')).toBe('abc');
    expect(f.subarray(0x11003, 0x12000).every((b) => b === 0x5a)).toBe(true);
    // sector 2: the two ISIZE bytes the "stored block" in the CRC field covers, then 0xFF
    expect([...f.subarray(0x12000, 0x12004)]).toEqual([0x02, 0x20, 0xff, 0xff]);
  });

  test('an ISIZE with bit 31 set is negative in copy_raw: nothing is copied, result 0', () => {
    const file = lyingGzip(0);
    file.writeUInt32LE(0x80000000, file.length - 4);
    const flash = new Flash(0x100000);
    flash.program(0x80000, file);
    const r = runEboot(flash, profileFor('3.1.2'), encodeCommand({ action: ACTION_COPY_RAW, args: [0x80000, 0x10000, file.length] }));
    expect(r).toMatchObject({ result: 0, sectorsWritten: 0 });
  });

  test('decoding past the stream never writes past the chip: the erase at its end fails (cp:2), in bounded time', () => {
    const file = lyingGzip(0);
    file.writeUInt32LE(0x7fffffff, file.length - 4);
    const flash = new Flash(0x100000);
    flash.program(0xf0000, file);
    const t = Date.now();
    const r = runEboot(flash, profileFor('3.1.2'), encodeCommand({ action: ACTION_COPY_RAW, args: [0xf0000, 0x80000, file.length] }));
    expect(Date.now() - t).toBeLessThan(5000);
    expect(r.result === 2 || r.result === 6).toBe(true);
  });
});

describe('the look-up decode is the bit-by-bit decode', () => {
  /** An array source; with `peek` the decoder uses its tables, without it uzlib's bit loop alone. */
  const arraySource = (data: Uint8Array, withPeek: boolean) => {
    let at = 0;
    const byte = () => (at < data.length ? data[at++]! : 0xff);
    return withPeek ? { byte, peek: (k: number) => (at + k < data.length ? data[at + k]! : -1) } : { byte };
  };
  const run = (stream: Uint8Array, withPeek: boolean, calls: number[]) => {
    const u = new Uzlib(arraySource(stream, withPeek));
    const out = new Uint8Array(calls.reduce((a, b) => a + b, 0));
    const codes: Array<{ res: number; end: number }> = [];
    let at = 0;
    for (const n of calls) {
      const r = u.uncompress(out, at, at + n);
      codes.push(r);
      if (r.res < 0) break;
      at += n;
    }
    return { out: Buffer.from(out), codes, undetermined: u.undetermined };
  };

  test('on mutated deflate streams, decoded on past their end in uneven windows, both give the same bytes and codes', () => {
    const base = gzipSync(Buffer.from('the same bytes and codes, '.repeat(300) + 'x'.repeat(2000)), { level: 6 }).subarray(10);
    fc.assert(
      fc.property(
        fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { maxLength: 4 }),
        fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 6 }),
        (edits, calls) => {
          const stream = Buffer.from(base);
          for (const e of edits) stream[e.at % stream.length] = e.value;
          expect(run(stream, true, calls)).toEqual(run(stream, false, calls));
        },
      ),
      { numRuns: 120 },
    );
  });
});
