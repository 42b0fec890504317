/** The gzip file postbuild writes: eboot's header rules, the 3.1.x alignment, and the level through the CLI. */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { crc32, gzipForDevice, tableCrc32 } from '../src/compress/gzip.js';
import { renderHeader } from '../src/header-gen/header.js';
import { makeImage } from '../src/image/image.js';
import { deviceAt, inflateLikeEboot, PUB2048, signWith } from './device-helpers.js';
import { runCli, tempDir, VECTORS } from './helpers.js';

const firmware = makeImage({ size: 300_000, label: 'gzip test' });

describe('the gzip header eboot reads', () => {
  test('fixed MTIME, XFL and OS, CM 8, no flag unless padding is asked for; CRC-32 and ISIZE of the input', () => {
    const g = gzipForDevice(firmware);
    expect([...g.subarray(0, 10)]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 255]);
    expect(g.readUInt32LE(g.length - 8)).toBe(crc32(firmware));
    expect(g.readUInt32LE(g.length - 4)).toBe(firmware.length);
    expect(Buffer.from(inflateLikeEboot(g)!).equals(firmware)).toBe(true);
  });

  test('CRC-32: the table (Node releases without zlib.crc32) and zlib agree, and match the check value', () => {
    expect(tableCrc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 3000 }), (data) => {
      expect(crc32(data)).toBe(tableCrc32(data));
    }), { numRuns: 100 });
  });

  test('alignTo4 pads with an FCOMMENT to a multiple of 4 bytes, only when needed, for any input length', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 5000 }), (n) => {
      const data = firmware.subarray(0, n);
      const bare = gzipForDevice(data);
      const padded = gzipForDevice(data, { alignTo4: true });
      expect(padded.length % 4).toBe(0);
      expect(padded.length - bare.length).toBe((4 - (bare.length % 4)) % 4);
      expect(padded[3]).toBe(padded.length === bare.length ? 0 : 0x10);
      expect(Buffer.from(inflateLikeEboot(padded)!).equals(Buffer.from(data))).toBe(true);
    }), { numRuns: 60 });
  });
});

describe('the device boots every compressed artifact', () => {
  test.each([['default', '3.0.2'], ['default', '3.1.2'], ['default', 'latest'], ['max', '3.0.2'], ['max', '3.1.2'], ['max', 'latest']] as const)('a signed %s-level gzip boots on %s', (level, core) => {
    const v = deviceAt(core, { runningSketchSize: 300_000 }).replay(signWith(gzipForDevice(firmware, { level, alignTo4: true })));
    expect(v.cause).toBeNull();
    expect(v.boots).toBe(true);
  });

  test('3.1.2 verifies a signed gzip of every length mod 4 once it is aligned (the padding is what makes it pass)', () => {
    const unaligned = new Set<number>();
    for (const size of [200_001, 200_002, 200_003, 200_004, 200_005, 200_006, 200_007]) {
      const image = makeImage({ size, label: `align ${size}` });
      const v = deviceAt('3.1.2', { runningSketchSize: size }).replay(signWith(gzipForDevice(image, { alignTo4: true })));
      expect(v.boots, v.cause ?? '').toBe(true);
      const bare = gzipForDevice(image);
      if (bare.length % 4) {
        unaligned.add(bare.length % 4);
        expect(deviceAt('3.1.2', { runningSketchSize: size }).replay(signWith(bare)).boots).toBe(false);
      }
    }
    expect(unaligned.size).toBeGreaterThan(0);
  });
});

describe('postbuild --compress [level]', () => {
  function arduinoBuild(settings?: object): { sketch: string; build: string } {
    const root = tempDir();
    const sketch = join(root, 'My Sketch');
    const build = join(root, 'build');
    mkdirSync(sketch);
    mkdirSync(join(build, 'core'), { recursive: true });
    writeFileSync(join(sketch, 'private.key'), readFileSync(join(VECTORS, 'keys', 'rsa2048.pkcs8.pem')));
    chmodSync(join(sketch, 'private.key'), 0o600);
    writeFileSync(join(sketch, 'public.key'), PUB2048);
    if (settings) writeFileSync(join(sketch, 'esp8266-sign.json'), JSON.stringify(settings));
    writeFileSync(join(build, 'core', 'Updater_Signing.h'), renderHeader(PUB2048));
    writeFileSync(join(build, 'sketch.ino.bin'), makeImage({ size: 300_000, embed: PUB2048, label: 'gzip cli' }));
    return { sketch, build };
  }
  const postbuild = (l: { sketch: string; build: string }, extra: string[], env: Record<string, string> = {}) =>
    runCli(['postbuild', '--sketch-dir', l.sketch, '--build-dir', l.build, '--project-name', 'sketch.ino', '--core-version', '3.1.2',
      '--flash-size', '4M', '--flash-mode', 'dio', '--fs-start', '0x300000', '--fs-end', '0x3FA000', ...extra], { env });
  const gzOf = (l: { build: string }) => readFileSync(join(l.build, 'sketch.ino.bin.gz'));

  test('--compress max writes the max-level gzip, no larger than the default one, and it boots', async () => {
    const plain = arduinoBuild();
    const max = arduinoBuild();
    expect((await postbuild(plain, ['--compress'])).exitCode).toBe(0);
    const r = await postbuild(max, ['--compress', 'max']);
    expect(r.exitCode, r.stderr).toBe(0);
    const bin = readFileSync(join(max.build, 'sketch.ino.bin'));
    expect(gzOf(max).equals(gzipForDevice(bin, { level: 'max', alignTo4: true }))).toBe(true);
    expect(gzOf(plain).equals(gzipForDevice(bin, { alignTo4: true }))).toBe(true);
    expect(gzOf(max).length).toBeLessThanOrEqual(gzOf(plain).length);
    const signed = readFileSync(join(max.build, 'sketch.ino.bin.gz.signed'));
    expect(deviceAt('3.1.2', { layout: '4M1M', runningSketchSize: 300_000 }).replay(signed).boots).toBe(true);
  });

  test('{"compress": "max"} in esp8266-sign.json and ESP8266_SIGN_COMPRESS=max choose the max level', async () => {
    const fromFile = arduinoBuild({ compress: 'max' });
    const fromEnv = arduinoBuild();
    expect((await postbuild(fromFile, [])).exitCode).toBe(0);
    expect((await postbuild(fromEnv, [], { ESP8266_SIGN_COMPRESS: 'max' })).exitCode).toBe(0);
    const bin = readFileSync(join(fromFile.build, 'sketch.ino.bin'));
    const expected = gzipForDevice(bin, { level: 'max', alignTo4: true });
    expect(gzOf(fromFile).equals(expected)).toBe(true);
    expect(gzOf(fromEnv).equals(expected)).toBe(true);
  });

  test('an unknown level is a usage error that names the levels, and nothing is written', async () => {
    const l = arduinoBuild();
    const r = await postbuild(l, ['--compress', 'fast']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^esp8266-sign: --compress fast: the compression level must be "default" or "max"/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(() => readFileSync(join(l.build, 'sketch.ino.bin.signed'))).toThrow();
  });
});
