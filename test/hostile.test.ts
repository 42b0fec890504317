/**
 * Hostile inputs (issue 9 §7) through the built CLI: each is a clear error or warning in well under
 * a few seconds — never a hang, a stack trace, unbounded memory, a secret printed or a file written.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, test } from 'vitest';
import { makeImage } from '../src/image/image.js';
import { CLI, runCli, sha256, tempDir, VECTORS } from './helpers.js';

const KEY = join(VECTORS, 'keys', 'rsa2048.pkcs8.pem');
const PUB = join(VECTORS, 'keys', 'rsa2048.public.pem');
const FIRMWARE = join(VECTORS, 'bins', 'firmware-e9.bin');
const hasFifo = spawnSync('mkfifo', ['--version'], { stdio: 'ignore' }).status === 0;
if (!hasFifo) console.warn('SKIPPED: mkfifo is not available, so the FIFO cases do not run.');

let dir: string;
beforeAll(() => {
  dir = tempDir();
  if (hasFifo) execFileSync('mkfifo', [join(dir, 'fifo')]);
});

/** A signing run that must fail fast with `message` and leave `out` empty. */
async function refused(args: string[], message: RegExp, exitCode = 1) {
  const out = join(dir, `out-${Math.random().toString(36).slice(2)}`);
  mkdirSync(out);
  const started = Date.now();
  const r = await runCli(args.map((a) => a.replace('@OUT@', out)), { cwd: dir });
  expect(Date.now() - started).toBeLessThan(10_000);
  expect(r.exitCode, r.stderr).toBe(exitCode);
  expect(r.stderr).toMatch(message);
  expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
  expect(r.stderr + r.stdout).not.toContain('PRIVATE KEY-----');
  expect(readdirSync(out)).toEqual([]);
  return r;
}

describe.skipIf(!hasFifo)('FIFOs and devices where a file belongs', () => {
  test('a FIFO as private key', () => refused(['sign', '--privatekey', 'fifo', '--bin', FIRMWARE, '--out', '@OUT@/x.signed'], /private key .*fifo is a FIFO \(named pipe\), not a regular file/));
  test('a FIFO as public key (header)', () => refused(['header', '--publickey', 'fifo', '--out', '@OUT@/Updater_Signing.h'], /public key .*fifo is a FIFO/));
  test('a FIFO as --bin', () => refused(['--mode', 'sign', '--privatekey', KEY, '--bin', 'fifo', '--out', '@OUT@/x.signed'], /firmware .*fifo is a FIFO/));
  test('an endless device as --bin', () => refused(['sign', '--privatekey', KEY, '--bin', '/dev/zero', '--out', '@OUT@/x.signed'], /firmware \/dev\/zero is a device, not a regular file/));
  test('a FIFO as the header output', async () => {
    const r = await runCli(['header', '--publickey', PUB, '--out', 'fifo'], { cwd: dir });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/header .*fifo is a FIFO/);
  });
  test('a FIFO as the settings file', async () => {
    const sketch = join(dir, 'fifo-sketch');
    mkdirSync(sketch);
    execFileSync('mkfifo', [join(sketch, 'esp8266-sign.json')]);
    const r = await runCli(['prebuild', '--sketch-dir', sketch, '--build-dir', join(dir, 'fifo-build')]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/settings file .*esp8266-sign\.json is a FIFO/);
  });
  test('a FIFO as platform.txt', async () => {
    const core = join(dir, 'fifo-core');
    mkdirSync(core);
    execFileSync('mkfifo', [join(core, 'platform.txt')]);
    const r = await runCli(['install', '--core-dir', core]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/platform\.txt .* is a FIFO/);
  });
});

describe('outputs that would destroy something', () => {
  test('--out through a symlink loop', () => {
    symlinkSync('loop', join(dir, 'loop'));
    return refused(['sign', '--privatekey', KEY, '--bin', FIRMWARE, '--out', 'loop'], /symbolic link that loops back on itself/);
  });

  test.each([['--out'], ['--legacy']])('%s naming the input (also through a symlink) is refused and the input is kept', async (option) => {
    const bin = join(dir, `input${option}.bin`);
    cpSync(FIRMWARE, bin);
    symlinkSync(bin, join(dir, `link${option}.bin`));
    const before = sha256(readFileSync(bin));
    for (const target of [bin, join(dir, `link${option}.bin`)]) {
      const args = ['sign', '--privatekey', KEY, '--bin', bin, option, target];
      if (option === '--legacy') args.push('--out', join(dir, `other${option}.signed`));
      const r = await runCli(args, { cwd: dir });
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`${option} .* is the input file itself`));
      expect(sha256(readFileSync(bin))).toBe(before);
    }
  });

  test('--out X --legacy X: refused by sign; --mode sign keeps signing.py\'s bytes and warns', async () => {
    await refused(['sign', '--privatekey', KEY, '--bin', FIRMWARE, '--out', '@OUT@/x', '--legacy', '@OUT@/x'], /--out and --legacy both name/, 2);
    const r = await runCli(['--mode', 'sign', '--privatekey', KEY, '--bin', FIRMWARE, '--out', 'same', '--legacy', 'same'], { cwd: dir });
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toMatch(/warning: --out and --legacy both name same: as with signing\.py, it ends up holding the legacy signature/);
    expect(r.stderr).toMatch(/^Signed binary: same\nLegacy signed binary: same\n$/m);
  });
});

