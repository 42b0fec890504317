// Prints the milliseconds one deflate of the file takes in this fresh process (bench/compression.js).
import { readFileSync } from 'node:fs';
import { deflateRaw } from '../dist/compress/deflate/deflate.js';

const data = readFileSync(process.argv[2]);
const start = process.hrtime.bigint();
deflateRaw(data, process.argv[3]);
process.stdout.write(String(Number(process.hrtime.bigint() - start) / 1e6 * (1 << 20) / data.length));
