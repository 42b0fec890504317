/**
 * What the encoder's blocks look like from the outside (issue 10): the Huffman codes a dynamic
 * header sends are length-limited and complete, the header is as short as its fields allow, and
 * each block type comes out where it is the smallest. Read back with a small header decoder of
 * our own, as an inflater would.
 */
import { inflateRawSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { deflateRaw, type DeflateLevel } from '../src/compress/deflate/deflate.js';
import { makeImage, prng } from '../src/image/image.js';

const LEVELS: DeflateLevel[] = ['default', 'max'];
const CODE_LENGTH_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/** Reads DEFLATE's LSB-first bit fields. */
class Bits {
  private at = 0;
  constructor(private readonly bytes: Uint8Array) {}
  read(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++, this.at++) v |= ((this.bytes[this.at >> 3]! >> (this.at & 7)) & 1) << i;
    return v;
  }
  /** Moves to the next byte boundary (a stored block's length field). */
  align(): void {
    this.at = (this.at + 7) & ~7;
  }
  /** Bytes read, the last one perhaps in part. */
  get bytesUsed(): number {
    return (this.at + 7) >> 3;
  }
  skipBytes(n: number): void {
    this.at += 8 * n;
  }
  /** One symbol of `code` (Huffman codes are sent most significant bit first). */
  decode(code: Code): number {
    let value = 0;
    let first = 0;
    let index = 0;
    for (let len = 1; len <= 15; len++) {
      value |= this.read(1);
      const count = code.perLength[len]!;
      if (value - first < count) return code.symbols[index + value - first]!;
      index += count;
      first = (first + count) << 1;
      value <<= 1;
    }
    throw new Error('no such code');
  }
}

/** A canonical code for decoding: how many codes of each length, and the symbols in code order. */
interface Code {
  perLength: number[];
  symbols: number[];
}

function canonical(lengths: number[]): Code {
  const perLength = new Array<number>(16).fill(0);
  for (const l of lengths) if (l) perLength[l]++;
  const symbols = lengths.map((l, s) => [l, s] as const).filter(([l]) => l > 0).sort((a, b) => a[0] - b[0] || a[1] - b[1]).map(([, s]) => s);
  return { perLength, symbols };
}

interface Block {
  final: number;
  /** 0 stored, 1 fixed code, 2 dynamic code. */
  type: number;
  /** Stored blocks: their length. */
  length?: number;
  /** Dynamic blocks: the header's fields. */
  litlen?: number[];
  dist?: number[];
  codeLengthLengths?: number[];
  hclen?: number;
  /** Huffman blocks: how often the data uses each literal/length symbol. */
  counts?: number[];
}

const FIXED_LITLEN = Array.from({ length: 288 }, (_, s) => (s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8));

/** Every block of a raw DEFLATE stream, its data decoded only as far as counting symbols. */
function readBlocks(raw: Uint8Array): Block[] {
  const bits = new Bits(raw);
  const blocks: Block[] = [];
  for (;;) {
    const block: Block = { final: bits.read(1), type: bits.read(2) };
    blocks.push(block);
    if (block.type === 0) {
      bits.align();
      block.length = bits.read(16);
      expect(bits.read(16)).toBe(~block.length & 0xffff);
      bits.skipBytes(block.length);
    } else {
      expect(block.type === 1 || block.type === 2).toBe(true);
      const [litlen, dist] = block.type === 1 ? [FIXED_LITLEN, new Array<number>(32).fill(5)] : readHeader(bits, block);
      block.counts = countSymbols(bits, canonical(litlen), canonical(dist));
    }
    if (block.final) break;
  }
  expect(bits.bytesUsed).toBe(raw.length);
  return blocks;
}

