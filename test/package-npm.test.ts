/**
 * The npm package as a user installs it: npm pack, the tarball installed into a temporary global
 * prefix, and the installed command run for --version, a sign and a build's prebuild + postbuild.
 * Run by npm run test:package (it installs the dependencies from the registry).
 */
import { execa } from 'execa';
import { cpSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parseHeader } from '../src/header-gen/header.js';
import { makeImage } from '../src/image/image.js';
import { deviceAt } from './device-helpers.js';
import { ROOT, sha256, tempDir, VECTORS } from './helpers.js';

const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
const npm = (args: string[], cwd: string) => execa('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, reject: false, all: true });

describe('npm pack, npm install -g from the tarball', () => {
  const work = tempDir('esp8266 sign npm-');
  const prefix = join(work, 'global prefix');
  let tarball = '';
  const installed = (args: string[], cwd = work) => execa(join(prefix, 'bin', 'esp8266-sign'), args, { cwd, reject: false, stdin: 'ignore', env: { PATH: `${join(prefix, 'bin')}:${process.env.PATH}` } });

  test('the tarball holds the launcher (with its Node 20 code cache), the two bundles, README and package.json, nothing else', async () => {
    const r = await npm(['pack', '--json', '--pack-destination', work], ROOT);
    expect(r.exitCode, r.all).toBe(0);
    const [info] = JSON.parse(String(r.stdout)) as Array<{ filename: string; files: Array<{ path: string }> }>;
    tarball = join(work, info!.filename);
    expect(info!.files.map((f) => f.path).sort()).toEqual(['README.md', 'bin/compile-cache.js', 'bin/esp8266-sign.js', 'bin/package.json', 'dist/bundle/cli.cjs', 'dist/bundle/program.cjs', 'package.json']);
  }, 60_000);

  test('installs into a global prefix and reports its version', async () => {
    const r = await npm(['install', '-g', '--prefix', prefix, tarball], work);
    expect(r.exitCode, r.all).toBe(0);
    const v = await installed(['--version']);
    expect(v.exitCode, v.stderr).toBe(0);
    expect(`${v.stdout}${v.stderr}`.trim()).toBe(version);
  }, 180_000);

  test('sign writes the golden vector bytes', async () => {
    cpSync(join(VECTORS, 'keys'), join(work, 'keys'), { recursive: true });
    cpSync(join(VECTORS, 'bins'), join(work, 'bins'), { recursive: true });
    const manifest = JSON.parse(readFileSync(join(VECTORS, 'manifest.json'), 'utf8')) as { cases: Array<{ id: string; argv: string[]; outputs: Array<{ path: string; sha256: string }> }> };
    const c = manifest.cases.find((x) => x.id === 'sign/firmware-e9_bin/rsa2048-pkcs1')!;
    for (const o of c.outputs) mkdirSync(join(work, o.path, '..'), { recursive: true });
    const r = await installed(c.argv);
    expect(r.exitCode, r.stderr).toBe(0);
    for (const o of c.outputs) expect(sha256(readFileSync(join(work, o.path))), o.path).toBe(o.sha256);
  });

  test('prebuild + postbuild --compress sign a build that a 3.1.2 device boots', async () => {
    const sketch = join(work, 'My Sketch');
    const build = join(work, 'build');
    mkdirSync(sketch);
    mkdirSync(join(build, 'core'), { recursive: true });
    cpSync(join(VECTORS, 'keys', 'rsa2048.pkcs8.pem'), join(sketch, 'private.key'));
    cpSync(join(VECTORS, 'keys', 'rsa2048.public.pem'), join(sketch, 'public.key'));
    const pre = await installed(['prebuild', '--sketch-dir', sketch, '--build-dir', build, '--core-version', '3.1.2']);
    expect(pre.exitCode, pre.stderr).toBe(0);
    const embed = parseHeader(readFileSync(join(build, 'core', 'Updater_Signing.h'), 'latin1'))!;
    const bin = makeImage({ flashMode: 'dio', size: 300_000, embed, label: 'npm package test' });
    writeFileSync(join(build, 'sketch.ino.bin'), bin);
    const post = await installed(['postbuild', '--sketch-dir', sketch, '--build-dir', build, '--project-name', 'sketch.ino', '--core-version', '3.1.2',
      '--flash-size', '4M', '--flash-mode', 'dio', '--fs-start', '0x300000', '--fs-end', '0x3FA000', '--compress']);
    expect(post.exitCode, post.stderr).toBe(0);
    expect(readdirSync(build)).toEqual(expect.arrayContaining(['sketch.ino.bin.signed', 'sketch.ino.bin.gz.signed']));
    for (const f of ['sketch.ino.bin.signed', 'sketch.ino.bin.gz.signed']) {
      expect(deviceAt('3.1.2', { layout: '4M2M', runningSketchSize: bin.length }).replay(readFileSync(join(build, f))), f).toMatchObject({ accepted: true, boots: true });
    }
  });
});
