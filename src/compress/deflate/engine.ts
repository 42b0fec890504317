/**
 * The encoder itself is WebAssembly (wasm/engine.ts, built by scripts/build.js into
 * engine-binary.ts, which is not committed): one instance per input holds the input, its match
 * table, the parses, the blocks and the output in its own memory, all freed with it. A whole
 * deflate is three calls into it, so cold JavaScript and V8's generic JS-to-WebAssembly call
 * wrapper cost nothing worth measuring in a fresh process (issue 10).
 */
import { ENGINE_WASM } from './engine-binary.js';

export interface MatchSearch {
  /** Chain links followed per position: the time/size trade of a level. */
  depth: number;
  /** A match this long is taken as found: the search stops and the positions it covers are only indexed. */
  nice: number;
}

export interface EngineParams {
  search: MatchSearch;
  /** Re-parses per block at most. */
  passes: number;
  /** Items per segment before the block split merges them (wasm/split.ts). */
  segment: number;
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
  }
}

interface Exports {
  memory: WebAssembly.Memory;
  prepare(size: number, segment: number): number;
  deflate(depth: number, nice: number, passes: number, segment: number): number;
  output(): number;
}

let compiled: WebAssembly.Module | undefined;

/** Raw DEFLATE of `data` with these parameters. */
export function runEngine(data: Uint8Array, params: EngineParams): Uint8Array {
  compiled ??= new WebAssembly.Module(Buffer.from(ENGINE_WASM, 'base64'));
  const wasm = new WebAssembly.Instance(compiled).exports as Exports;
  const at = wasm.prepare(data.length, params.segment);
  new Uint8Array(wasm.memory.buffer).set(data, at);
  const length = wasm.deflate(params.search.depth, params.search.nice, params.passes, params.segment);
  // a copy, so that the instance and its memory can go
  return new Uint8Array(wasm.memory.buffer, wasm.output(), length).slice();
}
