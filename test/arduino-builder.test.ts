/**
 * A real build engine: Debian's arduino-builder compiles a sketch with the project's fake
 * esp8266-like core, after "esp8266-sign install" wrote our platform.local.txt into it.
 */
import { execa } from 'execa';
import { cpSync, rmSync, symlinkSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { FIXTURES, ROOT, runCli, tempDir, VECTORS } from './helpers.js';
import { deviceAt } from './device-helpers.js';
import { parseProperties, recipeLines } from '../src/arduino/recipes.js';

const builder = ['/usr/bin/arduino-builder', '/usr/local/bin/arduino-builder'].find((p) => existsSync(p));
if (!builder && process.env.CI) throw new Error('arduino-builder is missing in CI: .ci/run must install it (apt-get install -y arduino-builder)');
if (!builder) console.warn('SKIPPED: arduino-builder is not installed here, so the build-engine integration test does not run (apt-get install -y arduino-builder).');

/**
 * The fake core copied into `<root>/hardware/fakeesp/esp8266` with this machine's paths filled in.
 * `2.5.2` rewrites it the way that release's platform.txt differs (device-behaviour.md §2): the
 * header step in `recipe.hooks.core.prebuild.1`, the bundled `python`, and no `--legacy` file.
 */
function fakeCore(root: string, version: '3.1.2' | '2.5.2' = '3.1.2'): string {
  const core = join(root, 'hardware', 'fakeesp', 'esp8266');
  cpSync(join(FIXTURES, 'fake-core', 'esp8266'), core, { recursive: true });
  for (const f of ['platform.txt', join('tools', 'fake.mjs')]) {
    const p = join(core, f);
    writeFileSync(p, readFileSync(p, 'utf8').replaceAll('@NODE@', process.execPath).replaceAll('@ROOT@', ROOT));
  }
  if (version === '2.5.2') {
    const p = join(core, 'platform.txt');
    const text = readFileSync(p, 'utf8')
      .replace(/^name=.*$/m, 'name=Fake ESP8266 Boards (2.5.2)')
      .replace(/^version=.*$/m, 'version=2.5.2')
      .replace(/^runtime\.tools\.python3\.path=.*$/m, 'runtime.tools.python.path={runtime.platform.path}/tools/python')
      .replace(/^recipe\.hooks\.sketch\.prebuild\.pattern=.*$/m, 'recipe.hooks.core.prebuild.1.pattern="{runtime.tools.python.path}/python" "{runtime.tools.signing}" --mode header --publickey "{build.source.path}/public.key" --out "{build.path}/core/Updater_Signing.h"')
      .replace(/^recipe\.objcopy\.hex\.2\.pattern=.*$/m, 'recipe.objcopy.hex.2.pattern="{runtime.tools.python.path}/python" "{runtime.tools.signing}" --mode sign --privatekey "{build.source.path}/private.key" --bin "{build.path}/{build.project_name}.bin" --out "{build.path}/{build.project_name}.bin.signed"');
    expect(text).toContain('recipe.hooks.core.prebuild.1.pattern=');
    writeFileSync(p, text);
  }
  mkdirSync(join(root, 'tools'));
  return core;
}

function sketch(root: string, name: string, keys: Record<string, string>): string {
  const dir = join(root, name);
  mkdirSync(dir);
  writeFileSync(join(dir, `${name}.ino`), 'void setup() {}\nvoid loop() {}\n');
  for (const [file, key] of Object.entries(keys)) cpSync(join(VECTORS, 'keys', key), join(dir, file));
  return dir;
}

async function arduinoBuild(root: string, sketchDir: string, prefs: string[] = [], env: Record<string, string> = {}) {
  const build = join(root, `build-${readdirSync(root).length}`);
  mkdirSync(build);
  const name = sketchDir.split('/').pop()!;
  const args = ['-compile', '-hardware', join(root, 'hardware'), '-tools', join(root, 'tools'), '-fqbn', 'fakeesp:esp8266:fake', '-build-path', build, '-verbose'];
  for (const p of prefs) args.push('-prefs', p);
  const r = await execa(builder!, [...args, join(sketchDir, `${name}.ino`)], { reject: false, all: true, env });
  return { exitCode: r.exitCode, output: String(r.all), build, project: `${name}.ino` };
}

describe.skipIf(!builder)('arduino-builder with our platform.local.txt', () => {
  const root = tempDir('esp8266 sign builder-');
  const core = fakeCore(root);

  test('install writes platform.local.txt into the core', async () => {
    const r = await runCli(['install', '--core-dir', core]);
    expect(r.exitCode, r.stderr).toBe(0);
    const local = readFileSync(join(core, 'platform.local.txt'), 'utf8');
    expect(local).toContain('recipe.hooks.sketch.prebuild.pattern=');
    expect(local).toContain(`"${process.execPath}"`);
  });

  test('a sketch with a key pair: header, signed + legacy files, manifest, the upstream message', async () => {
    const dir = sketch(root, 'Signed', { 'private.key': 'rsa2048.pkcs1.pem', 'public.key': 'rsa2048.public.pem' });
    const b = await arduinoBuild(root, dir);
    expect(b.exitCode, b.output).toBe(0);
    expect(readFileSync(join(b.build, 'core', 'Updater_Signing.h'), 'latin1')).toMatch(/#define ARDUINO_SIGNING 1/);
    const signedPath = join(b.build, `${b.project}.bin.signed`);
    expect(b.output).toContain(`Signed binary: ${signedPath}`);
    const bin = readFileSync(join(b.build, `${b.project}.bin`));
    const v = deviceAt('3.1.2', { layout: '4M2M', runningSketchSize: bin.length }).replay(readFileSync(signedPath));
    expect(v).toMatchObject({ accepted: true, boots: true });
    expect(statSync(join(b.build, `${b.project}.bin.legacy_sig`)).size).toBe(bin.length + 260);
    const manifest = JSON.parse(readFileSync(join(b.build, `${b.project}.manifest.json`), 'utf8'));
    expect(manifest.artifacts.map((a: { name: string }) => a.name)).toEqual([`${b.project}.bin.signed`, `${b.project}.bin.legacy_sig`]);
    expect(manifest.build).toMatchObject({ flashSize: '4M', flashMode: 'dio', fsStart: '0x200000', fsEnd: '0x3fa000' });
  });

  test('a sketch without keys builds unchanged', async () => {
    const dir = sketch(root, 'Plain', {});
    const b = await arduinoBuild(root, dir);
    expect(b.exitCode, b.output).toBe(0);
    expect(readFileSync(join(b.build, 'core', 'Updater_Signing.h'), 'utf8')).toBe('#define ARDUINO_SIGNING 0\n');
    expect(existsSync(join(b.build, `${b.project}.bin`))).toBe(true);
    expect(existsSync(join(b.build, `${b.project}.bin.signed`))).toBe(false);
  });

  test('a mismatched key pair fails the build', async () => {
    const dir = sketch(root, 'Mismatch', { 'private.key': 'rsa2048.pkcs1.pem', 'public.key': 'rsa1024.public.pem' });
    const b = await arduinoBuild(root, dir);
    expect(b.exitCode).not.toBe(0);
    expect(b.output).toMatch(/does not belong to public key/);
    expect(existsSync(join(b.build, `${b.project}.bin.signed`))).toBe(false);
  });
});

describe.skipIf(!builder)('arduino-builder with a 2.5.2-style core', () => {
  const root = tempDir('esp8266 sign builder 2.5.2-');
  const core = fakeCore(root, '2.5.2');

  test('install overrides the 2.5.x header key, and a signed build verifies with the 2.5.x rules', async () => {
    const inst = await runCli(['install', '--core-dir', core]);
    expect(inst.exitCode, inst.stderr).toBe(0);
    const local = readFileSync(join(core, 'platform.local.txt'), 'utf8');
    expect(local).toMatch(/^recipe\.hooks\.core\.prebuild\.1\.pattern=.*prebuild/m);
    expect(local).not.toMatch(/^recipe\.hooks\.sketch\.prebuild/m);
    const dir = sketch(root, 'Old', { 'private.key': 'rsa2048.pkcs1.pem', 'public.key': 'rsa2048.public.pem' });
    const b = await arduinoBuild(root, dir);
    expect(b.exitCode, b.output).toBe(0);
    const signedPath = join(b.build, `${b.project}.bin.signed`);
    expect(b.output).toContain(`Signed binary: ${signedPath}`);
    expect(existsSync(join(b.build, `${b.project}.bin.legacy_sig`))).toBe(false);
    const verify = await runCli(['verify', signedPath, '--pubkey', join(dir, 'public.key'), '--core', '2.5.2']);
    expect(verify.exitCode, verify.stderr).toBe(0);
    const bin = readFileSync(join(b.build, `${b.project}.bin`));
    expect(deviceAt('2.5.2', { layout: '4M2M', runningSketchSize: bin.length }).replay(readFileSync(signedPath))).toMatchObject({ accepted: true, boots: true });
  });
});

describe.skipIf(!builder)('build properties for CI, without touching the core', () => {
  const root = tempDir('esp8266 sign props-');
  const core = fakeCore(root);
  const bin = join(root, 'bin');
  mkdirSync(bin);
  symlinkSync(join(ROOT, 'bin', 'esp8266-sign.js'), join(bin, 'esp8266-sign'));

  test('the README\'s --build-property lines (esp8266-sign on PATH) sign the build', async () => {
    rmSync(join(core, 'platform.local.txt'), { force: true });
    const facts = { version: '3.1.2', properties: parseProperties(readFileSync(join(core, 'platform.txt'), 'utf8')) };
    const props = recipeLines(facts, 'path').map(([k, v]) => `${k}=${v}`);
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    for (const p of props) expect(readme).toContain(`--build-property '${p}'`);
    const dir = sketch(root, 'CiSigned', { 'private.key': 'rsa2048.pkcs1.pem', 'public.key': 'rsa2048.public.pem' });
    // arduino-builder's -prefs is the same override as arduino-cli's --build-property
    const b = await arduinoBuild(root, dir, props, { PATH: `${bin}:${process.env.PATH}` });
    expect(b.exitCode, b.output).toBe(0);
    expect(b.output).toContain(`Signed binary: ${join(b.build, `${b.project}.bin.signed`)}`);
  });
});
