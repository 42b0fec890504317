// A fresh process pays for every built-in module it loads (node:zlib 1-2 ms, perf_hooks about 2,
// node:crypto up to 18), and build hooks and uploads are fresh processes. What only some runs
// need is loaded here, on first use: an upload of an uncompressed image never inflates anything.
import { createRequire } from 'node:module';

const load = createRequire(import.meta.url);
let zlibModule: typeof import('node:zlib') | undefined;
let cryptoModule: typeof import('node:crypto') | undefined;

/** node:zlib, loaded the first time a caller needs it. */
export function zlib(): typeof import('node:zlib') {
  return (zlibModule ??= load('node:zlib') as typeof import('node:zlib'));
}

/**
 * node:crypto, loaded the first time a caller needs it: 5-6 ms of a fresh process on Node 20 and
 * 8-18 ms on Node 24, which `--mode header` and prebuild never needed for a key the device reads.
 */
export function crypto(): typeof import('node:crypto') {
  return (cryptoModule ??= load('node:crypto') as typeof import('node:crypto'));
}

/** Milliseconds on a monotonic clock. The global `performance` would load perf_hooks first. */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
