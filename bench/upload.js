// The upload benchmark: a 1 MiB signed image to the ArduinoOTA test device over loopback,
// `esp8266-sign upload` against the real espota.py (ESPOTA_PY; never part of this project) on the
// same device, interleaved; both medians, the ratio, and upload's peak memory.
// Run alone with `node bench/upload.js` after `npm run build`, or as part of `npm run bench`.
import { spawn, spawnSync } from 'node:child_process';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { EXTRA_CA, nodeEnvironments, plainPython, withoutExtraCa } from './hooks.js';
import { renderHeader } from '../dist/header-gen/header.js';
import { makeImage } from '../dist/image/image.js';
import { fingerprint } from '../dist/keys/check.js';
import { appendSignature, sha256, signDigestInfo } from '../dist/signing/sign.js';

const ROUNDS = Number(process.env.BENCH_UPLOAD_ROUNDS ?? 7);

/** The test device runs in its own process, so the uploads it serves are timed from outside. */
async function startDevice(root, cache, pub) {
  const entry = join(cache, 'ota-device.mjs');
  await build({
    stdin: {
      contents: `import { ArduinoOtaDevice } from './test/devices/arduino-ota-device.ts';
        const d = new ArduinoOtaDevice({ key: Buffer.from(process.env.DEVICE_KEY, 'base64'), layout: '4M1M', runningSketchSize: 1 << 20 });
        d.start().then((port) => console.log(port));`,
      resolveDir: root, loader: 'ts', sourcefile: 'bench-device.ts',
    },
    bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile: entry, logLevel: 'warning',
  });
  const child = spawn(process.execPath, [entry], { env: { ...process.env, DEVICE_KEY: pub.toString('base64') }, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve) => child.stdout.once('data', (d) => resolve(Number(String(d).trim()))));
  return { port, stop: () => child.kill() };
}

const freePort = () => new Promise((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => resolve(p));
  });
});

function run(cmd, args, env = process.env) {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => (code === 0 ? resolve(Number(process.hrtime.bigint() - start) / 1e6) : reject(new Error(`${cmd} ${args.join(' ')} failed (${code}): ${err}`))));
  });
}

