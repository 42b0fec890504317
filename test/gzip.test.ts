/** The deterministic gzip postbuild writes: two deflate parts from 256 KiB on, one or two threads, same bytes. */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { deflateRaw, inflateRaw } from 'pako';
import { describe, expect, test } from 'vitest';
import { startGzip } from '../src/compress/background.js';
import { deflateRanges, gunzipLikeEboot, gzipBodyOffset, gzipForDevice, SPLIT_FROM } from '../src/compress/gzip.js';
import { makeImage } from '../src/image/image.js';
import { deviceAt, signWith } from './device-helpers.js';
import { ROOT } from './helpers.js';

const big = makeImage({ size: 600_000, label: 'gzip test' });

describe('deflate parts', () => {
  test('below 256 KiB one part; from 256 KiB on two parts cut at a 4 KiB boundary 9/16 of the way in', () => {
    expect(deflateRanges(SPLIT_FROM - 1)).toEqual([[0, SPLIT_FROM - 1]]);
    expect(deflateRanges(SPLIT_FROM)).toEqual([[0, 147456], [147456, SPLIT_FROM]]);
    const [[, cut], [from, end]] = deflateRanges(1_000_001) as [[number, number], [number, number]];
    expect(cut % 4096).toBe(0);
    expect(from).toBe(cut);
    expect(end).toBe(1_000_001);
    expect(Math.abs(cut - (1_000_001 * 9) / 16)).toBeLessThan(4096);
  });

  test('a two-part gzip inflates to the input, has the sync-flush marker at the cut, and costs < 100 bytes', () => {
    const g = gzipForDevice(big, { alignTo4: true });
    expect(g.length % 4).toBe(0);
    const body = g.subarray(gzipBodyOffset((at) => g[at]!)!, g.length - 8);
    expect(Buffer.from(inflateRaw(body)).equals(big)).toBe(true);
    expect(gunzipLikeEboot(g)?.length).toBe(big.length);
    expect(Buffer.from(gunzipLikeEboot(g)!).equals(big)).toBe(true);
    expect(g.includes(Buffer.from([0, 0, 0xff, 0xff]))).toBe(true);
    const oneStream = deflateRaw(big, { level: 9, memLevel: 9 }).length + 18;
    expect(g.length - oneStream).toBeGreaterThanOrEqual(0);
    expect(g.length - oneStream).toBeLessThan(100);
  });

  test.each(['3.0.2', '3.1.2', 'latest'])('a signed two-part gzip boots on %s', (core) => {
    const v = deviceAt(core).replay(signWith(gzipForDevice(big, { alignTo4: true })));
    expect(v.cause).toBeNull();
    expect(v.boots).toBe(true);
  });
});

describe('two threads, same bytes', () => {
  const expected = gzipForDevice(big, { alignTo4: true });

  test('the built worker (dist) gives gzipForDevice\'s bytes', async () => {
    const built = (await import(pathToFileURL(join(ROOT, 'dist', 'compress', 'background.js')).href)) as typeof import('../src/compress/background.js');
    expect((await built.startGzip(big, { alignTo4: true }).finish()).equals(expected)).toBe(true);
  });

  test('without a worker file (the sources) this thread does the worker\'s part: same bytes', async () => {
    expect((await startGzip(big, { alignTo4: true }).finish()).equals(expected)).toBe(true);
  });

  test('small inputs need no worker and give the same bytes', async () => {
    const small = big.subarray(0, 100_000);
    expect((await startGzip(small).finish()).equals(gzipForDevice(small))).toBe(true);
  });
});
