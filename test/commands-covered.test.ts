/** A guard (after imgtool's): every command the CLI knows is exercised by some test. */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { ROOT, runCli } from './helpers.js';

test('every command registered in src/program.ts has a test that runs it', () => {
  const program = readFileSync(join(ROOT, 'src', 'program.ts'), 'utf8');
  const commands = [...program.matchAll(/\.command\('([a-z]+)'\)/g), ...program.matchAll(/\['([a-z]+)', '[^']+'\],?/g)].map((m) => m[1]!);
  expect(commands.length).toBeGreaterThanOrEqual(11);
  const tests = readdirSync(join(ROOT, 'test')).filter((f) => f.endsWith('.test.ts') && f !== 'commands-covered.test.ts')
    .map((f) => readFileSync(join(ROOT, 'test', f), 'utf8')).join('\n');
  const runner = (c: string) => `run${c[0]!.toUpperCase()}${c.slice(1)}(`;
  const missing = commands.filter((c) => !tests.includes(`['${c}'`) && !tests.includes(runner(c)));
  expect(missing).toEqual([]);
});

test('COMMANDS in src/program.ts is exactly what --help lists, and a named command still runs alone', async () => {
  const { COMMANDS } = await import('../src/program.js');
  const help = await runCli(['--help']);
  expect(help.exitCode).toBe(0);
  const listed = [...help.stdout.split('Commands:')[1]!.matchAll(/^ {2}([a-z]+)\b/gm)].map((m) => m[1]);
  expect(listed.filter((c) => c !== 'help')).toEqual(COMMANDS);
  // only upload is set up: its help is whole, and an unknown option is still caught with a suggestion
  const upload = await runCli(['upload', '--help']);
  expect(upload.stdout).toMatch(/Usage: esp8266-sign upload \[options\] \[file\]/);
  expect(upload.stdout).toMatch(/--host-port/);
  const typo = await runCli(['upload', '--hots', 'x']);
  expect(typo.exitCode).toBe(2);
  expect(typo.stderr).toMatch(/--host/);
  // a mistyped command name still gets commander's suggestion from the full list
  const mistyped = await runCli(['uplaod']);
  expect(mistyped.exitCode).toBe(2);
  expect(mistyped.stderr).toMatch(/upload/);
});
