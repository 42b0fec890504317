/** A guard (after imgtool's): every command the CLI knows is exercised by some test. */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { ROOT } from './helpers.js';

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
