// Benchmarks of the device replay and the full postbuild, run by bench/run.js after the signing.py comparison.
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

/**
 * Full postbuild against the documented manual flow (`gzip -9` then signing.py on the .gz), on the
 * real-code image when BENCH_CORE_DIR names an esp8266/Arduino checkout, else the synthetic one;
 * and what the emulator's replays cost of it.
 */
export async function postbuildSection({ root, work, signingPy, python, median, cli, rounds, nodes }) {
  const { spawnSync } = await import('node:child_process');
  const { mkdirSync, writeFileSync: write, copyFileSync, statSync } = await import('node:fs');
  const { renderHeader } = await import('../dist/header-gen/header.js');
  const { realCodeImage, realCodeProblem } = await import('./real-code.js');
  const pub = readFileSync(join(root, 'sample', 'Blink', 'public.key'));
  const sketch = join(work, 'Bench');
  const build = join(work, 'build');
  mkdirSync(join(build, 'core'), { recursive: true });
  mkdirSync(sketch, { recursive: true });
  copyFileSync(join(root, 'sample', 'Blink', 'private.key'), join(sketch, 'private.key'));
  copyFileSync(join(root, 'sample', 'Blink', 'public.key'), join(sketch, 'public.key'));
  const header = join(build, 'core', 'Updater_Signing.h');
  write(header, renderHeader(pub));
  const real = realCodeProblem(process.env.BENCH_CORE_DIR) === null;
  const image = real ? realCodeImage(process.env.BENCH_CORE_DIR, 1 << 20, pub) : makeImage({ size: 1 << 20, embed: pub, label: 'bench postbuild' });
  write(join(build, 'Bench.ino.bin'), image);
  const ours = [cli, 'postbuild', '--sketch-dir', sketch, '--build-dir', build, '--project-name', 'Bench.ino', '--core-version', '3.1.2',
    '--flash-size', '4M', '--flash-mode', 'dio', '--fs-start', '0x300000', '--fs-end', '0x3FA000', '--compress'];
  const hasGzip = spawnSync('gzip', ['--version'], { stdio: 'ignore' }).status === 0;
  // CPU time (user + system, from GNU time) as well as wall time: on a machine shared with other
  // work the wall times of a multi-threaded Node and a single-threaded gzip suffer differently
  const timer = spawnSync('/usr/bin/time', ['-f', '%U %S', 'true'], { encoding: 'utf8' }).status === 0 ? '/usr/bin/time' : null;
  const run = (cmd, args, opts = {}) => {
    const r = timer ? spawnSync(timer, ['-f', 'cpu %U %S', cmd, ...args], { ...opts, encoding: 'buffer', maxBuffer: 1 << 24 }) : spawnSync(cmd, args, { ...opts, maxBuffer: 1 << 24 });
    const line = timer ? r.stderr.toString().trim().split('\n').pop() : '';
    const cpu = timer ? line.split(' ').slice(1).reduce((s, x) => s + Number(x) * 1000, 0) : 0;
    return { r, cpu };
  };
  const manual = () => {
    const gz = run('gzip', ['-9', '-n', '-c', join(build, 'Bench.ino.bin')]);
    write(join(work, 'manual.bin.gz'), gz.r.stdout);
    const py = run(python, ['-I', signingPy, '--mode', 'sign', '--privatekey', join(sketch, 'private.key'), '--bin', join(work, 'manual.bin.gz'), '--out', join(work, 'manual.bin.gz.signed')], { stdio: ['ignore', 'ignore', 'pipe'] });
    if (py.r.status !== 0) throw new Error('signing.py failed');
    return gz.cpu + py.cpu;
  };
  // every Node binary and the manual flow, interleaved round by round
  const t = { manual: [], ...Object.fromEntries(nodes.map((n) => [n.name, []])) };
  const cpu = { manual: [], ...Object.fromEntries(nodes.map((n) => [n.name, []])) };
  for (let i = 0; i < Math.max(5, Math.floor(rounds / 2)) + 1; i++) {
    for (const n of nodes) {
      const a = process.hrtime.bigint();
      const { r, cpu: c } = run(n.bin, ours, { stdio: ['ignore', 'ignore', 'pipe'] });
      if (r.status !== 0) throw new Error(`postbuild failed on ${n.name}: ${r.stderr}`);
      if (i > 0) {
        t[n.name].push(Number(process.hrtime.bigint() - a) / 1e6);
        cpu[n.name].push(c);
      }
    }
    if (signingPy && hasGzip) {
      const b = process.hrtime.bigint();
      const c = manual();
      if (i > 0) {
        t.manual.push(Number(process.hrtime.bigint() - b) / 1e6);
        cpu.manual.push(c);
      }
    }
  }
  console.log(`\n  full postbuild --compress on a 1 MiB ${real ? 'real-code' : 'synthetic (set BENCH_CORE_DIR for real code)'} image (gzip + sign + legacy + smoke test of every artifact):`);
  const cpuNote = (k) => (timer ? `, CPU ${median(cpu[k]).toFixed(0)} ms` : '');
  if (t.manual.length) console.log(`    gzip -9 && signing.py on the .gz:  median ${median(t.manual).toFixed(1)} ms${cpuNote('manual')}`);
  for (const n of nodes) {
    const target = n.name.startsWith('node v20') ? '1.1' : '0.85';
    const ratio = t.manual.length ? ` → ratio ${(median(t[n.name]) / median(t.manual)).toFixed(2)}× (target ≤ ${target}×)${timer ? `; CPU ratio ${(median(cpu[n.name]) / median(cpu.manual)).toFixed(2)}×` : ''}` : '';
    console.log(`    ${n.name} postbuild --compress: median ${median(t[n.name]).toFixed(1)} ms${cpuNote(n.name)}${ratio}`);
  }
  if (!t.manual.length) console.log(`    manual flow skipped: ${signingPy ? 'gzip is not on PATH' : 'no signing.py to compare'}`);
  if (hasGzip) {
    const gz = spawnSync('gzip', ['-9', '-n', '-c', join(build, 'Bench.ino.bin')], { maxBuffer: 1 << 24 }).stdout.length;
    const ourGz = statSync(join(build, 'Bench.ino.bin.gz')).size;
    console.log(`    compressed size: ${ourGz} bytes vs gzip -9 ${gz} bytes → ${(ourGz / gz).toFixed(4)}×`);
  }
  // the emulator's share: its replays of what this postbuild wrote, in a fresh process per Node
  const artifacts = ['Bench.ino.bin', 'Bench.ino.bin.signed', 'Bench.ino.bin.legacy_sig', 'Bench.ino.bin.gz.signed'].map((f) => join(build, f));
  for (const n of nodes) {
    const runs = Array.from({ length: 5 }, () => JSON.parse(spawnSync(n.bin, [join(root, 'bench', 'replay-once.js'), ...artifacts, header], { encoding: 'utf8' }).stdout));
    if (!runs.every((r) => r.ok)) throw new Error('a replay of a postbuild artifact failed');
    const m = (k) => median(runs.map((r) => r[k])).toFixed(1);
    console.log(`    ${n.name} emulator share (fresh process): loading ${m('load')} ms, first replay (.bin.signed, cold) ${m('first')} ms, the other two ${m('rest')} ms`);
  }
}