export async function uploadSection({ root, median, python = 'python3', nodes = [{ name: `node ${process.version}`, bin: process.execPath }] }) {
  const work = mkdtempSync(join(tmpdir(), 'esp8266-sign-bench-upload-'));
  const cache = join(root, 'bench', '.cache');
  mkdirSync(cache, { recursive: true });
  const keyPem = readFileSync(join(root, 'sample', 'Blink', 'private.key'));
  const pub = readFileSync(join(root, 'sample', 'Blink', 'public.key'));
  const key = createPrivateKey(keyPem);
  // a build folder as postbuild leaves it, so upload takes its manifest path and pre-check
  const bin = makeImage({ size: 1 << 20, embed: pub, label: 'bench upload' });
  const signed = appendSignature(bin, signDigestInfo(sha256(bin), key));
  mkdirSync(join(work, 'core'));
  writeFileSync(join(work, 'core', 'Updater_Signing.h'), renderHeader(pub));
  writeFileSync(join(work, 'fw.bin'), bin);
  writeFileSync(join(work, 'fw.bin.signed'), signed);
  writeFileSync(join(work, 'upload.bin'), signed); // espota would swap in fw.bin.signed itself: give it no .bin beside
  const hex = (b) => sha256(b).toString('hex');
  writeFileSync(join(work, 'fw.manifest.json'), JSON.stringify({
    tool: 'esp8266-sign', manifestVersion: 2, project: 'fw', core: '3.1.2',
    build: { flashSize: '4M', flashSizeBytes: 4 << 20, flashMode: 'dio', fsStart: '0x300000', fsEnd: '0x3fa000' },
    input: { name: 'fw.bin', size: bin.length, sha256: hex(bin) }, key: { fingerprint: fingerprint(createPublicKey(key)) }, signingEnabledInFirmware: true,
    artifacts: [{ name: 'fw.bin.signed', kind: 'signed', size: signed.length, sha256: hex(signed), verdicts: [] }],
    targets: [{ core: '3.1.2', artifact: 'fw.bin.signed' }], upload: 'fw.bin.signed',
  }));

  const espota = process.env.ESPOTA_PY;
  let note = null;
  if (!espota) note = 'ESPOTA_PY is not set';
  else if (!existsSync(espota)) note = `ESPOTA_PY=${espota} does not exist`;
  else if (spawnSync(python, ['-c', '0']).status !== 0) note = `${python} is not available`;

  const device = await startDevice(root, cache, pub);
  const cli = join(root, 'bin', 'esp8266-sign.js');
  const net = ['--host', '127.0.0.1', '--port', String(device.port), '--host-ip', '127.0.0.1', '--host-port', '0', '--quiet'];
  // each Node as set up and without NODE_EXTRA_CA_CERTS, espota.py also on /usr/bin/python3 (bench/hooks.js)
  const envs = nodeEnvironments();
  const plainPy = note ? null : plainPython(python);
  const pythons = note ? [] : [{ name: python, bin: python }, ...(plainPy ? [{ name: plainPy, bin: plainPy }] : [])];
  // every Node the bench measures (20 and 24), each with and without the pre-check
  const tasks = nodes.flatMap((n) => envs.flatMap((e) => [
    { id: `${n.name}: upload (with the pre-check)${e.label}`, args: () => [cli, 'upload', ...net, '--build-dir', work, '--project-name', 'fw'], cmd: n.bin, env: e.env, clean: e.clean, inherited: !e.without },
    { id: `${n.name}: upload --no-check${e.label}`, args: () => [cli, 'upload', ...net, '--no-check', join(work, 'fw.bin.signed')], cmd: n.bin, env: e.env, clean: e.clean, inherited: !e.without },
    { id: `${n.name}: node -e 0${e.label}`, args: () => ['-e', '0'], cmd: n.bin, env: e.env, start: true },
  ]));
  for (const p of pythons) {
    tasks.push({ id: `espota.py on ${p.name}`, py: p, cmd: p.bin, args: async () => ['-I', espota, '-i', '127.0.0.1', '-p', String(device.port), '-I', '127.0.0.1', '-P', String(await freePort()), '-f', join(work, 'upload.bin')] });
    tasks.push({ id: `${p.name} -I -c 0`, cmd: p.bin, args: () => ['-I', '-c', '0'], start: true });
  }
  const times = new Map(tasks.map((t) => [t.id, []]));
  try {
    for (let r = 0; r < ROUNDS + 1; r++) {
      for (let i = 0; i < tasks.length; i++) {
        const t = tasks[(i + r) % tasks.length];
        const ms = await run(t.cmd, await t.args(), t.env);
        if (r > 0) times.get(t.id).push(ms); // one warm-up round
      }
    }
    const rssFile = join(work, 'maxrss');
    // memory without the certificate hook: the certificates Node 20 parses would raise the bare baseline
    const memEnv = { ...withoutExtraCa(), MAXRSS_FILE: rssFile };
    const preload = join(root, 'bench', 'maxrss.cjs');
    await run(process.execPath, ['--require', preload, cli, 'upload', ...net, '--build-dir', work, '--project-name', 'fw'], memEnv);
    const peak = Number(readFileSync(rssFile, 'utf8')) / 1024;
    await run(process.execPath, ['--require', preload, cli, 'upload', ...net, '--no-check', join(work, 'fw.bin.signed')], memEnv);
    const peakNoCheck = Number(readFileSync(rssFile, 'utf8')) / 1024;
    await run(process.execPath, ['--require', preload, '-e', '0'], memEnv);
    const bare = Number(readFileSync(rssFile, 'utf8')) / 1024;
    await run(process.execPath, ['--require', preload, cli, 'upload', '--help'], memEnv);
    const loaded = Number(readFileSync(rssFile, 'utf8')) / 1024;

    console.log(`\n  ArduinoOTA upload of a 1 MiB signed image (${signed.length} bytes) to the test device over loopback, ${ROUNDS} interleaved rounds, median wall ms (peak memory: ${process.version}):`);
    for (const t of tasks) console.log(`    ${t.id.padEnd(74)} ${median(times.get(t.id)).toFixed(0).padStart(6)}`);
    const espotas = tasks.filter((t) => t.py);
    if (espotas.length) {
      const ms = (t) => median(times.get(t.id));
      // as the machine is set up: the bench's environment against PATH's python3
      for (const t of tasks.filter((x) => x.inherited)) {
        console.log(`    ${t.id}: ${(ms(t) / ms(espotas[0])).toFixed(2)}× espota.py on ${espotas[0].py.name}, both as this machine is set up (target ≤ 1.0×)`);
      }
      // and without the hooks the bench can take away
      const cleanPy = espotas.at(-1);
      if (EXTRA_CA || espotas.length > 1) {
        for (const t of tasks.filter((x) => x.clean)) console.log(`    ${t.id}: ${(ms(t) / ms(cleanPy)).toFixed(2)}× espota.py on ${cleanPy.py.name} (${EXTRA_CA ? 'Node without NODE_EXTRA_CA_CERTS' : 'Node as set up'}) (target ≤ 1.0×)`);
      }
    } else console.log(`    espota.py side skipped: ${note}.`);
    const file = signed.length / 1048576;
    console.log(`    upload peak RSS ${peak.toFixed(1)} MiB (--no-check ${peakNoCheck.toFixed(1)}); bare node ${bare.toFixed(1)} MiB, the CLI loaded (upload --help) ${loaded.toFixed(1)} MiB`);
    console.log(`    beyond bare node and the ${file.toFixed(2)} MiB file: ${(peak - bare - file).toFixed(1)} MiB (--no-check ${(peakNoCheck - bare - file).toFixed(1)}); beyond the loaded CLI: ${(peak - loaded - file).toFixed(1)} MiB (target < 20 MiB)`);
  } finally {
    device.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  await uploadSection({ root: join(dirname(fileURLToPath(import.meta.url)), '..'), median });
}
