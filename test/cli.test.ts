/** The CLI as a program people script against (issue 9 §6): help, version, errors, --json failures. */
import { describe, expect, test } from 'vitest';
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import Module from 'node:module';
import { join } from 'node:path';
import { EXECUTABLE, ROOT, runCli, tempDir } from './helpers.js';

const VERSION = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string;

describe('help and version go to stdout and exit 0', () => {
  test.each([[['--version']], [['-V']]])('%j prints the version alone', async (args) => {
    const r = await runCli(args);
    expect(r).toMatchObject({ exitCode: 0, stdout: `${VERSION}\n`, stderr: '' });
  });
  test.each([[['--help']], [['sign', '--help']], [['postbuild', '--help']], [['--mode', 'sign', '--help']]])('%j prints usage on stdout', async (args) => {
    const r = await runCli(args);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/usage/i);
    expect(r.stderr).toBe('');
  });
});

describe('usage errors', () => {
  test('an unknown option: reworded in the tool\'s style, naming the closest valid option', async () => {
    const r = await runCli(['sign', '--privkey', 'k', '--bin', 'b']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^esp8266-sign: unknown option '--privkey'$/m);
    expect(r.stderr).toMatch(/^esp8266-sign: (did you mean --privatekey\?|the closest valid option is --privatekey)$/m);
    expect(r.stderr).not.toMatch(/^error:/m);
  });
  test('an option nothing is close to still gets the nearest one', async () => {
    const r = await runCli(['keygen', '--zzzzzzzz']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^esp8266-sign: the closest valid option is --\w+/m);
  });
  test('with --json a usage error is one JSON object on stdout', async () => {
    const r = await runCli(['header', '--json']);
    expect(r.exitCode).toBe(2);
    expect(JSON.parse(r.stdout)).toEqual({ error: { exitCode: 2, message: expect.stringMatching(/--publickey|--out/) } });
  });
  test('--pubkey and --publickey are the same option', async () => {
    const a = await runCli(['header', '--pubkey', join(ROOT, 'sample', 'Blink', 'public.key'), '--out', join(ROOT, 'dist', 'cli-test', 'a.h')]);
    const b = await runCli(['header', '--publickey', join(ROOT, 'sample', 'Blink', 'public.key'), '--out', join(ROOT, 'dist', 'cli-test', 'b.h')]);
    expect([a.exitCode, b.exitCode]).toEqual([0, 0]);
    expect(readFileSync(join(ROOT, 'dist', 'cli-test', 'a.h'))).toEqual(readFileSync(join(ROOT, 'dist', 'cli-test', 'b.h')));
  });
});

describe('the code cache on Node 20 (bin/compile-cache.js)', () => {
  const node20 = !EXECUTABLE && !('enableCompileCache' in Module);
  if (!node20) console.log(`skipping the Node 20 code cache test: ${EXECUTABLE ? 'the executable is under test' : `Node ${process.version} caches code itself (module.enableCompileCache)`}`);
  test.skipIf(!node20)('is kept per user in the temp folder, gives the same output, and survives a garbled cache', async () => {
    const tmp = tempDir();
    const env = { TMPDIR: tmp };
    const first = await runCli(['header', '--help'], { env });
    expect(first.exitCode).toBe(0);
    const dir = join(tmp, `esp8266-sign-code-cache-${process.getuid!()}`);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const files = readdirSync(dir).sort();
    expect(files.map((f) => f.split('-')[0])).toEqual(['cli.cjs', 'program.cjs']);
    for (const f of files) expect(statSync(join(dir, f)).mode & 0o777).toBe(0o600);
    expect(await runCli(['header', '--help'], { env })).toEqual(first);
    for (const f of files) writeFileSync(join(dir, f), 'not a code cache');
    expect(await runCli(['header', '--help'], { env })).toEqual(first);
    for (const f of files) expect(readFileSync(join(dir, f), 'latin1')).not.toBe('not a code cache');
  });

  test.skipIf(!node20)('a cache folder another user could write is not used', async () => {
    const tmp = tempDir();
    const dir = join(tmp, `esp8266-sign-code-cache-${process.getuid!()}`);
    mkdirSync(dir);
    chmodSync(dir, 0o777);
    const r = await runCli(['header', '--help'], { env: { TMPDIR: tmp } });
    expect(r.exitCode).toBe(0);
    expect(readdirSync(dir)).toEqual([]);
  });
});
