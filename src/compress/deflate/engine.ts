/**
 * The WebAssembly half of the encoder (wasm/engine.ts, built by scripts/build.js into
 * engine-binary.ts, which is not committed): one instance per input, holding the input, its match
 * table, the parser's scratch and the output in its own memory, all freed with it. Long loops are
 * fed in 16 KiB steps: WebAssembly has no on-stack replacement, so a single long call would run
 * V8's baseline code from start to end, while later calls get the optimised code.
 */
import type { CostModel } from './cost.js';
import { ENGINE_WASM } from './engine-binary.js';
import { emptyStats, type SymbolStats } from './stats.js';
import { END_OF_BLOCK } from './symbols.js';

export interface MatchSearch {
  /** Chain links followed per position: the time/size trade of a level. */
  depth: number;
  /** A match this long is taken as found: the search stops and the positions it covers are only indexed. */
  nice: number;
}

// lib ES2022 has no WebAssembly types (they come with the DOM's); the little this module uses:
declare namespace WebAssembly {
  class Module {
    constructor(bytes: Uint8Array);
  }
  class Instance {
    constructor(module: Module);
    readonly exports: unknown;
  }
  interface Memory {
    readonly buffer: ArrayBuffer;
    grow(pages: number): number;
  }
}

interface Exports {
  memory: WebAssembly.Memory;
  findMatches(data: number, n: number, from: number, to: number, depth: number, nice: number, start: number, matches: number, capacity: number, head3: number, head: number, prev: number, state: number): void;
  greedyParse(data: number, from: number, to: number, start: number, matches: number, items: number): number;
  parseBegin(cost: number, from: number, to: number): void;
  parseRange(data: number, from: number, n: number, i0: number, i1: number, start: number, matches: number, literal: number, length: number, distance: number, cost: number, choice: number): void;
  parseEnd(n: number, choice: number, items: number): number;
  countSymbols(items: number, count: number, litlen: number, dist: number): void;
  putBits(w: number, value: number, n: number): void;
  putItems(w: number, items: number, count: number, codes: number): void;
}

/** Matches recorded per input byte at most (the table's size; 0.7 at default and 0.9 at max on real code); past it, later positions get none: a cost in size only, and the same on every machine. */
const MATCHES_PER_BYTE = 2;
const STEP = 1 << 14;

let compiled: WebAssembly.Module | undefined;

type Region = 'data' | 'start' | 'matches' | 'literal' | 'length' | 'distance' | 'cost' | 'choice' | 'items' | 'litlen' | 'dist' | 'codes' | 'writer' | 'out';

export class Engine {
  private readonly wasm: Exports;
  private readonly at: Record<Region, number>;
  private readonly n: number;

  /** Copies `data` in and finds its matches. */
  constructor(data: Uint8Array, search: MatchSearch) {
    compiled ??= new WebAssembly.Module(Buffer.from(ENGINE_WASM, 'base64'));
    this.wasm = new WebAssembly.Instance(compiled).exports as unknown as Exports;
    const n = (this.n = data.length);
    const capacity = MATCHES_PER_BYTE * n + 1024;
    let end = 1024;
    const take = (bytes: number) => {
      const from = end;
      end += (bytes + 7) & ~7;
      return from;
    };
    this.at = {
      data: take(n), start: take(4 * (n + 1)), matches: take(4 * capacity),
      literal: take(4 * 256), length: take(4 * 259), distance: take(4 * 30),
      cost: take(4 * (n + 1)), choice: take(4 * (n + 1)), items: take(4 * (n + 1)),
      litlen: take(4 * 286), dist: take(4 * 30), codes: take(4 * 320), writer: take(16),
      // stored blocks are the worst case: 5 bytes per 64 KiB beyond the input itself
      out: take(n + 5 * Math.ceil(n / 65535) + 1024),
    };
    const head3 = take(4 << 15);
    const head = take(4 << 16);
    const prev = take(4 * 32768);
    const state = take(8);
    this.wasm.memory.grow(Math.ceil(end / 65536) - this.wasm.memory.buffer.byteLength / 65536);
    this.bytes().set(data, this.at.data);
    new Uint32Array(this.wasm.memory.buffer, this.at.writer, 4).set([this.at.out, 0, 0, 0]);
    for (let from = 0; from < n; from += STEP) {
      this.wasm.findMatches(this.at.data, n, from, Math.min(n, from + STEP), search.depth, search.nice, this.at.start, this.at.matches, capacity, head3, head, prev, state);
    }
  }

