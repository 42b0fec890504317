// npm run bench: esp8266-sign against the real signing.py, measured side by side in one run.
// SIGNING_PY names a copy of esp8266/Arduino's tools/signing.py (never part of this project);
// without it, Python or OpenSSL, that side is skipped with a note. Ratios are what count here.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { prng } from '../dist/image/image.js';
import { compressionSection } from './compression.js';
import { executableSection } from './executable.js';
import { nodeEnvironments, plainPython } from './hooks.js';
import { nodeBinary } from './node-binaries.js';
import { extraSections, postbuildSection } from './sections.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'bin', 'esp8266-sign.js');
const rounds = Number(process.env.BENCH_ROUNDS ?? 21);
const work = mkdtempSync(join(tmpdir(), 'esp8266-sign-bench-'));
const key = join(root, 'sample', 'Blink', 'private.key');
const pub = join(root, 'sample', 'Blink', 'public.key');

const firmware = prng('bench 1 MiB', 1 << 20);
firmware.set([0xe9, 0x02, 0x02, 0x40]);
writeFileSync(join(work, 'fw.bin'), firmware);

function has(cmd, args) {
  return spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
}

/** Node binaries to measure: this one, and Node 24 from npm (bench/node-binaries.js; BENCH_NODE24=0 skips). */
function nodes() {
  const list = [{ name: `node ${process.version}`, bin: process.execPath }];
  if (process.env.BENCH_NODE24 === '0' || process.version.startsWith('v24.')) return list;
  const n24 = nodeBinary(24, (line) => console.log(`  ${line}`));
  if (n24.bin) list.push({ name: `node ${n24.version}`, bin: n24.bin });
  else console.log(`  Node 24 not measured: ${n24.reason}`);
  return list;
}

const signingPy = process.env.SIGNING_PY;
// pyenv's python3 is a shell shim; time the interpreter itself, as the core's bundled one is.
const python = process.env.PYTHON ?? (spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).stdout?.trim() || 'python3');
let pyNote = null;
if (!signingPy) pyNote = 'SIGNING_PY is not set';
else if (!existsSync(signingPy)) pyNote = `SIGNING_PY=${signingPy} does not exist`;
else if (!has(python, ['-c', '0'])) pyNote = `${python} is not available`;
else if (!has('openssl', ['version'])) pyNote = 'openssl is not on PATH';

const measured = nodes();
// each Node as set up and without NODE_EXTRA_CA_CERTS, signing.py also on /usr/bin/python3 (bench/hooks.js)
const variants = nodeEnvironments();
const plainPy = pyNote ? null : plainPython(python);
const tasks = [];
for (const base of measured) for (const v of variants) {
  const n = { ...base, name: `${base.name}${v.label}`, env: v.env };
  tasks.push({ id: `${n.name}: node -e 0`, group: 'start', node: n.name, env: n.env, cmd: n.bin, args: ['-e', '0'] });
  tasks.push({ id: `${n.name}: esp8266-sign --mode sign --legacy`, group: 'sign', node: n.name, env: n.env, cmd: n.bin,
    args: [cli, '--mode', 'sign', '--privatekey', key, '--bin', 'fw.bin', '--out', 'ours.signed', '--legacy', 'ours.legacy_sig'] });
  tasks.push({ id: `${n.name}: esp8266-sign --mode header`, group: 'header', node: n.name, env: n.env, cmd: n.bin,
    args: [cli, '--mode', 'header', '--publickey', pub, '--out', 'core/ours.h'] });
  tasks.push({ id: `${n.name}: bench/floor.cjs (the bare work)`, group: 'floor', node: n.name, env: n.env, cmd: n.bin,
    args: [join(root, 'bench', 'floor.cjs'), key, 'fw.bin', 'floor.signed', 'floor.legacy_sig'] });
}
if (!pyNote) {
  for (const [py, label] of [[python, ''], ...(plainPy ? [[plainPy, ` on ${plainPy}`]] : [])]) {
    tasks.push({ id: `signing.py --mode sign --legacy${label}`, group: 'sign', py: true, plain: !!label, cmd: py,
      args: ['-I', signingPy, '--mode', 'sign', '--privatekey', key, '--bin', 'fw.bin', '--out', 'py.signed', '--legacy', 'py.legacy_sig'] });
    tasks.push({ id: `signing.py --mode header${label}`, group: 'header', py: true, plain: !!label, cmd: py,
      args: ['-I', signingPy, '--mode', 'header', '--publickey', pub, '--out', 'core/py.h'] });
  }
}

const times = new Map(tasks.map((t) => [t.id, []]));
for (let r = 0; r < rounds + 2; r++) {
  // interleave, rotating the order each round so no command always runs first
  for (let i = 0; i < tasks.length; i++) {
    const t = tasks[(i + r) % tasks.length];
    const start = process.hrtime.bigint();
    const res = spawnSync(t.cmd, t.args, { cwd: work, env: t.env, stdio: ['ignore', 'ignore', 'pipe'] });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (res.status !== 0) throw new Error(`${t.id} failed: ${res.stderr}`);
    if (r >= 2) times.get(t.id).push(ms); // two warm-up rounds
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const med = (id) => median(times.get(id));

console.log(`esp8266-sign benchmark — ${rounds} interleaved rounds, medians of wall time (ms)`);
console.log(`machine: ${process.platform} ${process.arch}; 1 MiB pseudo-random image, RSA-2048\n`);
for (const t of tasks) console.log(`  ${t.id.padEnd(58)} ${med(t.id).toFixed(1).padStart(7)}`);
console.log('');
if (pyNote) console.log(`  signing.py side skipped: ${pyNote}.`);
/** A time beyond Node's start-up; a difference within the noise is said so, never printed negative. */
const beyond = (ms) => (ms > 0.5 ? `${ms.toFixed(1)} ms beyond node start-up` : 'within noise of node start-up');
for (const n of measured.flatMap((b) => variants.map((v) => ({ name: `${b.name}${v.label}`, without: v.without })))) {
  const start = med(`${n.name}: node -e 0`);
  for (const g of ['sign', 'header']) {
    const ours = med(tasks.find((t) => t.node === n.name && t.group === g).id);
    // as set up against as set up; without the hooks against signing.py on /usr/bin/python3
    const py = tasks.find((t) => t.py && t.group === g && t.plain === (n.without && !!plainPy)) ?? tasks.find((t) => t.py && t.group === g);
    const target = g === 'sign' ? '≤ 1.0×' : '≤ 1.1×';
    const ratio = py ? `${(ours / med(py.id)).toFixed(2)}× ${py.id.replace(/ --mode \S+( --legacy)?/, '')} (target ${target})` : 'no signing.py to compare';
    console.log(`  ${n.name} ${g.padEnd(6)}: ${ratio}; ${beyond(ours - start)}${g === 'sign' ? ' (target ≤ 7 ms)' : ''}`);
  }
  const floor = med(tasks.find((t) => t.node === n.name && t.group === 'floor').id);
  console.log(`  ${n.name} floor : the bare sign + legacy work alone takes ${beyond(floor - start)}`);
}
await extraSections({ root, work, signingPy: pyNote ? null : signingPy, python, median });
compressionSection({ root, work, nodes: measured, median });
await postbuildSection({ root, work, signingPy: pyNote ? null : signingPy, python, median, cli, rounds, nodes: measured });
await (await import('./upload.js')).uploadSection({ root, median, python, nodes: measured });
console.log((await import('./replay.js')).replaySection().join('\n'));
await (await import('./serve.js')).serveSection({ root, work, cli });
await executableSection({ root, work, median, cli, rounds });
rmSync(work, { recursive: true, force: true });
