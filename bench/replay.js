// The emulator's replay of a 1 MiB signed gzip, warm, as postbuild runs it (the unsigned image is
// known), and the same file with a lying ISIZE, which takes the sector-by-sector uzlib model.
import { generateKeyPairSync } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Device } from '../dist/emulator/device.js';
import { namedLayout } from '../dist/emulator/layouts.js';
import { profileFor } from '../dist/emulator/profiles.js';
import { gzipForDevice } from '../dist/compress/gzip.js';
import { makeImage } from '../dist/image/image.js';
import { appendSignature, sha256, signDigestInfo } from '../dist/signing/sign.js';

const rounds = Number(process.env.BENCH_ROUNDS ?? 21);
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const pub = Buffer.from(publicKey.export({ type: 'spki', format: 'pem' }));
const img = makeImage({ size: 1 << 20, flashMode: 'dio' });
const gz = gzipForDevice(img, { alignTo4: true });
const signed = (payload) => appendSignature(payload, signDigestInfo(sha256(payload), privateKey));
const lying = Buffer.from(gz);
lying.writeUInt32LE(img.length + 8192, lying.length - 4);

function median(fn) {
  const times = [];
  for (let i = 0; i < rounds; i++) {
    const t = performance.now();
    fn();
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b)[rounds >> 1];
}

const replay = (file, expected) => () => {
  const device = new Device({ profile: profileFor('3.1.2'), layout: namedLayout('4M2M'), runningSketchSize: 300_000, runningFlashMode: 'dio', embeddedKey: pub });
  const v = device.replay(file, { expected });
  if (!v.accepted) throw new Error(`bench file rejected: ${v.cause}`);
};

export function replaySection() {
  const a = median(replay(signed(gz), img));
  const b = median(replay(signed(lying)));
  return [
    `emulator replay, 1 MiB image as signed gzip (${gz.length} bytes), 3.1.2, warm median of ${rounds}: ${a.toFixed(1)} ms`,
    `  the same gzip with ISIZE + 8192 (the sector-by-sector uzlib model): ${b.toFixed(1)} ms`,
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(replaySection().join('\n'));