function readHeader(bits: Bits, block: Block): [number[], number[]] {
  const hlit = bits.read(5) + 257;
  const hdist = bits.read(5) + 1;
  const hclen = bits.read(4) + 4;
  const codeLengthLengths = new Array<number>(19).fill(0);
  for (let i = 0; i < hclen; i++) codeLengthLengths[CODE_LENGTH_ORDER[i]!] = bits.read(3);
  const codeLengthCode = canonical(codeLengthLengths);
  const lengths: number[] = [];
  while (lengths.length < hlit + hdist) {
    const s = bits.decode(codeLengthCode);
    if (s < 16) lengths.push(s);
    else if (s === 16) lengths.push(...new Array<number>(3 + bits.read(2)).fill(lengths.at(-1)!));
    else lengths.push(...new Array<number>(s === 17 ? 3 + bits.read(3) : 11 + bits.read(7)).fill(0));
  }
  expect(lengths.length).toBe(hlit + hdist);
  Object.assign(block, { litlen: lengths.slice(0, hlit), dist: lengths.slice(hlit), codeLengthLengths, hclen });
  return [block.litlen!, block.dist!];
}

/** How often a block's data uses each literal/length symbol (extra bits skipped). */
function countSymbols(bits: Bits, litlen: Code, dist: Code): number[] {
  const counts = new Array<number>(286).fill(0);
  for (;;) {
    const s = bits.decode(litlen);
    counts[s]++;
    if (s === 256) return counts;
    if (s > 256) {
      bits.read(s >= 265 && s < 285 ? (s - 261) >> 2 : 0);
      const d = bits.decode(dist);
      bits.read(d < 4 ? 0 : (d >> 1) - 1);
    }
  }
}

/** The longest code an unlimited Huffman code for these counts has (two-queue merging). */
function huffmanDepth(counts: number[]): number {
  const leaves = counts.filter((c) => c > 0).sort((a, b) => a - b).map((weight) => ({ weight, depth: 0 }));
  const merged: Array<{ weight: number; depth: number }> = [];
  const take = () => (merged.length && (!leaves.length || merged[0]!.weight < leaves[0]!.weight) ? merged.shift()! : leaves.shift()!);
  while (leaves.length + merged.length > 1) {
    const a = take();
    const b = take();
    merged.push({ weight: a.weight + b.weight, depth: Math.max(a.depth, b.depth) + 1 });
  }
  return take().depth;
}

/** Kraft's sum of a code in units of 2^-maxBits: exactly 2^maxBits for a complete code. */
function kraft(lengths: number[], maxBits: number): number {
  return lengths.reduce((sum, l) => sum + (l ? 2 ** (maxBits - l) : 0), 0);
}

