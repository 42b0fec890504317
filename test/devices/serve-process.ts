/** `esp8266-sign serve` as a child process on loopback: started on port 0, its address read from stderr. */
import { execa, type ResultPromise } from 'execa';
import { CLI } from '../helpers.js';

export interface ServeProcess {
  url: string;
  port: number;
  proc: ResultPromise;
  stdout: () => string;
  stderr: () => string;
  /** Sends SIGTERM and waits for the exit code. */
  stop: (signal?: NodeJS.Signals) => Promise<number>;
  /** Resolves when stderr or stdout has matched `pattern` (bounded). */
  waitFor: (pattern: RegExp, stream?: 'stdout' | 'stderr', timeoutMs?: number) => Promise<void>;
  /** The first `count` JSON access-log lines, once serve has written them (it writes once per event-loop turn). */
  jsonLines: (count: number) => Promise<Array<Record<string, unknown> & { status: number; reason: string }>>;
}

/** How long serve may take to start listening on a loaded 2-core machine. */
export const START_TIMEOUT_MS = 15_000;

export async function startServe(args: string[], env: Record<string, string> = {}): Promise<ServeProcess> {
  const listen = args.includes('--listen') ? [] : ['--listen', '127.0.0.1:0'];
  const proc = execa(process.execPath, [CLI, 'serve', ...listen, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    extendEnv: false,
    reject: false,
    stdin: 'ignore',
    buffer: false,
  });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const waitFor = (pattern: RegExp, stream: 'stdout' | 'stderr' = 'stderr', timeoutMs = 5000) =>
    new Promise<void>((resolve, reject) => {
      const started = Date.now();
      const tick = () => {
        if (pattern.test(stream === 'stderr' ? err : out)) return resolve();
        if (proc.exitCode !== null || Date.now() - started > timeoutMs) return reject(new Error(`serve never printed ${pattern} (exit ${proc.exitCode}):\n${err}`));
        setTimeout(tick, 10);
      };
      tick();
    });
  await waitFor(/serving .* on https?:\/\/[^ ]+:\d+\//, 'stderr', START_TIMEOUT_MS);
  const m = /serving .* on (https?):\/\/([^ ]+):(\d+)\//.exec(err)!;
  const port = Number(m[3]);
  const lines = () => out.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  return {
    jsonLines: async (count) => {
      await waitFor(new RegExp(`^(?:.*\\n){${count}}`), 'stdout');
      return lines().slice(0, count);
    },
    url: `${m[1]}://${m[2]}:${port}`,
    port,
    proc,
    stdout: () => out,
    stderr: () => err,
    waitFor,
    stop: async (signal = 'SIGTERM') => {
      proc.kill(signal);
      const r = await proc;
      return r.exitCode ?? -1;
    },
  };
}
