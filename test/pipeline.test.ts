/** prebuild + postbuild through the built CLI, in temp folders laid out like an Arduino build. */
import { spawnSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parseHeader, renderHeader } from '../src/header-gen/header.js';
import { makeImage, type FlashMode } from '../src/image/image.js';
import { EXECUTABLE, pathWithoutNode, runCli, sha256, tempDir, VECTORS } from './helpers.js';
import { deviceAt } from './device-helpers.js';

const PRIV = readFileSync(join(VECTORS, 'keys', 'rsa2048.pkcs8.pem'));
const PUB = readFileSync(join(VECTORS, 'keys', 'rsa2048.public.pem'));
const OTHER_PUB = readFileSync(join(VECTORS, 'keys', 'rsa1024.public.pem'));

interface Layout {
  root: string;
  sketch: string;
  build: string;
}

/** sketch/ with the given files, build/core/ empty. */
function arduinoBuild(files: Record<string, string | Buffer> = {}, sketchName = 'My Sketch'): Layout {
  const root = tempDir();
  const sketch = join(root, sketchName);
  const build = join(root, 'build');
  mkdirSync(sketch);
  mkdirSync(join(build, 'core'), { recursive: true });
  writeFileSync(join(sketch, `${sketchName}.ino`), 'void setup() {}\nvoid loop() {}\n');
  for (const [name, content] of Object.entries(files)) {
    writeFileSync(join(sketch, name), content);
    if (name === 'private.key') chmodSync(join(sketch, name), 0o600);
  }
  return { root, sketch, build };
}

/** The objcopy step: a firmware image that embeds the header's key bytes, as a real compile does. */
function compile(l: Layout, opts: { mode?: FlashMode; embed?: Buffer | null; size?: number } = {}): void {
  let embed = opts.embed;
  if (embed === undefined) {
    const header = readFileSync(join(l.build, 'core', 'Updater_Signing.h'), 'latin1');
    embed = parseHeader(header);
  }
  writeFileSync(join(l.build, 'sketch.ino.bin'), makeImage({ flashMode: opts.mode ?? 'dio', size: opts.size ?? 300_000, embed: embed ?? undefined, label: 'pipeline test' }));
}

const prebuild = (l: Layout, env: Record<string, string> = {}) => runCli(['prebuild', '--sketch-dir', l.sketch, '--build-dir', l.build, '--core-version', '3.1.2'], { env });
const postbuild = (l: Layout, extra: string[] = [], env: Record<string, string> = {}) =>
  runCli(['postbuild', '--sketch-dir', l.sketch, '--build-dir', l.build, '--project-name', 'sketch.ino', '--core-version', '3.1.2',
    '--flash-size', '4M', '--flash-mode', 'dio', '--fs-start', '0x300000', '--fs-end', '0x3FA000', ...extra], { env });
const out = (l: Layout, suffix: string) => join(l.build, `sketch.ino${suffix}`);
/** Every file an earlier postbuild (of this or the previous version) may have left. */
const STALE = ['.bin.signed', '.bin.legacy_sig', '.bin.gz', '.bin.gz.signed', '.bin.signed.json', '.manifest.json'];

async function build(l: Layout, extra: string[] = [], env: Record<string, string> = {}) {
  const pre = await prebuild(l, env);
  expect(pre.exitCode, pre.stderr).toBe(0);
  compile(l);
  return postbuild(l, extra, env);
}