describe('gzip payloads', () => {
  const image = makeImage({ size: 60_000 });
  test.each([
    ['empty', gzipSync(Buffer.alloc(0)), /is an empty gzip file: it inflates to nothing/],
    ['truncated', gzipSync(image).subarray(0, 4000), /is a truncated gzip file/],
  ])('sign warns about an %s gzip', async (_n, gz, warning) => {
    writeFileSync(join(dir, `${_n}.gz`), gz);
    const r = await runCli(['sign', '--privatekey', KEY, '--bin', `${_n}.gz`, '--out', `${_n}.gz.signed`], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`esp8266-sign: warning: ${_n}\\.gz ${warning.source}`));
  });

  test('sign warns when a gzip\'s length is not a multiple of 4 (3.1.0–3.1.2 reject it), and not when it is', async () => {
    let gz = gzipSync(image, { level: 9 });
    if (gz.length % 4 === 0) gz = Buffer.concat([gz.subarray(0, 3), Buffer.from([gz[3]! | 0x10]), gz.subarray(4, 10), Buffer.from('x\0'), gz.subarray(10)]);
    writeFileSync(join(dir, 'odd.gz'), gz);
    const r = await runCli(['sign', '--privatekey', KEY, '--bin', 'odd.gz', '--out', 'odd.gz.signed'], { cwd: dir });
    expect(r.stderr).toMatch(/warning: odd\.gz is a gzip of \d+ bytes \([123] mod 4\): cores 3\.1\.0–3\.1\.2 reject/);
    const pad = (4 - (gz.length % 4)) % 4;
    const even = Buffer.concat([gz.subarray(0, 3), Buffer.from([gz[3]! | 0x04]), gz.subarray(4, 10), Buffer.from([pad + 2, 0]), Buffer.alloc(pad + 2, 0x41), gz.subarray(10)]);
    expect(even.length % 4).toBe(0);
    writeFileSync(join(dir, 'even.gz'), even);
    const ok = await runCli(['sign', '--privatekey', KEY, '--bin', 'even.gz', '--out', 'even.gz.signed'], { cwd: dir });
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(ok.stderr).not.toMatch(/mod 4/);
  });
});

describe('settings files', () => {
  async function prebuildWith(settings: string | Buffer) {
    const sketch = join(dir, `sketch-${Math.random().toString(36).slice(2)}`);
    mkdirSync(sketch);
    writeFileSync(join(sketch, 'esp8266-sign.json'), settings);
    return runCli(['prebuild', '--sketch-dir', sketch, '--build-dir', join(sketch, 'build')]);
  }
  test.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty'])('a key named %s is an unknown setting', async (key) => {
    const r = await prebuildWith(`{"${key}": true}`);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`unknown setting "${key}"`));
  });
  test('a UTF-8 byte-order mark is accepted', async () => {
    const r = await prebuildWith(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"compress": true}')]));
    expect(r.exitCode, r.stderr).toBe(0);
  });
  test('a 20 MB value is refused with a short message', async () => {
    const r = await prebuildWith(`{"privateKey": "${'x'.repeat(20_000_000)}"}`);
    expect(r.exitCode).toBe(1);
    expect(r.stderr.length).toBeLessThan(1000);
    expect(r.stderr).toMatch(/settings file .* is \d+ bytes, more than the/);
  });
  test('a long wrong-typed value is cut in the message', async () => {
    const r = await prebuildWith(`{"compress": "${'y'.repeat(500_000)}"}`);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/"compress" must be true, false, "default" or "max", not "y+… \(500002 characters\)/);
    expect(r.stderr.length).toBeLessThan(1000);
  });
});

describe('what killed runs and closed pipes leave', () => {
  test('a temporary file of a killed run, older than a minute, is removed by the next write there', async () => {
    const out = join(dir, 'temps');
    mkdirSync(out);
    const stale = join(out, '.esp8266-sign-fw.signed.0123456789ab.tmp');
    const fresh = join(out, '.esp8266-sign-fw.signed.ba9876543210.tmp');
    const foreign = join(out, '.someone-else.0123456789ab.tmp');
    for (const f of [stale, fresh, foreign]) writeFileSync(f, 'half');
    const old = new Date(Date.now() - 5 * 60_000);
    for (const f of [stale, foreign]) utimesSync(f, old, old);
    const r = await runCli(['sign', '--privatekey', KEY, '--bin', FIRMWARE, '--out', join(out, 'fw.signed')]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(fresh)).toBe(true);
    expect(existsSync(foreign)).toBe(true);
  });

  test('stdout closed early (| true): the exit code and the artifacts are unchanged', () => {
    const out = join(dir, 'pipe');
    mkdirSync(out);
    const r = spawnSync('bash', ['-c', `"${process.execPath}" "${CLI}" sign --json --privatekey "${KEY}" --bin "${FIRMWARE}" --out "${out}/fw.signed" | true; exit "\${PIPESTATUS[0]}"`], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/EPIPE|internal error/);
    expect(readFileSync(join(out, 'fw.signed')).length).toBe(readFileSync(FIRMWARE).length + 260);
  });
});