/** Shuffled bytes, value v occurring 2^(18 - v) times: after the parse, its first block still needs codes deeper than 15 bits. */
function geometricBytes(): Uint8Array {
  const out = new Uint8Array(2 ** 19 - 1);
  let at = 0;
  for (let v = 0; v <= 18; v++) out.fill(v * 13, at, (at += 2 ** (18 - v)));
  const order = prng('geometric shuffle', 4 * out.length);
  const view = new DataView(order.buffer, order.byteOffset, order.length);
  for (let i = out.length - 1; i > 0; i--) {
    const j = view.getUint32(4 * i) % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe('dynamic headers', () => {
  test.each(LEVELS)('%s: a skewed alphabet whose best codes would be deeper gets codes of 15 bits at most, all complete', (level) => {
    const data = geometricBytes();
    const raw = deflateRaw(data, level);
    expect(Buffer.from(inflateRawSync(raw)).equals(Buffer.from(data))).toBe(true);
    const blocks = readBlocks(raw);
    expect(blocks.every((b) => b.type === 2)).toBe(true);
    for (const b of blocks) {
      expect(Math.max(...b.litlen!)).toBeLessThanOrEqual(15);
      expect(kraft(b.litlen!, 15)).toBe(2 ** 15);
      expect(kraft(b.dist!, 15)).toBe(2 ** 15);
      expect(Math.max(...b.codeLengthLengths!)).toBeLessThanOrEqual(7);
      expect(kraft(b.codeLengthLengths!, 7)).toBe(2 ** 7);
    }
    // the length limit was needed, and its codes reach it
    const limited = blocks.filter((b) => huffmanDepth(b.counts!) > 15);
    expect(limited.length).toBeGreaterThan(0);
    for (const b of limited) expect(Math.max(...b.litlen!)).toBe(15);
  });

  test.each(LEVELS)('%s: firmware gets headers whose counts are as short as the code lengths allow', (level) => {
    const blocks = readBlocks(deflateRaw(makeImage({ size: 300_000, label: 'dynamic header' }), level));
    expect(blocks.filter((b) => b.type === 2).length).toBeGreaterThan(0);
    for (const b of blocks.filter((x) => x.type === 2)) {
      expect(b.litlen![256]).toBeGreaterThan(0);
      expect(b.litlen!.length === 257 || b.litlen!.at(-1)! > 0).toBe(true);
      expect(b.dist!.length === 1 || b.dist!.at(-1)! > 0).toBe(true);
      expect(b.hclen === 4 || b.codeLengthLengths![CODE_LENGTH_ORDER[b.hclen! - 1]!]! > 0).toBe(true);
      for (const code of [b.litlen!, b.dist!]) expect(kraft(code, 15)).toBe(2 ** 15);
    }
  });

  test('a block without matches still sends a complete distance code of two symbols', () => {
    // eight letters, no three in a row twice: nothing for the match finder, but worth a code of its own
    const data: number[] = [97, 97];
    const seen = new Set<number>();
    while (data.length < 290) {
      const next = [0, 1, 2, 3, 4, 5, 6, 7].map((k) => 97 + ((k + data.length) % 8)).find((c) => !seen.has((data.at(-2)! << 16) | (data.at(-1)! << 8) | c));
      if (next === undefined) break;
      seen.add((data.at(-2)! << 16) | (data.at(-1)! << 8) | next);
      data.push(next);
    }
    expect(data.length).toBe(290);
    const raw = deflateRaw(Uint8Array.from(data));
    expect(Buffer.from(inflateRawSync(raw)).equals(Buffer.from(data))).toBe(true);
    const [block] = readBlocks(raw);
    expect(block!.type).toBe(2);
    expect(block!.counts!.slice(257).every((c) => c === 0)).toBe(true);
    expect(block!.dist!.filter((l) => l > 0).length).toBe(2);
    expect(kraft(block!.dist!, 15)).toBe(2 ** 15);
  });
});

describe('block types', () => {
  test.each(LEVELS)('%s: three bytes go out as one final fixed-code block', (level) => {
    expect(readBlocks(deflateRaw(Uint8Array.of(1, 2, 3), level))).toEqual([{ final: 1, type: 1, counts: expect.any(Array) }]);
  });

  test.each(LEVELS)('%s: random bytes go out as stored blocks of at most 65 535 bytes', (level) => {
    const data = prng('stored blocks', 65537);
    const raw = deflateRaw(data, level);
    const blocks = readBlocks(raw);
    expect(blocks.every((b) => b.type === 0 && b.length! <= 65535)).toBe(true);
    expect(blocks.reduce((sum, b) => sum + b.length!, 0)).toBe(data.length);
    if (level === 'default') expect(blocks.map((b) => b.length)).toEqual([65535, 2]);
    expect(Buffer.from(inflateRawSync(raw)).equals(Buffer.from(data))).toBe(true);
  });

  test('no input is one final fixed-code block holding only its end', () => {
    const raw = deflateRaw(new Uint8Array(0));
    expect(raw.length).toBe(2);
    const [block] = readBlocks(raw);
    expect(block).toMatchObject({ final: 1, type: 1 });
    expect(block!.counts!.reduce((a, b) => a + b, 0)).toBe(1);
  });
});
