/**
 * The WebAssembly half of the encoder (wasm/engine.ts, built by scripts/build.js into
 * engine-binary.ts, which is not committed): one instance per input, holding the input, its match
 * table and the parser's scratch in its own memory, freed with it.
 */
import { ENGINE_WASM } from './engine-binary.js';
import type { CostModel } from './cost.js';
import { emptyStats, type SymbolStats } from './stats.js';

export interface MatchSearch {
  /** Chain links followed per position: the time/size trade of a level. */
  depth: number;
  /** A match this long is taken as found: the search stops and the positions it covers are only indexed. */
  nice: number;
}

interface Exports {
  memory: WebAssembly.Memory;
  findMatches(data: number, n: number, from: number, to: number, depth: number, nice: number, start: number, matches: number, capacity: number, head: number, prev: number, state: number): void;
  countSymbols(items: number, count: number, litlen: number, dist: number): void;
  cheapestParse(data: number, from: number, to: number, start: number, matches: number, literal: number, length: number, distance: number, cost: number, choice: number, items: number): number;
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

let compiled: WebAssembly.Module | undefined;

/** Matches recorded per input byte at most (the table's size); deterministic, as it depends on the input alone. */
const MATCHES_PER_BYTE = 6;
/** Input bytes per findMatches call: after the first calls V8 runs the optimised code. */
const FIND_CHUNK = 1 << 16;

export class MatchEngine {
  private readonly wasm: Exports;
  private readonly at: Record<'data' | 'start' | 'matches' | 'literal' | 'length' | 'distance' | 'cost' | 'choice' | 'items' | 'litlen' | 'dist', number>;

  /** Copies `data` in and finds its matches. */
  constructor(data: Uint8Array, search: MatchSearch) {
    compiled ??= new WebAssembly.Module(Buffer.from(ENGINE_WASM, 'base64'));
    this.wasm = new WebAssembly.Instance(compiled).exports as unknown as Exports;
    const n = data.length;
    const capacity = MATCHES_PER_BYTE * n + 1024;
    let end = 1024;
    const take = (bytes: number) => {
      const from = end;
      end += (bytes + 7) & ~7;
      return from;
    };
    this.at = {
      data: take(n), start: take(4 * (n + 1)), matches: take(4 * capacity),
      literal: take(8 * 256), length: take(8 * 259), distance: take(8 * 30),
      cost: take(8 * (n + 1)), choice: take(4 * (n + 1)), items: take(4 * (n + 1)),
      litlen: take(4 * 286), dist: take(4 * 30),
    };
    const head = take(4 << 16);
    const prev = take(4 * 32768);
    const state = take(8);
    this.wasm.memory.grow(Math.ceil(end / 65536) - this.wasm.memory.buffer.byteLength / 65536);
    new Uint8Array(this.wasm.memory.buffer, this.at.data, n).set(data);
    for (let from = 0; from < n || from === 0; from += FIND_CHUNK) {
      this.wasm.findMatches(this.at.data, n, from, Math.min(n, from + FIND_CHUNK), search.depth, search.nice, this.at.start, this.at.matches, capacity, head, prev, state);
    }
  }

  /** The items (stats.ts) of the cheapest parse of data[from, to) under `model`. */
  cheapestParse(from: number, to: number, model: CostModel): Uint32Array {
    const { memory } = this.wasm;
    new Float64Array(memory.buffer, this.at.literal, 256).set(model.literal);
    new Float64Array(memory.buffer, this.at.length, 259).set(model.length);
    new Float64Array(memory.buffer, this.at.distance, 30).set(model.distance);
    const a = this.at;
    const count = this.wasm.cheapestParse(a.data, from, to, a.start, a.matches, a.literal, a.length, a.distance, a.cost, a.choice, a.items);
    return new Uint32Array(memory.buffer, a.items, count).slice();
  }

  /** The symbol counts of `items`, with the end-of-block symbol. */
  statsOf(items: Uint32Array): SymbolStats {
    const { memory } = this.wasm;
    new Uint32Array(memory.buffer, this.at.items, items.length).set(items);
    this.wasm.countSymbols(this.at.items, items.length, this.at.litlen, this.at.dist);
    const stats = emptyStats();
    stats.litlen.set(new Uint32Array(memory.buffer, this.at.litlen, 286));
    stats.dist.set(new Uint32Array(memory.buffer, this.at.dist, 30));
    return stats;
  }
}
