/**
 * The project's DEFLATE encoder (issue 10). Both levels run the same pipeline: find matches once,
 * parse the whole input under fixed-code prices, split it into blocks where the statistics change,
 * then re-parse each block under the prices of its own previous parse until that stops paying.
 * `max` searches deeper and iterates longer. Integer prices and fixed tie-breaks make the output
 * a function of the input alone: the same bytes on every Node, OS and CPU.
 */
import { planBlock, writeBlock, type BlockPlan } from './blocks.js';
import { fixedModel, modelFromStats } from './cost.js';
import { Engine, type MatchSearch } from './engine.js';
import { splitBlocks, type BlockRange } from './split.js';

export type DeflateLevel = 'default' | 'max';

export interface LevelParams {
  search: MatchSearch;
  /** Re-parses per block at most. */
  passes: number;
  /** Split, optimise, then split the optimised parse again this many times. */
  rounds: number;
  /** Items per segment before merging (split.ts). */
  segment: number;
}

const LEVELS: Record<DeflateLevel, LevelParams> = {
  default: { search: { depth: 24, nice: 96 }, passes: 2, rounds: 1, segment: 4096 },
  max: { search: { depth: 512, nice: 258 }, passes: 8, rounds: 2, segment: 2048 },
};

const FIRST_PIECE = 1 << 16;

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
  let items = firstParse(engine, data.length);
  let blocks: Block[] = [];
  for (let round = 0; round < params.rounds; round++) {
    blocks = splitBlocks(items, params.segment, (run) => engine.statsOf(run)).map((range) => optimiseBlock(engine, items.subarray(range.itemFrom, range.itemTo), range, params.passes));
    items = concat(blocks.map((b) => b.items));
  }
  blocks.forEach((b, i) => writeBlock(engine, b.plan, b.items, b.range.byteFrom, b.range.byteTo, i === blocks.length - 1));
  return engine.output();
}

/**
 * The parse the blocks are split by: fixed-code prices, in 64 KiB pieces (a piece boundary costs a
 * few bytes of this provisional parse only; the blocks are parsed again whole).
 */
function firstParse(engine: Engine, length: number): Uint32Array {
  const pieces: Uint32Array[] = [];
  const model = fixedModel();
  for (let from = 0; from < length; from += FIRST_PIECE) pieces.push(engine.cheapestParse(from, Math.min(length, from + FIRST_PIECE), model));
  return concat(pieces);
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

function concat(parts: Uint32Array[]): Uint32Array {
  const out = new Uint32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, at), (at += p.length);
  return out;
}
