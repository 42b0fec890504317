// Benchmarks of later stages, run by bench/run.js after the signing.py comparison.
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipForDevice } from '../dist/compress/gzip.js';
import { Device } from '../dist/emulator/device.js';
import { namedLayout } from '../dist/emulator/layouts.js';
import { profileFor } from '../dist/emulator/profiles.js';
import { makeImage } from '../dist/image/image.js';
import { appendSignature, sha256, signDigestInfo } from '../dist/signing/sign.js';

export async function extraSections({ root, median }) {
  const key = createPrivateKey(readFileSync(join(root, 'sample', 'Blink', 'private.key')));
  const pub = readFileSync(join(root, 'sample', 'Blink', 'public.key'));
  const image = makeImage({ size: 1 << 20, embed: pub, label: 'bench replay' });
  const gz = gzipForDevice(image, { alignTo4: true });
  const signed = appendSignature(gz, signDigestInfo(sha256(gz), key));
  const times = [];
  let verdict;
  for (let i = 0; i < 25; i++) {
    const start = process.hrtime.bigint();
    const device = new Device({ profile: profileFor('3.1.2'), layout: namedLayout('4M1M'), runningSketchSize: image.length, runningFlashMode: 'dio', embeddedKey: pub });
    verdict = device.replay(signed, { chunk: 1460 });
    if (i >= 3) times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  if (!verdict.boots) throw new Error(`replay did not boot: ${verdict.cause}`);
  console.log(`\n  in-process replay of a 1 MiB image as signed gzip (${signed.length} bytes; Updater + eboot + boot check, core 3.1.2):`);
  console.log(`    median ${median(times).toFixed(1)} ms (target ≤ 30 ms)`);
}
