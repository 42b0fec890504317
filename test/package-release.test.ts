/**
 * What npm run package wrote (dist/release): one archive per target with its SHA-256 file, the
 * Boards Manager index fragment, and this machine's executable working with no Node installed.
 * Run by npm run test:package, after npm run package.
 */
import { execa } from 'execa';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { FIXTURES, ROOT, sha256, tempDir, VECTORS } from './helpers.js';

const RELEASE = join(ROOT, 'dist', 'release');
const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
const pins = JSON.parse(readFileSync(join(ROOT, 'scripts', 'release', 'node-release.json'), 'utf8')) as { version: string; targets: Record<string, { host: string }> };
const TARGETS = ['linux-x64', 'linux-arm64', 'win-x64', 'darwin-x64', 'darwin-arm64'];
const archiveName = (t: string) => `esp8266-sign-${version}-${t}.${t.startsWith('win-') ? 'zip' : 'tar.gz'}`;

describe('the release folder', () => {
  test('one archive per target, each with a .sha256 file in sha256sum format', () => {
    expect(Object.keys(pins.targets)).toEqual(TARGETS);
    const files = readdirSync(RELEASE).sort();
    expect(files).toEqual([...TARGETS.flatMap((t) => [archiveName(t), `${archiveName(t)}.sha256`]), 'package_esp8266-sign_index.json'].sort());
    for (const t of TARGETS) {
      const hash = sha256(readFileSync(join(RELEASE, archiveName(t))));
      expect(readFileSync(join(RELEASE, `${archiveName(t)}.sha256`), 'utf8')).toBe(`${hash}  ${archiveName(t)}\n`);
    }
  });

  test('the index fragment lists every archive for its Arduino host triplet, with checksum and size', () => {
    const fragment = JSON.parse(readFileSync(join(RELEASE, 'package_esp8266-sign_index.json'), 'utf8'));
    expect(fragment.tools).toHaveLength(1);
    const tool = fragment.tools[0];
    expect(tool).toMatchObject({ name: 'esp8266-sign', version });
    expect(tool.systems.map((s: { host: string }) => s.host)).toEqual(['x86_64-pc-linux-gnu', 'aarch64-linux-gnu', 'x86_64-mingw32', 'x86_64-apple-darwin', 'arm64-apple-darwin']);
    for (const [i, t] of TARGETS.entries()) {
      const bytes = readFileSync(join(RELEASE, archiveName(t)));
      expect(tool.systems[i]).toEqual({
        host: pins.targets[t]!.host,
        url: expect.stringMatching(new RegExp(`/${archiveName(t).replaceAll('.', '\\.')}$`)),
        archiveFileName: archiveName(t),
        checksum: `SHA-256:${sha256(bytes)}`,
        size: String(bytes.length),
      });
    }
  });

  test('each archive holds one folder with the executable, executable bit set, as built', () => {
    for (const t of TARGETS) {
      const out = tempDir('esp8266 sign unpack-');
      const file = join(RELEASE, archiveName(t));
      const exeName = t.startsWith('win-') ? 'esp8266-sign.exe' : 'esp8266-sign';
      if (t.startsWith('win-')) execFileSync('unzip', ['-q', file, '-d', out]);
      else execFileSync('tar', ['xzf', file, '-C', out]);
      expect(readdirSync(out)).toEqual([`esp8266-sign-${version}`]);
      expect(readdirSync(join(out, `esp8266-sign-${version}`))).toEqual([exeName]);
      const exe = join(out, `esp8266-sign-${version}`, exeName);
      expect(statSync(exe).mode & 0o777).toBe(0o755);
      const built = readFileSync(join(ROOT, 'dist', 'executables', t, exeName));
      expect(sha256(readFileSync(exe)), t).toBe(sha256(built));
      // the SEA fuse is flipped only when postject injected a blob (Node's node_sea.cc)
      expect(built.includes('NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2:1'), t).toBe(true);
    }
  });
});

