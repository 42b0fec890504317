/** The CLI as a program people script against (issue 9 §6): help, version, errors, --json failures. */
import { describe, expect, test } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, runCli } from './helpers.js';

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
