/**
 * gzipForDevice split across two threads: a worker deflates the last part while the caller goes
 * on (signing, replaying other artifacts), then `finish()` deflates the other part here and joins
 * them. The bytes are exactly gzipForDevice's; if the worker cannot run, `finish()` does its part.
 */
import { Worker } from 'node:worker_threads';
import { builtGzipWorker } from '../build-info.js';
import { deflatePart, deflateRanges, WINDOW, wrapGzip, type GzipOptions } from './gzip.js';

export interface PendingGzip {
  /** Deflates this thread's part, waits for the worker's, returns the gzip file. */
  finish(): Promise<Buffer>;
  /** Stops the worker when the result is no longer wanted. */
  cancel(): void;
}

export function startGzip(data: Uint8Array, opts: GzipOptions = {}): PendingGzip {
  const ranges = deflateRanges(data.length);
  const here = ranges.slice(0, -1);
  const [start, end] = ranges[ranges.length - 1]!;
  const inWorker = here.length ? deflateInWorker(data, start, end, opts.level) : null;
  return {
    async finish() {
      const parts = here.map(([s, e]) => deflatePart(data, s, e, opts.level));
      const last = (inWorker && (await inWorker.result)) ?? deflatePart(data, start, end, opts.level);
      return wrapGzip(data, [...parts, last], opts);
    },
    cancel: () => inWorker?.stop(),
  };
}

/** The part from a worker thread; resolves to null when the worker could not do it. */
function deflateInWorker(data: Uint8Array, start: number, end: number, level?: number): { result: Promise<Uint8Array | null>; stop(): void } | null {
  let worker: Worker;
  try {
    // only the bytes this part reads (its 32 KiB dictionary and itself) are copied to the worker
    const from = Math.max(0, start - WINDOW);
    const workerData = { data: new Uint8Array(data.subarray(from, end)), start: start - from, end: end - from, level };
    // the single executable carries the worker's code; elsewhere the built worker sits beside this
    // module (dist/compress and dist/bundle)
    worker = builtGzipWorker
      ? new Worker(builtGzipWorker, { eval: true, workerData })
      : new Worker(new URL('./gzip-worker.js', import.meta.url), { workerData });
  } catch {
    return null;
  }
  const result = new Promise<Uint8Array | null>((resolve) => {
    worker.once('message', (part: Uint8Array) => resolve(part));
    worker.once('error', () => resolve(null));
    worker.once('exit', () => resolve(null));
  });
  return { result, stop: () => void worker.terminate() };
}
