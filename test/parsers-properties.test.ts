/**
 * Every parser of outside input, fed mutated valid inputs (issue 9 §7): whatever the bytes, the
 * command ends quickly with an exit code in {0, 1, 2, 3} and a message, never an internal error.
 * The commands run in process (src/cli.ts main) so a few hundred cases take seconds.
 */
import fc from 'fast-check';
import { createPrivateKey } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { main } from '../src/cli.js';
import { makeImage } from '../src/image/image.js';
import { appendSignature, sha256 as digest, signDigestInfo } from '../src/signing/sign.js';
import { BEGIN_MARKER, END_MARKER } from '../src/arduino/recipes.js';
import { captureIo, tempDir, VECTORS } from './helpers.js';

const PUB = readFileSync(join(VECTORS, 'keys', 'rsa2048.public.pem'));
const PRIV = readFileSync(join(VECTORS, 'keys', 'rsa2048.pkcs8.pem'));
const DER = createPrivateKey(PRIV).export({ type: 'pkcs8', format: 'der' });
const IMAGE = makeImage({ size: 40_000 });
const SIGNED = appendSignature(IMAGE, signDigestInfo(digest(IMAGE), createPrivateKey(PRIV)));
const GZ = gzipSync(IMAGE, { level: 9 });

/** A mutation of `base`: bytes overwritten, a piece cut out, bytes inserted, or the end cut off. */
function mutated(base: Uint8Array): fc.Arbitrary<Buffer> {
  const edit = fc.oneof(
    fc.record({ kind: fc.constant('set' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
    fc.record({ kind: fc.constant('cut' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(), bytes: fc.constant(new Uint8Array()) }),
  );
  return fc.array(edit, { minLength: 1, maxLength: 4 }).map((edits) => {
    let b = Buffer.from(base);
    for (const e of edits) {
      const at = b.length ? e.at % b.length : 0;
      if (e.kind === 'set') b = Buffer.concat([b.subarray(0, at), Buffer.from(e.bytes), b.subarray(at + e.bytes.length)]);
      if (e.kind === 'cut') b = Buffer.concat([b.subarray(0, at), b.subarray(at + e.bytes.length)]);
      if (e.kind === 'insert') b = Buffer.concat([b.subarray(0, at), Buffer.from(e.bytes), b.subarray(at)]);
      if (e.kind === 'truncate') b = b.subarray(0, at);
    }
    return b;
  });
}

const dir = tempDir();
let n = 0;

/** Writes `bytes`, runs the command with `@FILE@` standing for it, and checks how it ended. */
async function survives(bytes: Uint8Array, argv: string[], name = 'input.bin'): Promise<void> {
  const case_ = join(dir, `case-${n++}`);
  mkdirSync(case_, { recursive: true });
  const file = join(case_, name);
  writeFileSync(file, bytes);
  const io = captureIo(case_, {});
  const started = Date.now();
  const code = await main(argv.map((a) => a.replace('@FILE@', file).replace('@DIR@', case_)), io);
  expect(Date.now() - started, argv.join(' ')).toBeLessThan(5000);
  expect([0, 1, 2, 3], io.err).toContain(code);
  expect(io.err).not.toMatch(/internal error/);
  // an error or usage error carries a message; exit 3 is the device's report, in its own layout
  if (code === 1 || code === 2) expect(io.err).toMatch(/^esp8266-sign: /m);
}

const RUNS = { numRuns: 30 };

describe('mutated inputs never crash a parser', () => {
  test('public keys, PEM (header) and as the device reads them (emulate --pubkey)', async () => {
    await fc.assert(fc.asyncProperty(mutated(PUB), async (key) => {
      await survives(key, ['header', '--publickey', '@FILE@', '--out', '@DIR@/core/Updater_Signing.h']);
      writeFileSync(join(dir, 'signed.bin'), SIGNED);
      await survives(key, ['verify', join(dir, 'signed.bin'), '--pubkey', '@FILE@', '--core', '3.1.2']);
    }), RUNS);
  });

  test('private keys, PEM and DER (sign)', async () => {
    writeFileSync(join(dir, 'fw.bin'), IMAGE);
    for (const base of [PRIV, DER]) {
      await fc.assert(fc.asyncProperty(mutated(base), (key) => survives(key, ['sign', '--privatekey', '@FILE@', '--bin', join(dir, 'fw.bin'), '--out', '@DIR@/fw.signed'])), RUNS);
    }
  });

  test('firmware images (inspect, emulate)', async () => {
    await fc.assert(fc.asyncProperty(mutated(IMAGE), async (img) => {
      await survives(img, ['inspect', '@FILE@']);
      await survives(img, ['emulate', '@FILE@', '--core', '3.1.2', '--layout', '4M1M']);
    }), RUNS);
  });

  test('gzip files (inspect, emulate, sign)', async () => {
    await fc.assert(fc.asyncProperty(mutated(GZ), async (gz) => {
      await survives(gz, ['inspect', '@FILE@']);
      await survives(gz, ['emulate', '@FILE@', '--core', '3.0.2', '--layout', '4M1M']);
      writeFileSync(join(dir, 'k.pem'), PRIV);
      await survives(gz, ['sign', '--privatekey', join(dir, 'k.pem'), '--bin', '@FILE@', '--out', '@DIR@/x.signed']);
    }), RUNS);
  });

  test('signature trailers (verify, emulate with the key)', async () => {
    writeFileSync(join(dir, 'pub.pem'), PUB);
    const tail = fc.tuple(fc.uint8Array({ minLength: 0, maxLength: 300 }), fc.uint8Array({ minLength: 4, maxLength: 4 }));
    await fc.assert(fc.asyncProperty(fc.oneof(mutated(SIGNED.subarray(SIGNED.length - 600)).map((t) => Buffer.concat([IMAGE.subarray(0, IMAGE.length - 340), t])), tail.map(([sig, len]) => Buffer.concat([IMAGE, sig, len]))), async (file) => {
      await survives(file, ['verify', '@FILE@', '--pubkey', join(dir, 'pub.pem')]);
      await survives(file, ['emulate', '@FILE@', '--core', '3.1.2', '--pubkey', join(dir, 'pub.pem'), '--layout', '4M1M']);
    }), RUNS);
  });

  test('settings files (prebuild)', async () => {
    const base = Buffer.from(JSON.stringify({ compress: true, legacy: false, fleet: ['3.0.2'], privateKey: 'k', atomicFs: true }));
    await fc.assert(fc.asyncProperty(fc.oneof(mutated(base), fc.json().map((j) => Buffer.from(j))), (settings) =>
      survives(settings, ['prebuild', '--sketch-dir', '@DIR@', '--build-dir', '@DIR@/build'], 'esp8266-sign.json')), RUNS);
  });

  test('platform.local.txt (install, uninstall, doctor)', async () => {
    const platform = 'name=ESP8266 Boards (3.1.2)\nversion=3.1.2\nrecipe.hooks.sketch.prebuild.pattern=x --mode header\nrecipe.objcopy.hex.2.pattern=x\n';
    const local = Buffer.from(`mine=1\n${BEGIN_MARKER}\nrecipe.objcopy.hex.2.pattern=old\n${END_MARKER}\nafter=2\n`);
    await fc.assert(fc.asyncProperty(mutated(local), async (text) => {
      for (const cmd of ['install', 'uninstall', 'doctor']) {
        const core = join(dir, `core-${n++}`);
        mkdirSync(core);
        writeFileSync(join(core, 'platform.txt'), platform);
        await survives(text, [cmd, '--core-dir', core], 'unused');
        writeFileSync(join(core, 'platform.local.txt'), text);
        const io = captureIo(core, {});
        const code = await main([cmd, '--core-dir', core], io);
        expect([0, 1, 2], io.err).toContain(code);
        expect(io.err).not.toMatch(/internal error/);
      }
    }), { numRuns: 15 });
  });
});
