import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';
import type { Io } from '../src/io.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const CLI = join(ROOT, 'bin', 'esp8266-sign.js');
export const FIXTURES = join(ROOT, 'test', 'fixtures');
export const VECTORS = join(FIXTURES, 'vectors');

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * A single executable to run instead of Node and bin/esp8266-sign.js: npm run test:package sets it,
 * so the same tests prove the executable. It then runs with no node on PATH.
 */
export const EXECUTABLE = process.env.ESP8266_SIGN_EXECUTABLE;

/** PATH without any folder that holds a node executable. */
export function pathWithoutNode(path = process.env.PATH ?? ''): string {
  return path.split(delimiter).filter((dir) => dir && !existsSync(join(dir, 'node')) && !existsSync(join(dir, 'node.exe'))).join(delimiter);
}

/** Runs the built CLI as a user would, with a clean environment plus `env`. */
export async function runCli(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  const [file, argv] = EXECUTABLE ? [EXECUTABLE, args] : [process.execPath, [CLI, ...args]];
  const r = await execa(file, argv, {
    cwd: opts.cwd ?? ROOT,
    env: { PATH: EXECUTABLE ? pathWithoutNode() : process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...opts.env },
    extendEnv: false,
    reject: false,
    stdin: 'ignore',
    stripFinalNewline: false,
  });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

const made: string[] = [];
afterAll(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A fresh temporary folder, removed after the test file. The name has a space on purpose. */
export function tempDir(prefix = 'esp8266 sign-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  made.push(d);
  return d;
}

/** A temporary copy of the golden vectors' keys/ and bins/, laid out as signing.py's cwd. */
export function vectorWorkdir(): string {
  const d = tempDir();
  cpSync(join(VECTORS, 'keys'), join(d, 'keys'), { recursive: true });
  cpSync(join(VECTORS, 'bins'), join(d, 'bins'), { recursive: true });
  return d;
}

export function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** An in-process Io that records what a command printed. */
export function captureIo(cwd: string, env: NodeJS.ProcessEnv = {}): Io & { err: string; out: string } {
  const io = {
    cwd,
    env,
    err: '',
    out: '',
    stderr: (t: string) => {
      io.err += t;
    },
    stdout: (t: string) => {
      io.out += t;
    },
  };
  return io;
}