describe('which keys', () => {
  test('no keys: signing off, silent, exit 0; only the manifest, naming the .bin as what devices get', async () => {
    const l = arduinoBuild();
    const r = await build(l);
    expect(r).toMatchObject({ exitCode: 0, stderr: '' });
    expect(readFileSync(join(l.build, 'core', 'Updater_Signing.h'), 'utf8')).toBe('#define ARDUINO_SIGNING 0\n');
    for (const s of ['.bin.signed', '.bin.legacy_sig', '.bin.gz', '.bin.signed.json']) expect(existsSync(out(l, s))).toBe(false);
    const m = JSON.parse(readFileSync(out(l, '.manifest.json'), 'utf8'));
    expect(m).toMatchObject({ manifestVersion: 2, key: null, signingEnabledInFirmware: false, upload: 'sketch.ino.bin', targets: [{ core: '3.1.2', artifact: 'sketch.ino.bin' }] });
    expect(m.artifacts).toEqual([expect.objectContaining({ kind: 'plain', name: 'sketch.ino.bin', sha256: sha256(readFileSync(out(l, '.bin'))), verdicts: [expect.objectContaining({ core: '3.1.2', passed: true })] })]);
  });

  test('public key only: the build fails and names every place it looked', async () => {
    const l = arduinoBuild({ 'public.key': PUB });
    const r = await build(l);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/built with signing enabled .* but no private key was found/);
    expect(r.stderr).toContain(join(l.sketch, 'private.key'));
    expect(r.stderr).toContain('$ESP8266_SIGN_PRIVATE_KEY_PEM (not set)');
    expect(existsSync(out(l, '.bin.signed'))).toBe(false);
  });

  test('private key only: prebuild derives the public key, postbuild signs and proves it', async () => {
    const l = arduinoBuild({ 'private.key': PRIV });
    const pre = await prebuild(l);
    expect(pre.stderr).toMatch(/no public key found; using the public half of the private key/);
    expect(readFileSync(join(l.build, 'core', 'Updater_Signing.h'), 'latin1')).toBe(renderHeader(PUB));
    compile(l);
    const r = await postbuild(l);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain(`Signed binary: ${out(l, '.bin.signed')}`);
    expect(r.stderr).toContain(`esp8266-sign: private key from the sketch folder (${join(l.sketch, 'private.key')})`);
  });

  test('both keys: signed + legacy, manifest, and the signed file boots on an emulated 3.1.2', async () => {
    const l = arduinoBuild({ 'private.key': PRIV, 'public.key': PUB });
    const r = await build(l, ['--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain(`Signed binary: ${out(l, '.bin.signed')}`);
    expect(r.stderr).toContain(`Legacy signed binary: ${out(l, '.bin.legacy_sig')}`);
    const manifest = JSON.parse(r.stdout);
    expect(JSON.parse(readFileSync(out(l, '.manifest.json'), 'utf8'))).toEqual(manifest);
    expect(manifest).toMatchObject({ manifestVersion: 2, project: 'sketch.ino', core: '3.1.2', signingEnabledInFirmware: true, key: { source: 'the sketch folder' }, upload: 'sketch.ino.bin.signed' });
    expect(manifest.build).toEqual({ flashSize: '4M', flashSizeBytes: 4 << 20, flashMode: 'dio', fsStart: '0x300000', fsEnd: '0x3fa000' });
    expect(manifest.key.fingerprint).toMatch(/^SHA256:[0-9a-f]{64}$/);
    const signed = manifest.artifacts.find((a: { kind: string }) => a.kind === 'signed');
    expect(signed).toMatchObject({ name: 'sketch.ino.bin.signed', signature: 'digestinfo', compressed: false, sha256: sha256(readFileSync(out(l, '.bin.signed'))) });
    expect(signed.verdicts).toEqual([{ core: '3.1.2', passed: true, stage: 'done', error: null, cause: null }]);
    expect(manifest.artifacts.find((a: { kind: string }) => a.kind === 'legacy').verdicts[0].core).toBe('2.5.2');
    expect(deviceAt('3.1.2', { layout: '4M1M', runningSketchSize: 300_000 }).replay(readFileSync(out(l, '.bin.signed'))).boots).toBe(true);
  });

  test('a mismatched pair fails the build before signing', async () => {
    const l = arduinoBuild({ 'private.key': PRIV, 'public.key': OTHER_PUB });
    const r = await build(l);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/does not belong to public key compiled into the firmware/);
    expect(existsSync(out(l, '.bin.signed'))).toBe(false);
  });

  test.each([
    ['ESP8266_SIGN_PRIVATE_KEY names a file', (dir: string) => ({ ESP8266_SIGN_PRIVATE_KEY: join(dir, 'k.pem') }), '$ESP8266_SIGN_PRIVATE_KEY'],
    ['ESP8266_SIGN_PRIVATE_KEY_PEM holds the key', () => ({ ESP8266_SIGN_PRIVATE_KEY_PEM: PRIV.toString() }), '$ESP8266_SIGN_PRIVATE_KEY_PEM'],
    ['ESP8266_SIGN_KEYS_DIR/<sketch>/private.key', (dir: string) => ({ ESP8266_SIGN_KEYS_DIR: dir }), '$ESP8266_SIGN_KEYS_DIR/<sketch>'],
  ])('%s', async (_n, envFor, source) => {
    const l = arduinoBuild({ 'public.key': PUB });
    const keys = join(l.root, 'keys');
    mkdirSync(join(keys, 'My Sketch'), { recursive: true });
    writeFileSync(join(keys, 'k.pem'), PRIV);
    writeFileSync(join(keys, 'My Sketch', 'private.key'), PRIV);
    const r = await build(l, ['--json'], envFor(keys));
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).key.source).toBe(source);
    expect(r.stderr + r.stdout).not.toContain('PRIVATE KEY-----');
  });

  test('an encrypted private key with its passphrase from the environment', async () => {
    const enc = createPrivateKey(PRIV).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' });
    const l = arduinoBuild({ 'private.key': enc, 'public.key': PUB });
    const r = await build(l, [], { ESP8266_SIGN_PASSPHRASE: 'pw' });
    expect(r.exitCode, r.stderr).toBe(0);
    const without = await postbuild(l);
    expect(without.exitCode).toBe(1);
    expect(without.stderr).toMatch(/is encrypted\. Set ESP8266_SIGN_PASSPHRASE/);
  });

  test('a private key readable by others draws a warning', async () => {
    const l = arduinoBuild({ 'private.key': PRIV, 'public.key': PUB });
    chmodSync(join(l.sketch, 'private.key'), 0o644);
    const r = await build(l);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toMatch(/readable by other users; run: chmod 600/);
  });

  const hasGit = spawnSync('git', ['--version'], { stdio: 'ignore' }).status === 0;
  if (!hasGit) console.log('skipping the git-tracked key test: git is not on PATH');
  test.skipIf(!hasGit)('a private key tracked by git draws a warning; one in a folder outside any repository does not', async () => {
    const untracked = arduinoBuild({ 'private.key': PRIV, 'public.key': PUB });
    const quiet = await build(untracked);
    expect(quiet.exitCode, quiet.stderr).toBe(0);
    expect(quiet.stderr).not.toMatch(/tracked by git/);
    const l = arduinoBuild({ 'private.key': PRIV, 'public.key': PUB });
    const git = (...args: string[]) => expect(spawnSync('git', args, { cwd: l.root, stdio: 'ignore' }).status).toBe(0);
    git('init', '-q');
    git('add', join(l.sketch, 'private.key'));
    // the CLI's PATH: under an executable's test run it has no folder holding node, which may hold git
    const gitOnly = join(l.root, 'git only');
    mkdirSync(gitOnly);
    symlinkSync(spawnSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).stdout.trim(), join(gitOnly, 'git'));
    const r = await build(l, [], { PATH: [gitOnly, EXECUTABLE ? pathWithoutNode() : process.env.PATH ?? ''].join(delimiter) });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/private key .*private\.key is tracked by git/);
  });
});

