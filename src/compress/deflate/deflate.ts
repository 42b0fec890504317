/**
 * The project's DEFLATE encoder (issue 10). Both levels run the same pipeline: find matches once,
 * parse the whole input greedily, split it into blocks where the statistics change, then re-parse
 * each block under the prices of its own previous parse until that stops paying.
 * `max` searches deeper and re-parses more often. Integer prices and fixed tie-breaks make the output
 * a function of the input alone: the same bytes on every Node, OS and CPU.
 */
import { planBlock, writeBlock, type BlockPlan } from './blocks.js';
import { modelFromStats } from './cost.js';
import { Engine, type MatchSearch } from './engine.js';
import { splitBlocks, type BlockRange } from './split.js';

export type DeflateLevel = 'default' | 'max';

export interface LevelParams {
  search: MatchSearch;
  /** Re-parses per block at most. */
  passes: number;
  /** Items per segment before merging (split.ts). */
  segment: number;
}

const LEVELS: Record<DeflateLevel, LevelParams> = {
  // measured on a 1 MiB real-code image (bench/real-code.js): 0.995x GNU gzip -9; depth 12 gives
  // 0.992x for a fifth more time, more passes gain < 0.1 %
  default: { search: { depth: 8, nice: 24 }, passes: 1, segment: 8192 },
  // 0.984x; a deeper search or more passes gain < 0.1 % for 1.5-2x the time
  max: { search: { depth: 256, nice: 258 }, passes: 3, segment: 4096 },
};

interface Block {
  range: BlockRange;
  items: Uint32Array;
  plan: BlockPlan;
}

/** Raw DEFLATE (RFC 1951) of `data`. */
export function deflateRaw(data: Uint8Array, level: DeflateLevel = 'default'): Uint8Array {
  return deflateWith(data, LEVELS[level]);
}

/** deflateRaw with explicit parameters (what the levels are tuned with). */
export function deflateWith(data: Uint8Array, params: LevelParams): Uint8Array {
  const engine = new Engine(data, params.search);
  // the greedy parse is only what the first split goes by; every block is parsed again whole
  const items = engine.greedyParse();
  const blocks = splitBlocks(items, params.segment, (run) => engine.statsOf(run)).map((range) => optimiseBlock(engine, items.subarray(range.itemFrom, range.itemTo), range, params.passes));
  blocks.forEach((b, i) => writeBlock(engine, b.plan, b.items, b.range.byteFrom, b.range.byteTo, i === blocks.length - 1));
  return engine.output();
}

function optimiseBlock(engine: Engine, first: Uint32Array, range: BlockRange, passes: number): Block {
  const rawLength = range.byteTo - range.byteFrom;
  let best = { items: first, plan: planBlock(engine.statsOf(first), rawLength) };
  let last = best.items;
  for (let pass = 0; pass < passes; pass++) {
    const items = engine.cheapestParse(range.byteFrom, range.byteTo, modelFromStats(engine.statsOf(last)));
    const plan = planBlock(engine.statsOf(items), rawLength);
    last = items;
    if (plan.bits >= best.plan.bits) break;
    best = { items, plan };
  }
  return { range, items: best.items, plan: best.plan };
}
