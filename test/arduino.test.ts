/** install / uninstall / doctor against fake Arduino trees, and the recipe lines per core version. */
import { mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { corePatterns, dataDirs, findCores } from '../src/arduino/discover.js';
import { headerKey, mergeBlock, parseProperties, recipeLines, removeBlock, renderBlock } from '../src/arduino/recipes.js';
import { runDoctor, runInstall, runUninstall } from '../src/commands/arduino.js';
import { captureIo, tempDir, VECTORS } from './helpers.js';

const LAUNCHER = { node: '/opt/node/bin/node', cli: '/opt/esp8266 sign/bin/esp8266-sign.js' };

const PLATFORM = {
  '2.5.2': [
    'name=ESP8266 Boards (2.5.2)', 'version=2.5.2',
    'recipe.hooks.core.prebuild.1.pattern="{runtime.tools.python.path}/python" "{runtime.tools.signing}" --mode header --publickey "{build.source.path}/public.key" --out "{build.path}/core/Updater_Signing.h"',
    'recipe.objcopy.hex.2.pattern="{runtime.tools.python.path}/python" "{runtime.tools.signing}" --mode sign --privatekey "{build.source.path}/private.key" --bin "{build.path}/{build.project_name}.bin" --out "{build.path}/{build.project_name}.bin.signed"',
  ],
  '2.5.0': [
    'name=ESP8266 Boards (2.5.0)', 'version=2.5.0',
    'recipe.hooks.core.prebuild.1.pattern=python "{runtime.tools.signing}" --mode header --publickey "{build.source.path}/public.key" --out "{build.path}/core/Updater_Signing.h"',
    'recipe.hooks.core.prebuild.1.pattern.windows=cmd.exe /c rem cannot sign on windows',
    'recipe.hooks.core.prebuild.3.pattern.windows=cmd.exe /c if exist {build.source.path}\\public.key echo #error Cannot automatically build signed binaries on Windows > {build.path}\\core\\Updater_Signing.h',
    'recipe.objcopy.hex.2.pattern=python "{runtime.tools.signing}" --mode sign --privatekey "{build.source.path}/private.key" --bin "{build.path}/{build.project_name}.bin" --out "{build.path}/{build.project_name}.bin.signed"',
    'recipe.objcopy.hex.2.pattern.windows=',
  ],
  '3.1.2': [
    'name=ESP8266 Boards (3.1.2)', 'version=3.1.2',
    'recipe.hooks.sketch.prebuild.pattern="{runtime.tools.python3.path}/python3" -I "{runtime.tools.signing}" --mode header --publickey "{build.source.path}/public.key" --out "{build.path}/core/Updater_Signing.h"',
    'recipe.objcopy.hex.2.pattern="{runtime.tools.python3.path}/python3" -I "{runtime.tools.signing}" --mode sign --privatekey "{build.source.path}/private.key" --bin "{build.path}/{build.project_name}.bin" --out "{build.path}/{build.project_name}.bin.signed" --legacy "{build.path}/{build.project_name}.bin.legacy_sig"',
  ],
} as const;

function coreFacts(version: keyof typeof PLATFORM) {
  return { version, properties: parseProperties(PLATFORM[version].join('\n')) };
}

function installCore(dir: string, version: keyof typeof PLATFORM): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'platform.txt'), PLATFORM[version].join('\n') + '\n');
  return dir;
}

