// Compressed size against GNU gzip -9, for the synthetic image and (with BENCH_CORE_DIR) a real-code
// image, at both levels; and each level's time for 1 MiB in a fresh process of every Node measured.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipForDevice } from '../dist/compress/gzip.js';
import { makeImage } from '../dist/image/image.js';
import { realCodeImage, realCodeProblem } from './real-code.js';

export function compressionSection({ root, work, nodes, median }) {
  const images = [{ name: 'synthetic (makeImage)', bytes: makeImage({ size: 1 << 20, label: 'bench postbuild' }), target: { default: 1.0, max: 1.0 } }];
  const problem = realCodeProblem(process.env.BENCH_CORE_DIR);
  if (!problem) images.push({ name: 'real code (BENCH_CORE_DIR)', bytes: realCodeImage(process.env.BENCH_CORE_DIR, 1 << 20), target: { default: 0.998, max: 0.985 } });
  console.log('\n  compressed size of a 1 MiB image vs GNU gzip -9 (smaller is better):');
  const hasGzip = spawnSync('gzip', ['--version'], { stdio: 'ignore' }).status === 0;
  for (const img of images) {
    const gz = hasGzip ? spawnSync('gzip', ['-9', '-n', '-c'], { input: img.bytes, maxBuffer: 1 << 26 }).stdout.length : 0;
    const sizes = ['default', 'max'].map((level) => {
      const n = gzipForDevice(img.bytes, { level, alignTo4: true }).length;
      return `${level} ${n} B${gz ? ` = ${(n / gz).toFixed(4)}× (target ≤ ${img.target[level]}×)` : ''}`;
    });
    console.log(`    ${img.name.padEnd(28)} gzip -9 ${gz || '(not on PATH)'} B; ${sizes.join('; ')}`);
  }
  if (problem) console.log(`    real-code image skipped: ${problem}`);
  const file = join(work, 'deflate-input.bin');
  writeFileSync(file, images[images.length - 1].bytes);
  const script = join(root, 'bench', 'deflate-once.js');
  for (const n of nodes) {
    const ms = (level) => median(Array.from({ length: 5 }, () => Number(spawnSync(n.bin, [script, file, level], { encoding: 'utf8' }).stdout)));
    console.log(`    ${n.name}, ${images[images.length - 1].name}, one deflate in a fresh process: default ${ms('default').toFixed(0)} ms, max ${ms('max').toFixed(0)} ms per MiB (target ≤ 1500)`);
  }
}
