/**
 * The project's DEFLATE engine (issue 10): every size class round-trips through zlib, pako, GNU gzip
 * and the eboot model; the output is pinned by hash; the same bytes come out of Node 20, 22 and 24.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import fc from 'fast-check';
import { inflateRaw } from 'pako';
import { describe, expect, test } from 'vitest';
import { deflateRaw, type DeflateLevel } from '../src/compress/deflate/deflate.js';
import { gzipForDevice } from '../src/compress/gzip.js';
import { makeImage, prng } from '../src/image/image.js';
import { inflateLikeEboot } from './device-helpers.js';
import { ROOT } from './helpers.js';

const LEVELS: DeflateLevel[] = ['default', 'max'];

function roundTrips(data: Uint8Array, level: DeflateLevel): void {
  const raw = deflateRaw(data, level);
  expect(Buffer.from(inflateRawSync(raw)).equals(Buffer.from(data))).toBe(true);
  expect(Buffer.from(inflateRaw(raw)).equals(Buffer.from(data))).toBe(true);
}

/** Bytes with the structure of firmware: fresh bytes, copies from near and far back, runs of one value. */
const firmwareLike = fc.array(fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 64 }),
  fc.record({ back: fc.integer({ min: 1, max: 40_000 }), length: fc.integer({ min: 3, max: 300 }) }),
  fc.record({ value: fc.constantFrom(0, 0xff, 0xaa), length: fc.integer({ min: 1, max: 5000 }) }),
), { maxLength: 300 }).map((parts) => {
  const out: number[] = [];
  for (const p of parts) {
    if (p instanceof Uint8Array) out.push(...p);
    else if ('back' in p) for (let i = 0; i < p.length; i++) out.push(out.length >= p.back ? out[out.length - p.back]! : i & 0xff);
    else for (let i = 0; i < p.length; i++) out.push(p.value);
  }
  return Uint8Array.from(out);
});

describe('round trips', () => {
  test.each(LEVELS)('%s: random bytes of any length up to 70 000 inflate to themselves', (level) => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 70_000 }), (data) => roundTrips(data, level)), { numRuns: 25 });
  });

  test.each(LEVELS)('%s: firmware-like bytes (copies up to 40 000 back, long runs) inflate to themselves', (level) => {
    fc.assert(fc.property(firmwareLike, (data) => roundTrips(data, level)), { numRuns: 40 });
  });

  test.each(LEVELS)('%s: the size classes 0, 1, 2, 3, 258, the 32 KiB and 64 KiB boundaries', (level) => {
    const pattern = makeImage({ size: 140_000, label: 'size classes' });
    for (const n of [0, 1, 2, 3, 4, 258, 259, 32767, 32768, 32769, 65535, 65536, 65537, 131_073]) roundTrips(pattern.subarray(0, n), level);
    for (const n of [0, 1, 3, 32768, 65536]) roundTrips(prng('incompressible', n), level);
  });

  test('a match exactly 32 768 bytes back (the largest distance eboot accepts) is used and inflates', () => {
    const block = prng('far copy', 32768);
    const data = Buffer.concat([block, block.subarray(0, 1000)]);
    const raw = deflateRaw(data);
    expect(raw.length).toBeLessThan(32768 + 200);
    roundTrips(data, 'default');
  });

  test.each(LEVELS)('%s: a 1 MiB firmware image inflates with zlib, pako, GNU gzip and the eboot model', (level) => {
    const data = makeImage({ size: 1 << 20, label: 'one mebibyte' });
    roundTrips(data, level);
    const gz = gzipForDevice(data, { level, alignTo4: true });
    expect(Buffer.from(inflateLikeEboot(gz)!).equals(data)).toBe(true);
    const gnu = spawnSync('gzip', ['-dc'], { input: gz, maxBuffer: 1 << 24 });
    if (gnu.error) console.log(`GNU gzip not run: ${gnu.error.message}`);
    else {
      expect(gnu.status).toBe(0);
      expect(gnu.stdout.equals(data)).toBe(true);
    }
  });

  test('incompressible input goes out as stored blocks: at most 5 bytes per 64 KiB more than itself', () => {
    const data = prng('stored', 200_000);
    expect(deflateRaw(data).length).toBeLessThanOrEqual(data.length + 5 * Math.ceil(data.length / 65535));
  });

  test('max is never larger than default, and both beat the fixed-code floor on code', () => {
    const data = makeImage({ size: 300_000, label: 'levels' });
    const d = deflateRaw(data, 'default').length;
    const m = deflateRaw(data, 'max').length;
    expect(m).toBeLessThanOrEqual(d);
    expect(d).toBeLessThan(data.length * 0.7);
  });
});

/** The engine's output for fixed inputs: a change in any byte fails here (update only on purpose). */
const PINNED: Record<DeflateLevel, string> = {
  default: 'd17f97458b0d2b0a0adf444203487f2d0800da79c57ce5e7c06effd2b1f23412',
  max: '7d714c451f41af96e8cea84dc05965e4809953ed0f0c6352b08c3ef966b8da9c',
};

function guardInput(): Buffer {
  return Buffer.concat([makeImage({ size: 200_000, label: 'deflate guard' }), prng('guard tail', 5000), Buffer.alloc(3000, 0xff)]);
}

describe('determinism', () => {
  test.each(LEVELS)('%s: the output for a fixed input has not changed', (level) => {
    expect(createHash('sha256').update(deflateRaw(guardInput(), level)).digest('hex')).toBe(PINNED[level]);
  });

  test.each([20, 22, 24])('Node %i gives the same bytes as this Node', async (major) => {
    const { nodeBinary } = (await import(join(ROOT, 'bench', 'node-binaries.js'))) as { nodeBinary(m: number, say?: (l: string) => void): { bin?: string; version?: string; reason?: string } };
    const node = nodeBinary(major, (line) => console.log(line));
    if (!node.bin) {
      console.log(`cross-Node check for Node ${major} skipped: ${node.reason}`);
      return;
    }
    const script = `
      const { deflateRaw } = await import(${JSON.stringify(join(ROOT, 'dist', 'compress', 'deflate', 'deflate.js'))});
      const { makeImage, prng } = await import(${JSON.stringify(join(ROOT, 'dist', 'image', 'image.js'))});
      const { createHash } = await import('node:crypto');
      const input = Buffer.concat([makeImage({ size: 200_000, label: 'deflate guard' }), prng('guard tail', 5000), Buffer.alloc(3000, 0xff)]);
      for (const level of ['default', 'max']) console.log(createHash('sha256').update(deflateRaw(input, level)).digest('hex'));`;
    const r = spawnSync(node.bin, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n')).toEqual(LEVELS.map((l) => createHash('sha256').update(deflateRaw(guardInput(), l)).digest('hex')));
  }, 400_000);
});