describe('recipe lines', () => {
  test('2.6.0+ override the un-numbered sketch prebuild key; 2.5.x the core prebuild.1 key', () => {
    expect(headerKey(coreFacts('3.1.2'))).toBe('recipe.hooks.sketch.prebuild.pattern');
    expect(headerKey(coreFacts('2.5.2'))).toBe('recipe.hooks.core.prebuild.1.pattern');
    for (const v of ['2.5.2', '3.1.2'] as const) {
      const keys = recipeLines(coreFacts(v), LAUNCHER).map(([k]) => k);
      expect(keys.some((k) => /^recipe\.hooks\.sketch\.prebuild\.\d+\.pattern/.test(k))).toBe(false);
      expect(keys).toContain('recipe.objcopy.hex.2.pattern');
    }
  });

  test('the key is read from platform.txt, not trusted from the version number', () => {
    const odd = { version: '3.1.2', properties: parseProperties(PLATFORM['2.5.2'].join('\n')) };
    expect(headerKey(odd)).toBe('recipe.hooks.core.prebuild.1.pattern');
  });

  test('2.5.0 also signs on Windows: its .windows overrides are replaced and the #error hook emptied', () => {
    const lines = Object.fromEntries(recipeLines(coreFacts('2.5.0'), 'path'));
    expect(lines['recipe.hooks.core.prebuild.1.pattern.windows']).toMatch(/^esp8266-sign prebuild/);
    expect(lines['recipe.objcopy.hex.2.pattern.windows']).toMatch(/^esp8266-sign postbuild/);
    expect(lines['recipe.hooks.core.prebuild.3.pattern.windows']).toBe('');
  });

  test('patterns use no shell syntax and quote every path', () => {
    for (const [, v] of recipeLines(coreFacts('3.1.2'), LAUNCHER)) {
      expect(v).not.toMatch(/&&|\||>|;/);
      expect(v.startsWith(`"${LAUNCHER.node}" "${LAUNCHER.cli}" `)).toBe(true);
      for (const prop of v.match(/\{build\.[a-z_.]+\}/g) ?? []) expect(v).toContain(`"${prop}"`);
    }
  });

  test('merge keeps foreign lines; remove restores the original file', () => {
    const foreign = 'compiler.cpp.extra_flags=-DMY_FLAG\n';
    const merged = mergeBlock(foreign, renderBlock(coreFacts('3.1.2'), LAUNCHER));
    expect(merged.startsWith(foreign)).toBe(true);
    expect(mergeBlock(merged, renderBlock(coreFacts('3.1.2'), LAUNCHER))).toBe(merged);
    expect(removeBlock(merged)).toBe(foreign);
  });
});

describe('finding cores on each OS', () => {
  test('Windows: %LOCALAPPDATA%\\Arduino15 and the Store\'s Documents\\ArduinoData, as win32 paths', () => {
    const host = { platform: 'win32' as const, env: { LOCALAPPDATA: 'C:\\Users\\Ana\\AppData\\Local' }, home: 'C:\\Users\\Ana' };
    expect(dataDirs(host)).toEqual(['C:\\Users\\Ana\\AppData\\Local\\Arduino15', 'C:\\Users\\Ana\\Documents\\ArduinoData']);
    expect(corePatterns(host)[0]).toBe('C:/Users/Ana/AppData/Local/Arduino15/packages/*/hardware/esp8266/*/platform.txt');
    expect(corePatterns(host)).toContain('C:/Users/Ana/Documents/Arduino/hardware/*/esp8266/platform.txt');
  });

  test('ARDUINO_DIRECTORIES_DATA comes first; portable IDE folders are searched', () => {
    const host = { platform: 'linux' as const, env: { ARDUINO_DIRECTORIES_DATA: '/data/a15', ARDUINO_PORTABLE_DIR: '/opt/arduino-1.8.19' }, home: '/home/u' };
    expect(dataDirs(host)).toEqual(['/data/a15', '/home/u/.arduino15', '/opt/arduino-1.8.19/portable']);
  });

  test.each([
    ['linux', '.arduino15', 'Arduino'],
    ['darwin', 'Library/Arduino15', 'Documents/Arduino'],
  ] as const)('%s: Boards Manager versions and a sketchbook git install are all found', (platform, data, sketchbook) => {
    const home = tempDir();
    installCore(join(home, data, 'packages', 'esp8266', 'hardware', 'esp8266', '2.5.2'), '2.5.2');
    installCore(join(home, data, 'packages', 'esp8266', 'hardware', 'esp8266', '3.1.2'), '3.1.2');
    installCore(join(home, sketchbook, 'hardware', 'esp8266com', 'esp8266'), '3.1.2');
    mkdirSync(join(home, data, 'packages', 'arduino', 'hardware', 'avr', '1.8.6'), { recursive: true });
    writeFileSync(join(home, data, 'packages', 'arduino', 'hardware', 'avr', '1.8.6', 'platform.txt'), 'name=Arduino AVR Boards\nversion=1.8.6\n');
    const cores = findCores({ platform, env: {}, home });
    expect(cores.map((c) => c.version).sort()).toEqual(['2.5.2', '3.1.2', '3.1.2']);
  });
});

