/**
 * Worker entry: deflates one part of `workerData.data` (deflatePart) and posts the bytes back.
 * Started by startGzip so the slowest step of postbuild uses a second core.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { deflatePart } from './gzip.js';

const { data, start, end, level } = workerData as { data: Uint8Array; start: number; end: number; level?: number };
const part = deflatePart(data, start, end, level);
// hand the buffer over instead of copying it when the part owns it whole
const own = part.byteOffset === 0 && part.buffer.byteLength === part.length;
parentPort!.postMessage(part, own ? [part.buffer as ArrayBuffer] : []);