describe('settings and artifacts', () => {
  test('esp8266-sign.json turns compression on and legacy off; the command line wins over it', async () => {
    const l = arduinoBuild({ 'private.key': PRIV, 'public.key': PUB, 'esp8266-sign.json': JSON.stringify({ compress: true, legacy: false }) });
    const r = await build(l);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(existsSync(out(l, '.bin.gz.signed'))).toBe(true);
    expect(existsSync(out(l, '.bin.legacy_sig'))).toBe(false);
    const again = await postbuild(l, ['--no-compress', '--legacy']);
    expect(again.exitCode).toBe(0);
    expect(existsSync(out(l, '.bin.gz.signed'))).toBe(false);
    expect(existsSync(out(l, '.bin.legacy_sig'))).toBe(true);
  });

  test.each([
    ['{"compres": true}', /unknown setting "compres"/],
    ['{"compress": "yes"}', /"compress" must be true, false, "default" or "max"/],
    ['{"fleet": "3.1.2"}', /"fleet" must be a list of strings/],
    ['{nope', /is not valid JSON/],
  ])('esp8266-sign.json %s is a clear error', async (json, message) => {
    const l = arduinoBuild({ 'private.key': PRIV, 'public.key': PUB, 'esp8266-sign.json': json });
    const r = await prebuild(l);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(message);
  });

  test('compression on 3.1.2: a length that is a multiple of 4 and a device-accepted .gz.signed', async () => {
    const l = arduinoBuild({ 'private.key': PRIV, 'public.key': PUB });
    const r = await build(l, ['--compress', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const gz = readFileSync(out(l, '.bin.gz'));
    expect(gz.length % 4).toBe(0);
    const gzs = readFileSync(out(l, '.bin.gz.signed'));
    expect(gzs.subarray(0, gz.length).equals(gz)).toBe(true);
    expect(deviceAt('3.1.2', { layout: '4M1M', runningSketchSize: 300_000 }).replay(gzs).boots).toBe(true);
    const manifest = JSON.parse(r.stdout);
    const a = manifest.artifacts.find((x: { kind: string }) => x.kind === 'gzip-signed');
    expect(a.ratio).toBeLessThan(0.8);
    // every digest in the manifest is the file's, including those reused from signing
    expect(manifest.input.sha256).toBe(sha256(readFileSync(join(l.build, 'sketch.ino.bin'))));
    for (const x of manifest.artifacts as Array<{ path: string; sha256: string }>) expect(x.sha256).toBe(sha256(readFileSync(x.path)));
  });

  test('compression is refused for 2.7.4, with the reason', async () => {
    const l = arduinoBuild({ 'private.key': PRIV, 'public.key': PUB });
    await prebuild(l);
    compile(l);
    const r = await runCli(['postbuild', '--sketch-dir', l.sketch, '--build-dir', l.build, '--project-name', 'sketch.ino', '--core-version', '2.7.4', '--flash-size', '4M', '--flash-mode', 'dio', '--fs-start', '', '--fs-end', '', '--compress']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/not compressing: a signed gzip destroys the bootloader of 2\.7\.0–2\.7\.4 devices/);
    expect(existsSync(out(l, '.bin.gz.signed'))).toBe(false);
    expect(existsSync(out(l, '.bin.signed'))).toBe(true);
  });

  test('each fleet core is told which file it takes: .legacy_sig for 2.5.x, the smallest that boots for the others', async () => {
    const l = arduinoBuild({ 'private.key': PRIV, 'public.key': PUB });
    const r = await build(l, ['--fleet', '2.5.2,2.7.4,3.0.2', '--compress', '--strict', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const m = JSON.parse(r.stdout);
    expect(m.targets).toEqual([
      { core: '3.1.2', artifact: 'sketch.ino.bin.gz.signed' },
      { core: '2.5.2', artifact: 'sketch.ino.bin.legacy_sig' },
      { core: '2.7.4', artifact: 'sketch.ino.bin.signed' },
      { core: '3.0.2', artifact: 'sketch.ino.bin.gz.signed' },
    ]);
    expect(r.stderr).toContain('esp8266-sign: devices get: core 3.1.2 → sketch.ino.bin.gz.signed; core 2.5.2 → sketch.ino.bin.legacy_sig; core 2.7.4 → sketch.ino.bin.signed');
    expect(r.stderr).not.toMatch(/warning/);
  });

  test('a fleet core with no artifact is a warning, or with --strict exit 3 saying so in one line, and nothing written', async () => {
    const l = arduinoBuild({ 'private.key': PRIV, 'public.key': PUB });
    const r = await build(l, ['--fleet', '2.5.2', '--no-legacy']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/esp8266-sign: warning: no artifact of this build boots on a core 2\.5\.2 device/);
    const strict = await postbuild(l, ['--fleet', '2.5.2', '--no-legacy', '--strict']);
    expect(strict.exitCode).toBe(3);
    expect(strict.stderr).toMatch(/^esp8266-sign: --strict: no artifact boots on core 2\.5\.2$/m);
    for (const s of ['.bin.signed', '.bin.legacy_sig', '.manifest.json']) expect(existsSync(out(l, s)), s).toBe(false);
  });

  test('a 2.5.x build: .bin.signed carries the legacy signature its devices verify, and no separate .legacy_sig', async () => {
    const l = arduinoBuild({ 'private.key': PRIV, 'public.key': PUB });
    await prebuild(l);
    compile(l);
    const r = await runCli(['postbuild', '--sketch-dir', l.sketch, '--build-dir', l.build, '--project-name', 'sketch.ino', '--core-version', '2.5.2', '--flash-size', '4M', '--flash-mode', 'dio', '--fs-start', '0x300000', '--fs-end', '0x3FA000', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(existsSync(out(l, '.bin.legacy_sig'))).toBe(false);
    const signed = readFileSync(out(l, '.bin.signed'));
    const v = deviceAt('2.5.2', { layout: '4M1M', runningSketchSize: 300_000 }).replay(signed);
    expect(v.boots, v.cause ?? '').toBe(true);
    expect(deviceAt('3.1.2', { layout: '4M1M', runningSketchSize: 300_000 }).replay(signed).updaterError?.name).toBe('SIGN');
    const m = JSON.parse(r.stdout);
    expect(m.artifacts.map((a: { name: string; signature: string }) => [a.name, a.signature])).toEqual([['sketch.ino.bin.signed', 'legacy']]);
    expect(m.upload).toBe('sketch.ino.bin.signed');
  });

  test('stale artifacts from an earlier build are removed even when this build signs nothing', async () => {
    const l = arduinoBuild();
    await prebuild(l);
    compile(l);
    for (const s of STALE) writeFileSync(out(l, s), 'stale');
    const r = await postbuild(l);
    expect(r.exitCode).toBe(0);
    for (const s of STALE.filter((x) => x !== '.manifest.json')) expect(existsSync(out(l, s)), s).toBe(false);
    expect(readFileSync(out(l, '.manifest.json'), 'utf8')).not.toBe('stale');
  });

  test('an unchanged header is not rewritten (its mtime is kept)', async () => {
    const l = arduinoBuild({ 'public.key': PUB });
    await prebuild(l);
    const h = join(l.build, 'core', 'Updater_Signing.h');
    const old = new Date('2020-01-01T00:00:00Z');
    utimesSync(h, old, old);
    await prebuild(l);
    expect(statSync(h).mtimeMs).toBe(old.getTime());
  });

  test('the .bin does not embed the header key (stale core cache): a clear error', async () => {
    const l = arduinoBuild({ 'private.key': PRIV, 'public.key': PUB });
    await prebuild(l);
    compile(l, { embed: null });
    const r = await postbuild(l);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/does not contain the public key from .*Updater_Signing\.h[\s\S]*clean build/);
  });

  test('a flash-mode mismatch between the build and the device: exit 3 with the cause and the fix', async () => {
    const l = arduinoBuild({ 'private.key': PRIV, 'public.key': PUB });
    await prebuild(l);
    compile(l, { mode: 'qio' });
    for (const s of STALE) writeFileSync(out(l, s), 'stale');
    const r = await postbuild(l);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/built for flash mode qio but the device runs dio/);
    expect(r.stderr).toMatch(/fix: +build with Flash Mode DIO/);
    for (const s of STALE) expect(existsSync(out(l, s)), s).toBe(false);
    expect(r.stderr).not.toMatch(/^Signed binary:/m);
    expect(r.stderr).toMatch(/Nothing was written/);
  });

  test('deterministic: the same inputs give byte-identical artifacts', async () => {
    const l = arduinoBuild({ 'private.key': PRIV, 'public.key': PUB });
    await build(l, ['--compress']);
    const first = ['.bin.signed', '.bin.legacy_sig', '.bin.gz.signed'].map((s) => sha256(readFileSync(out(l, s))));
    const l2 = arduinoBuild({ 'private.key': PRIV, 'public.key': PUB });
    cpSync(join(l.build, 'sketch.ino.bin'), join(l2.build, 'sketch.ino.bin'));
    await prebuild(l2);
    const r = await postbuild(l2, ['--compress']);
    expect(r.exitCode).toBe(0);
    expect(['.bin.signed', '.bin.legacy_sig', '.bin.gz.signed'].map((s) => sha256(readFileSync(out(l2, s))))).toEqual(first);
  });

  test('usage errors exit 2', async () => {
    const r = await runCli(['postbuild', '--sketch-dir', '.']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^esp8266-sign: required option/m);
  });

  test.each([
    ['a missing option, caught before the command runs', ['--sketch-dir', 'x']],
    ['a bad flash mode', ['--sketch-dir', 'x', '--core-version', '3.1.2', '--flash-size', '4M', '--flash-mode', 'fast']],
    ['--fs-start without --fs-end', ['--sketch-dir', 'x', '--core-version', '3.1.2', '--flash-size', '4M', '--flash-mode', 'dio', '--fs-start', '0x300000']],
    ['an unknown core version', ['--sketch-dir', 'x', '--core-version', '9.9.9', '--flash-size', '4M', '--flash-mode', 'dio']],
    ['an unknown fleet version', ['--sketch-dir', 'x', '--core-version', '3.1.2', '--flash-size', '4M', '--flash-mode', 'dio', '--fleet', '3.1.2,4.0.0']],
  ])('a usage error (%s) still removes the artifacts of earlier builds', async (_n, args) => {
    const l = arduinoBuild();
    compile(l, { embed: null });
    for (const s of STALE) writeFileSync(out(l, s), 'stale');
    const r = await runCli(['postbuild', '--build-dir', l.build, '--project-name', 'sketch.ino', ...args]);
    expect(r.exitCode, r.stderr).toBe(2);
    for (const s of STALE) expect(existsSync(out(l, s)), s).toBe(false);
  });

  test.each([
    ['the command line', ['--fleet', '3.9.9'], {}],
    ['ESP8266_SIGN_FLEET', [], { ESP8266_SIGN_FLEET: '3.9.9' }],
  ])('a newer 3.x than modelled (from %s) is proven on the newest profile, with a warning', async (_n, args, env) => {
    const l = arduinoBuild({ 'private.key': PRIV, 'public.key': PUB });
    const r = await build(l, args, env);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/esp8266-sign: warning: core 3\.9\.9 is newer than the newest modelled/);
  });

  test('an unknown fleet version in esp8266-sign.json is a usage error', async () => {
    const l = arduinoBuild({ 'private.key': PRIV, 'public.key': PUB, 'esp8266-sign.json': '{"fleet": ["9.9.9"]}' });
    const r = await build(l);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/core 9\.9\.9 .*Known:/);
  });

  test('--json: a failure is one JSON object on stdout too', async () => {
    const l = arduinoBuild({ 'public.key': PUB });
    const r = await build(l, ['--json']);
    expect(r.exitCode).toBe(1);
    expect(JSON.parse(r.stdout)).toEqual({ error: { exitCode: 1, message: expect.stringMatching(/no private key was found/) } });
  });

  test('concurrent postbuilds of one build folder leave one consistent set', async () => {
    const l = arduinoBuild({ 'private.key': PRIV, 'public.key': PUB });
    await prebuild(l);
    compile(l);
    const runs = await Promise.all([postbuild(l, ['--compress']), postbuild(l, ['--no-legacy']), postbuild(l, ['--compress', '--no-legacy'])]);
    for (const r of runs) expect(r.exitCode, r.stderr).toBe(0);
    const m = JSON.parse(readFileSync(out(l, '.manifest.json'), 'utf8'));
    const listed = (m.artifacts as Array<{ name: string; sha256: string; kind: string }>).filter((a) => a.kind !== 'plain');
    for (const a of listed) expect(sha256(readFileSync(join(l.build, a.name))), a.name).toBe(a.sha256);
    for (const s of ['.bin.signed', '.bin.legacy_sig', '.bin.gz', '.bin.gz.signed']) expect(existsSync(out(l, s)), s).toBe(listed.some((a) => a.name === `sketch.ino${s}`));
  });

  test('a folder where an artifact belongs: a clear error, and no artifact left', async () => {
    const l = arduinoBuild({ 'private.key': PRIV, 'public.key': PUB });
    await prebuild(l);
    compile(l);
    writeFileSync(out(l, '.bin.signed'), 'stale');
    mkdirSync(out(l, '.bin.legacy_sig'));
    const r = await postbuild(l);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/sketch\.ino\.bin\.legacy_sig is a folder where postbuild writes its artifacts/);
    expect(existsSync(out(l, '.bin.signed'))).toBe(false);
  });
});