describe('install, uninstall, doctor', () => {
  function twoCores() {
    const home = tempDir();
    const base = join(home, '.arduino15', 'packages', 'esp8266', 'hardware', 'esp8266');
    const old = installCore(join(base, '2.5.2'), '2.5.2');
    const cur = installCore(join(base, '3.1.2'), '3.1.2');
    writeFileSync(join(cur, 'platform.local.txt'), 'compiler.c.extra_flags=-DKEEP_ME\n');
    return { io: captureIo(home, { HOME: home }), old, cur };
  }

  test('two installed versions get their own keys; a foreign platform.local.txt is merged; re-install changes nothing', () => {
    const { io, old, cur } = twoCores();
    expect(runInstall({}, io, LAUNCHER)).toBe(0);
    const oldLocal = readFileSync(join(old, 'platform.local.txt'), 'utf8');
    const curLocal = readFileSync(join(cur, 'platform.local.txt'), 'utf8');
    expect(oldLocal).toContain('recipe.hooks.core.prebuild.1.pattern=');
    expect(curLocal).toContain('recipe.hooks.sketch.prebuild.pattern=');
    expect(curLocal.startsWith('compiler.c.extra_flags=-DKEEP_ME\n')).toBe(true);
    const again = captureIo(io.cwd, io.env);
    runInstall({ json: true }, again, LAUNCHER);
    expect(JSON.parse(again.out).cores.every((c: { changed: boolean }) => !c.changed)).toBe(true);
    expect(readFileSync(join(cur, 'platform.local.txt'), 'utf8')).toBe(curLocal);
  });

  test('--dry-run writes nothing and shows the block', () => {
    const { io, old } = twoCores();
    runInstall({ dryRun: true }, io, LAUNCHER);
    expect(existsSync(join(old, 'platform.local.txt'))).toBe(false);
    expect(io.err).toMatch(/would write .*2\.5\.2.*platform\.local\.txt/);
    expect(io.err).toContain('recipe.objcopy.hex.2.pattern=');
  });

  test('uninstall removes exactly our block, and our file when nothing else is left', () => {
    const { io, old, cur } = twoCores();
    runInstall({}, io, LAUNCHER);
    expect(runUninstall({}, io)).toBe(0);
    expect(existsSync(join(old, 'platform.local.txt'))).toBe(false);
    expect(readFileSync(join(cur, 'platform.local.txt'), 'utf8')).toBe('compiler.c.extra_flags=-DKEEP_ME\n');
  });

  test('doctor reports missing and outdated installs with their fixes, and a sketch\'s keys', () => {
    const { io, cur } = twoCores();
    runInstall({ coreDir: cur }, io, LAUNCHER);
    const sketch = join(io.cwd, 'Sketch');
    mkdirSync(sketch);
    writeFileSync(join(sketch, 'public.key'), readFileSync(join(VECTORS, 'keys', 'rsa2048.public.pem')));
    writeFileSync(join(sketch, 'private.key'), readFileSync(join(VECTORS, 'keys', 'rsa1024.pkcs8.pem')));
    const d = captureIo(io.cwd, io.env);
    expect(runDoctor({ json: true, sketchDir: sketch }, d, LAUNCHER)).toBe(1);
    const report = JSON.parse(d.out);
    expect(report.cores.find((c: { version: string }) => c.version === '3.1.2')).toMatchObject({ installed: true, current: true, overriddenKeysPresent: true });
    // a core esp8266-sign was never installed in is mentioned, not counted as a problem
    expect(report.notes.join('\n')).toMatch(/core 2\.5\.2 .*esp8266-sign is not installed there, so it signs with signing\.py\. Fix: esp8266-sign install --core-dir/);
    expect(report.problems.join('\n')).not.toMatch(/core 2\.5\.2/);
    expect(report.sketch).toMatchObject({ pairMatches: false, publicKey: { source: 'the sketch folder' } });
    expect(report.problems.join('\n')).toMatch(/does not belong to the public key/);
    const moved = captureIo(io.cwd, io.env);
    expect(runDoctor({ coreDir: cur }, moved, { node: '/elsewhere/node', cli: LAUNCHER.cli })).toBe(1);
    expect(moved.err).toMatch(/installed, OUTDATED/);
  });

  test('doctor prints plain text lines, and exits 0 when only unconfigured cores are found', () => {
    const { io, cur } = twoCores();
    runInstall({ coreDir: cur }, io, LAUNCHER);
    const sketch = join(io.cwd, 'Sketch');
    mkdirSync(sketch);
    const d = captureIo(io.cwd, io.env);
    expect(runDoctor({ sketchDir: sketch }, d, LAUNCHER)).toBe(0);
    expect(d.out).toBe('');
    for (const line of d.err.trimEnd().split('\n')) expect(line).toMatch(/^esp8266-sign: /);
    expect(d.err).not.toMatch(/[{}]/);
    expect(d.err).toMatch(/^esp8266-sign: {3}signing: off \(no keys found\)$/m);
  });

  test('install: the user\'s own lines setting our keys are named, with which one wins; the restart hint only after a change', () => {
    const { io, cur } = twoCores();
    writeFileSync(join(cur, 'platform.local.txt'), 'recipe.objcopy.hex.2.pattern=mine\n');
    runInstall({ coreDir: cur }, io, LAUNCHER);
    expect(io.err).toMatch(/also sets recipe\.objcopy\.hex\.2\.pattern above our block; ours comes later, so ours wins/);
    expect(io.err).toMatch(/restart the Arduino IDE/);
    writeFileSync(join(cur, 'platform.local.txt'), readFileSync(join(cur, 'platform.local.txt'), 'utf8') + 'recipe.objcopy.hex.2.pattern=later\n');
    const again = captureIo(io.cwd, io.env);
    runInstall({ coreDir: cur }, again, LAUNCHER);
    expect(again.err).toMatch(/sets recipe\.objcopy\.hex\.2\.pattern again below our block; that later line wins/);
    expect(again.err).not.toMatch(/restart the Arduino IDE/);
  });

  test('a begin marker without its end marker: install and uninstall change nothing and say how to repair it', () => {
    const { io, cur } = twoCores();
    runInstall({ coreDir: cur }, io, LAUNCHER);
    const file = join(cur, 'platform.local.txt');
    const cut = readFileSync(file, 'utf8').replace(/# <<< esp8266-sign <<<\n/, '') + 'my.own.line=keep\n';
    writeFileSync(file, cut);
    for (const run of [() => runInstall({ coreDir: cur }, captureIo(io.cwd, io.env), LAUNCHER), () => runUninstall({ coreDir: cur }, captureIo(io.cwd, io.env))]) {
      expect(run).toThrow(/begin marker but not its end marker[\s\S]*Nothing was changed/);
      expect(readFileSync(file, 'utf8')).toBe(cut);
    }
  });

  test('the user\'s bytes are kept exactly, Latin-1 and all', () => {
    const { io, cur } = twoCores();
    const mine = Buffer.from('# Einstellungen f\xfcr M\xfcnchen\ncompiler.c.extra_flags=-DSTADT="M\xfcnchen"\n', 'latin1');
    writeFileSync(join(cur, 'platform.local.txt'), mine);
    runInstall({ coreDir: cur }, io, { node: '/opt/n\u00f6de/node', cli: LAUNCHER.cli });
    const after = readFileSync(join(cur, 'platform.local.txt'));
    expect(after.subarray(0, mine.length).equals(mine)).toBe(true);
    expect(after.toString('latin1')).toContain(Buffer.from('/opt/n\u00f6de/node', 'utf8').toString('latin1'));
    runUninstall({ coreDir: cur }, captureIo(io.cwd, io.env));
    expect(readFileSync(join(cur, 'platform.local.txt')).equals(mine)).toBe(true);
  });

  test.each(['platform.txt', 'platform.local.txt'])('%s being a folder is a clear error, not a crash', (name) => {
    const { io, cur } = twoCores();
    rmSync(join(cur, name), { force: true });
    mkdirSync(join(cur, name));
    if (name === 'platform.txt') {
      expect(() => runInstall({ coreDir: cur }, io, LAUNCHER)).toThrow(/platform\.txt .* is a folder, not a file/);
    } else {
      for (const run of [() => runInstall({ coreDir: cur }, io, LAUNCHER), () => runUninstall({ coreDir: cur }, io)]) expect(run).toThrow(/platform\.local\.txt .* is a folder, not a file/);
      expect(runDoctor({ coreDir: cur }, captureIo(io.cwd, io.env), LAUNCHER)).toBe(1);
    }
  });

  test('no core anywhere: a clear error with the fix', () => {
    const home = tempDir();
    expect(() => runInstall({}, captureIo(home, { HOME: home }), LAUNCHER)).toThrow(/no esp8266 core found[\s\S]*--core-dir/);
  });
});
