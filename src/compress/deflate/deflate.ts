/**
 * The project's DEFLATE encoder (issue 10). Both levels run the same pipeline (wasm/engine.ts):
 * find matches once, parse the whole input greedily, split it into blocks where the statistics
 * change, then re-parse each block under the prices of its own previous parse until that stops
 * paying. `max` searches deeper and re-parses more often. Integer prices and fixed tie-breaks make
 * the output a function of the input alone: the same bytes on every Node, OS and CPU.
 */
import { runEngine, type EngineParams } from './engine.js';

export type DeflateLevel = 'default' | 'max';

export type LevelParams = EngineParams;

const LEVELS: Record<DeflateLevel, LevelParams> = {
  // measured on a 1 MiB real-code image (bench/real-code.js): 0.995x GNU gzip -9; depth 12 gives
  // 0.992x for a fifth more time, more passes gain < 0.1 %
  default: { search: { depth: 8, nice: 24 }, passes: 1, segment: 8192 },
  // 0.984x; a deeper search or more passes gain < 0.1 % for 1.5-2x the time
  max: { search: { depth: 256, nice: 258 }, passes: 3, segment: 4096 },
};

/** Raw DEFLATE (RFC 1951) of `data`. */
export function deflateRaw(data: Uint8Array, level: DeflateLevel = 'default'): Uint8Array {
  return deflateWith(data, LEVELS[level]);
}

/** deflateRaw with explicit parameters (what the levels are tuned with). */
export function deflateWith(data: Uint8Array, params: LevelParams): Uint8Array {
  return runEngine(data, params);
}