  /** The items (stats.ts) of the greedy parse of the whole input: the longest match wherever there is one. */
  greedyParse(): Uint32Array {
    const a = this.at;
    const count = this.wasm.greedyParse(a.data, 0, this.n, a.start, a.matches, a.items);
    return new Uint32Array(this.wasm.memory.buffer, a.items, count).slice();
  }

  /** The items (stats.ts) of the cheapest parse of data[from, to) under `model`. */
  cheapestParse(from: number, to: number, model: CostModel): Uint32Array {
    const { memory } = this.wasm;
    const a = this.at;
    new Int32Array(memory.buffer, a.literal, 256).set(model.literal);
    new Int32Array(memory.buffer, a.length, 259).set(model.length);
    new Int32Array(memory.buffer, a.distance, 30).set(model.distance);
    const n = to - from;
    for (let i = 0; i <= n; i += STEP) this.wasm.parseBegin(a.cost, i, Math.min(n + 1, i + STEP));
    for (let i = 0; i < n; i += STEP) this.wasm.parseRange(a.data, from, n, i, Math.min(n, i + STEP), a.start, a.matches, a.literal, a.length, a.distance, a.cost, a.choice);
    const first = this.wasm.parseEnd(n, a.choice, a.items);
    return new Uint32Array(memory.buffer, a.items + 4 * first, n - first).slice();
  }

  /** The symbol counts of `items`, with the end-of-block symbol (counted in 16 KiB steps, as the other loops). */
  statsOf(items: Uint32Array): SymbolStats {
    const { memory } = this.wasm;
    const a = this.at;
    new Uint32Array(memory.buffer, a.items, items.length).set(items);
    new Uint32Array(memory.buffer, a.litlen, 286).fill(0);
    new Uint32Array(memory.buffer, a.dist, 30).fill(0);
    for (let i = 0; i < items.length; i += STEP) this.wasm.countSymbols(a.items + 4 * i, Math.min(STEP, items.length - i), a.litlen, a.dist);
    const stats = emptyStats();
    stats.litlen.set(new Uint32Array(memory.buffer, a.litlen, 286));
    stats.dist.set(new Uint32Array(memory.buffer, a.dist, 30));
    stats.litlen[END_OF_BLOCK] = 1;
    return stats;
  }

  /** Appends the low `n` (≤ 24) bits of `value` to the output. */
  put(value: number, n: number): void {
    this.wasm.putBits(this.at.writer, value, n);
  }

  /** Pads the output to a byte boundary with zero bits (stored blocks' data starts there). */
  alignToByte(): void {
    const pending = new Uint32Array(this.wasm.memory.buffer, this.at.writer, 4)[3]!;
    if (pending) this.put(0, 8 - pending);
  }

  /** Appends input bytes [from, to) verbatim; the output must be byte-aligned. */
  putInput(from: number, to: number): void {
    const w = new Uint32Array(this.wasm.memory.buffer, this.at.writer, 4);
    this.bytes().copyWithin(this.at.out + w[1]!, this.at.data + from, this.at.data + to);
    w[1] = w[1]! + (to - from);
  }

  /** Appends `items` coded with `codes` (lengths and bit-reversed codes per symbol: literal/length, then distance). */
  putItems(items: Uint32Array, lengths: Uint8Array, codes: Uint16Array, distLengths: Uint8Array, distCodes: Uint16Array): void {
    const table = new Uint32Array(this.wasm.memory.buffer, this.at.codes, 320);
    for (let s = 0; s < lengths.length; s++) table[s] = (lengths[s]! << 16) | codes[s]!;
    for (let s = 0; s < distLengths.length; s++) table[288 + s] = (distLengths[s]! << 16) | distCodes[s]!;
    new Uint32Array(this.wasm.memory.buffer, this.at.items, items.length).set(items);
    for (let i = 0; i < items.length; i += STEP) this.wasm.putItems(this.at.writer, this.at.items + 4 * i, Math.min(STEP, items.length - i), this.at.codes);
  }

  /** The output so far, its last byte padded with zero bits; a copy, so the instance can go. */
  output(): Uint8Array {
    this.alignToByte();
    const w = new Uint32Array(this.wasm.memory.buffer, this.at.writer, 4);
    return this.bytes().slice(this.at.out, this.at.out + w[1]!);
  }

  private bytes(): Uint8Array {
    return new Uint8Array(this.wasm.memory.buffer);
  }
}