describe.skipIf(process.platform !== 'linux' || process.arch !== 'x64')('the linux-x64 executable, with no Node installed', () => {
  const dir = tempDir('esp8266 sign exe-');
  execFileSync('tar', ['xzf', join(RELEASE, archiveName('linux-x64')), '-C', dir, '--strip-components=1']);
  const exe = join(dir, 'esp8266-sign');
  const emptyPath = tempDir('esp8266 sign empty PATH-');
  const run = (args: string[], cwd = dir) => execa(exe, args, { cwd, env: { PATH: emptyPath }, extendEnv: false, reject: false, stdin: 'ignore' });

  test('PATH holds no node, and --version is the package version, built in', async () => {
    expect(readdirSync(emptyPath)).toEqual([]);
    const r = await run(['--version']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(`${r.stdout}${r.stderr}`.trim()).toBe(version);
    expect(existsSync(join(dir, 'package.json'))).toBe(false);
  });

  test('header and sign reproduce the golden vectors byte for byte', async () => {
    const manifest = JSON.parse(readFileSync(join(VECTORS, 'manifest.json'), 'utf8')) as { cases: Array<{ id: string; argv: string[]; outputs: Array<{ path: string; sha256: string }> }> };
    const work = tempDir();
    cpSync(join(VECTORS, 'keys'), join(work, 'keys'), { recursive: true });
    cpSync(join(VECTORS, 'bins'), join(work, 'bins'), { recursive: true });
    for (const id of ['header/rsa2048-spki', 'sign/firmware-e9_bin/rsa2048-pkcs1']) {
      const c = manifest.cases.find((x) => x.id === id);
      expect(c, id).toBeDefined();
      for (const o of c!.outputs) mkdirSync(join(work, o.path, '..'), { recursive: true });
      const r = await run(c!.argv, work);
      expect(r.exitCode, r.stderr).toBe(0);
      for (const o of c!.outputs) expect(sha256(readFileSync(join(work, o.path))), `${id}: ${o.path}`).toBe(o.sha256);
    }
  });

  test('postbuild --compress writes what the npm CLI writes', async () => {
    const { parseHeader } = await import('../src/header-gen/header.js');
    const { makeImage } = await import('../src/image/image.js');
    const root = tempDir();
    const sketch = join(root, 'My Sketch');
    mkdirSync(sketch);
    cpSync(join(VECTORS, 'keys', 'rsa2048.pkcs8.pem'), join(sketch, 'private.key'));
    cpSync(join(VECTORS, 'keys', 'rsa2048.public.pem'), join(sketch, 'public.key'));
    const builds = [join(root, 'exe build'), join(root, 'node build')];
    for (const b of builds) mkdirSync(join(b, 'core'), { recursive: true });
    const pre = await run(['prebuild', '--sketch-dir', sketch, '--build-dir', builds[0]!, '--core-version', '3.1.2']);
    expect(pre.exitCode, pre.stderr).toBe(0);
    const bin = makeImage({ flashMode: 'dio', size: 600_000, embed: parseHeader(readFileSync(join(builds[0]!, 'core', 'Updater_Signing.h'), 'latin1')) ?? undefined, label: 'exe worker' });
    for (const b of builds) writeFileSync(join(b, 'sketch.ino.bin'), bin);
    cpSync(join(builds[0]!, 'core'), join(builds[1]!, 'core'), { recursive: true });
    const args = (b: string) => ['postbuild', '--sketch-dir', sketch, '--build-dir', b, '--project-name', 'sketch.ino', '--core-version', '3.1.2',
      '--flash-size', '4M', '--flash-mode', 'dio', '--fs-start', '0x200000', '--fs-end', '0x3FA000', '--compress'];
    const r = await run(args(builds[0]!));
    expect(r.exitCode, r.stderr).toBe(0);
    const ref = await execa(process.execPath, [join(ROOT, 'bin', 'esp8266-sign.js'), ...args(builds[1]!)], { reject: false });
    expect(ref.exitCode, ref.stderr).toBe(0);
    for (const f of ['sketch.ino.bin.signed', 'sketch.ino.bin.gz.signed']) {
      expect(sha256(readFileSync(join(builds[0]!, f))), f).toBe(sha256(readFileSync(join(builds[1]!, f))));
    }
  });

  test('a checkout in another folder builds the same executable bytes (no code cache)', async () => {
    // @ts-expect-error: plain JavaScript build scripts, without type declarations
    const { nodeBinary } = await import('../scripts/release/node-binaries.js');
    // @ts-expect-error: plain JavaScript build scripts, without type declarations
    const { injectBlob, seaBlob } = await import('../scripts/release/sea.js');
    const other = tempDir('esp8266 sign other checkout-');
    mkdirSync(join(other, 'dist', 'sea'), { recursive: true });
    cpSync(join(ROOT, 'dist', 'sea', 'esp8266-sign.cjs'), join(other, 'dist', 'sea', 'esp8266-sign.cjs'));
    const node = join(other, 'node');
    writeFileSync(node, nodeBinary('linux-x64', join(ROOT, '.cache', 'node')), { mode: 0o755 });
    const again = join(other, 'esp8266-sign');
    cpSync(node, again);
    await injectBlob(again, seaBlob(node, other, 'dist/sea/esp8266-sign.cjs', other, false), false);
    expect(sha256(readFileSync(again))).toBe(sha256(readFileSync(exe)));
  }, 300_000);

  test('install run by the executable writes the executable alone; doctor calls it current', async () => {
    const core = join(tempDir(), 'esp8266');
    cpSync(join(FIXTURES, 'fake-core', 'esp8266'), core, { recursive: true });
    const r = await run(['install', '--core-dir', core]);
    expect(r.exitCode, r.stderr).toBe(0);
    const local = readFileSync(join(core, 'platform.local.txt'), 'utf8');
    expect(local).toContain(`recipe.hooks.sketch.prebuild.pattern="${exe}" prebuild --sketch-dir`);
    expect(local).not.toMatch(/esp8266-sign\.js/);
    const d = await run(['doctor', '--core-dir', core, '--json']);
    expect(JSON.parse(d.stdout).cores[0]).toMatchObject({ installed: true, current: true, starts: `the executable ${exe}` });
  });
});
