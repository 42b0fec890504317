// npm run demo: the main job on the bundled sample, through the built CLI, as a user would run it.
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeImage } from '../dist/image/image.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'bin', 'esp8266-sign.js');
const out = join(root, 'demo-output');
rmSync(out, { recursive: true, force: true });
const sketch = join(out, 'Blink');
const build = join(out, 'build');
cpSync(join(root, 'sample', 'Blink'), sketch, { recursive: true });
chmodSync(join(sketch, 'private.key'), 0o600);
mkdirSync(join(build, 'core'), { recursive: true });

function step(title, args) {
  console.log(`\n$ esp8266-sign ${args.map((a) => (a.includes(' ') ? JSON.stringify(a) : a)).join(' ')}`);
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: out, encoding: 'utf8' });
  process.stdout.write(r.stderr.replace(/^(?=.)/gm, '  '));
  if (r.stdout) process.stdout.write(r.stdout.replace(/^(?=.)/gm, '  '));
  console.log(`  (${title}: exit ${r.status})`);
  return r;
}

function show(path) {
  const data = readFileSync(path);
  const sha = createHash('sha256').update(data).digest('hex');
  console.log(`  ${relative(root, path).padEnd(46)} ${String(statSync(path).size).padStart(8)} bytes  sha256 ${sha.slice(0, 16)}…`);
}

console.log('esp8266-sign demo — sample sketch with a THROW-AWAY key pair (never use it for devices)');
console.log(`Firmware: a synthetic 4M/dio image built by the project's own image helper.`);
const pub = readFileSync(join(sketch, 'public.key'));
const firmware = makeImage({ flashMode: 'dio', flashSize: '4M', size: 320_000, embed: pub, label: 'Blink demo' });
writeFileSync(join(build, 'Blink.ino.bin'), firmware);

step('prebuild header', ['--mode', 'header', '--publickey', 'Blink/public.key', '--out', 'build/core/Updater_Signing.h']);
step('sign + legacy', ['--mode', 'sign', '--privatekey', 'Blink/private.key', '--bin', 'build/Blink.ino.bin',
  '--out', 'build/Blink.ino.bin.signed', '--legacy', 'build/Blink.ino.bin.legacy_sig']);

console.log('\nWritten:');
for (const f of ['core/Updater_Signing.h', 'Blink.ino.bin', 'Blink.ino.bin.signed', 'Blink.ino.bin.legacy_sig']) show(join(build, f));

const r = step('signing the signed file again is refused', ['sign', '--privatekey', 'Blink/private.key', '--bin', 'build/Blink.ino.bin.signed']);
if (r.status === 0) process.exitCode = 1;

console.log('\nReplaying the artifacts on an emulated ESP8266 (core 3.1.2, 4M flash with a 2M filesystem):');
const device = ['--core', '3.1.2', '--pubkey', 'Blink/public.key', '--layout', '4M2M', '--running-flash-mode', 'dio'];
const ok = step('device replay of the signed sample', ['emulate', 'build/Blink.ino.bin.signed', ...device]);
const tampered = readFileSync(join(build, 'Blink.ino.bin.signed'));
tampered[0x2000] ^= 0x01;
writeFileSync(join(build, 'Blink.ino.bin.tampered'), tampered);
const bad = step('device replay of a copy with one bit flipped', ['emulate', 'build/Blink.ino.bin.tampered', ...device]);
step('the legacy file, which only 2.5.x devices verify', ['verify', 'build/Blink.ino.bin.legacy_sig', '--pubkey', 'Blink/public.key']);
if (ok.status !== 0 || bad.status !== 3) process.exitCode = 1;

console.log('\nThe IDE pipeline on the same sketch folder (what platform.local.txt runs for every build):');
const hooks = ['--sketch-dir', 'Blink', '--build-dir', 'build'];
const board = ['--project-name', 'Blink.ino', '--core-version', '3.1.2', '--flash-size', '4M', '--flash-mode', 'dio', '--fs-start', '0x200000', '--fs-end', '0x3FA000'];
step('prebuild', ['prebuild', ...hooks, '--core-version', '3.1.2']);
const pb = step('postbuild with compression, proven on 3.1.2 and a 3.0.2 fleet', ['postbuild', ...hooks, ...board, '--compress', '--fleet', '3.0.2']);
console.log('\nWritten:');
for (const f of ['Blink.ino.bin.signed', 'Blink.ino.bin.legacy_sig', 'Blink.ino.bin.gz', 'Blink.ino.bin.gz.signed', 'Blink.ino.manifest.json']) show(join(build, f));

console.log('\nA failing build, in a build folder of its own (build-qio/) so the files above stay:');
console.log('the firmware was compiled for QIO, but the board menu (and the device) says DIO.');
const qio = join(out, 'build-qio');
cpSync(join(build, 'core'), join(qio, 'core'), { recursive: true });
writeFileSync(join(qio, 'Blink.ino.bin'), makeImage({ flashMode: 'qio', flashSize: '4M', size: 320_000, embed: pub, label: 'Blink demo' }));
const fail = step('postbuild refuses to call it signed, and leaves no artifact behind', ['postbuild', '--sketch-dir', 'Blink', '--build-dir', 'build-qio', ...board]);
if (pb.status !== 0 || fail.status !== 3) process.exitCode = 1;
console.log(`\nEverything listed above is in ${relative(process.cwd(), out) || out}/; the README's emulate, verify and inspect examples run there as written.`);
