import { generateKeyPairSync } from 'node:crypto';
import { performance } from 'node:perf_hooks';
const load = async (root) => ({
  Device: (await import(`${root}/dist/emulator/device.js`)).Device,
  namedLayout: (await import(`${root}/dist/emulator/layouts.js`)).namedLayout,
  profileFor: (await import(`${root}/dist/emulator/profiles.js`)).profileFor,
});
const A = await load('/tmp/emu-old'), B = await load('/work/wt-emu');
const { gzipForDevice } = await import('/work/wt-emu/dist/compress/gzip.js');
const { makeImage } = await import('/work/wt-emu/dist/image/image.js');
const { appendSignature, sha256, signDigestInfo } = await import('/work/wt-emu/dist/signing/sign.js');
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const pub = Buffer.from(publicKey.export({ type: 'spki', format: 'pem' }));
const img = makeImage({ size: 1 << 20, flashMode: 'dio' });
const gz = gzipForDevice(img, { alignTo4: true });
const file = appendSignature(gz, signDigestInfo(sha256(gz), privateKey));
const lying = Buffer.from(gz); lying.writeUInt32LE(img.length + 8192, lying.length - 4);
const lfile = appendSignature(lying, signDigestInfo(sha256(lying), privateKey));
const run = (M, f, expected) => { const d = new M.Device({ profile: M.profileFor('3.1.2'), layout: M.namedLayout('4M2M'), runningSketchSize: 300000, runningFlashMode: 'dio', embeddedKey: pub }); const t = performance.now(); d.replay(f, { expected }); return performance.now() - t; };
const res = { a: [], b: [], la: [], lb: [] };
for (let i = 0; i < 31; i++) { res.a.push(run(A, file, img)); res.b.push(run(B, file, img)); if (i % 3 === 0) { res.la.push(run(A, lfile)); res.lb.push(run(B, lfile)); } }
const med = (x) => x.sort((p, q) => p - q)[x.length >> 1].toFixed(1);
console.log(`signed gzip 1 MiB replay (expected given): before ${med(res.a)} ms, after ${med(res.b)} ms`);
console.log(`lying ISIZE+8192: before (pako, stops at stream end) ${med(res.la)} ms, after (uzlib model) ${med(res.lb)} ms`);
