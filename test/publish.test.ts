/** publish through the built CLI: a proven build becomes an immutable release folder, atomically. */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { runCli, tempDir } from './helpers.js';
import { writeBuild } from './devices/build-folder.js';
import { signWith } from './device-helpers.js';
import { prng } from '../src/image/image.js';
import { ReleaseStore } from '../src/ota/releases/store.js';

const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');
const publish = (build: string, to: string, version: string, extra: string[] = []) =>
  runCli(['publish', '--build-dir', build, '--project-name', 'sketch.ino', '--version', version, '--to', to, ...extra]);

function release(to: string, channel: string, version: string) {
  return JSON.parse(readFileSync(join(to, channel, version, 'release.json'), 'utf8'));
}

describe('publish', () => {
  test('a signed, compressed build: every artifact with the MD5 sent and the sketch MD5 the device reports after installing it', async () => {
    const root = tempDir();
    const b = writeBuild(join(root, 'build'), { compress: true, mode: 'dio' });
    const r = await publish(b.dir, join(root, 'releases'), '1.0.0', ['--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain('published sketch.ino 1.0.0 on channel stable');
    const m = release(join(root, 'releases'), 'stable', '1.0.0');
    expect(JSON.parse(r.stdout).version).toBe('1.0.0');
    expect(m).toMatchObject({ project: 'sketch.ino', version: '1.0.0', channel: 'stable', core: '3.1.2', key: { fingerprint: expect.stringMatching(/^SHA256:[0-9a-f]{64}$/) } });
    const byKind = Object.fromEntries(m.artifacts.map((a: { kind: string }) => [a.kind, a]));
    expect(Object.keys(byKind).sort()).toEqual(['gzip', 'gzip-signed', 'legacy', 'signed']);
    const image = md5(b.bin);
    // a signed raw image installs only where the chip's mode equals the image's: the Updater patches byte 2 before hashing
    expect(byKind.signed.sketchMd5).toEqual({ qio: null, qout: null, dio: image, dout: null });
    // eboot writes the inflated image unpatched: one MD5 whatever the mode
    expect(byKind['gzip-signed'].sketchMd5).toEqual({ qio: image, qout: image, dio: image, dout: image });
    expect(byKind.legacy.core).toBe('2.5.2');
    expect(byKind.legacy.sketchMd5.dio).toBe(image);
    for (const a of m.artifacts) {
      const bytes = readFileSync(join(root, 'releases', 'stable', '1.0.0', a.name));
      expect(a.md5).toBe(md5(bytes));
      expect(a.md5).not.toBe(image);
      expect(bytes.equals(b.files[a.name]!)).toBe(true);
      expect(a.imageFlashSize).toBe(4 << 20);
    }
  });

  test('an unsigned plain image: the sketch MD5 per flash mode is the image with byte 2 set to that mode', async () => {
    const root = tempDir();
    const b = writeBuild(join(root, 'build'), { signed: false, mode: 'dio' });
    const r = await publish(b.dir, join(root, 'releases'), '2.0.0-beta.1', ['--channel', 'beta']);
    expect(r.exitCode, r.stderr).toBe(0);
    const [plain] = release(join(root, 'releases'), 'beta', '2.0.0-beta.1').artifacts;
    expect(plain.kind).toBe('plain');
    ['qio', 'qout', 'dio', 'dout'].forEach((mode, byte) => {
      const patched = Buffer.from(b.bin);
      patched[2] = byte;
      expect(plain.sketchMd5[mode]).toBe(md5(patched));
    });
  });

  test('a .bin rebuilt after its postbuild is refused as stale, and nothing is written', async () => {
    const root = tempDir();
    const b = writeBuild(join(root, 'build'));
    const bin = Buffer.from(b.bin);
    bin[0x2000] ^= 1;
    writeFileSync(join(b.dir, 'sketch.ino.bin'), bin);
    const r = await publish(b.dir, join(root, 'releases'), '1.0.0');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/sketch\.ino\.manifest\.json is stale: sketch\.ino\.bin changed after postbuild proved its artifacts/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(join(root, 'releases'))).toBe(false);
  });

  test('a failed build (no manifest) and a garbled manifest are refused with the file named', async () => {
    const root = tempDir();
    const b = writeBuild(join(root, 'build'));
    writeFileSync(join(b.dir, 'sketch.ino.manifest.json'), '{"tool": "esp8266-sign", ');
    let r = await publish(b.dir, join(root, 'releases'), '1.0.0');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`${join(b.dir, 'sketch.ino.manifest.json')} is not valid JSON`);
    const empty = join(root, 'empty build');
    r = await runCli(['publish', '--build-dir', empty, '--project-name', 'sketch.ino', '--version', '1.0.0', '--to', join(root, 'releases')]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/sketch\.ino\.manifest\.json does not exist: no successful "esp8266-sign postbuild"/);
  });

  test('an artifact changed after the postbuild is refused', async () => {
    const root = tempDir();
    const b = writeBuild(join(root, 'build'));
    writeFileSync(join(b.dir, 'sketch.ino.bin.signed'), Buffer.concat([b.files['sketch.ino.bin.signed']!, Buffer.from([0])]));
    const r = await publish(b.dir, join(root, 'releases'), '1.0.0');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/sketch\.ino\.bin\.signed changed after postbuild proved it/);
  });

  test('a published version never changes; bad versions and channels are usage errors', async () => {
    const root = tempDir();
    const b = writeBuild(join(root, 'build'));
    const to = join(root, 'releases');
    expect((await publish(b.dir, to, '1.0.0')).exitCode).toBe(0);
    const again = await publish(b.dir, to, '1.0.0');
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toContain('release stable/1.0.0 already exists');
    for (const [v, extra] of [['../1.0.0', []], ['DOOR-7-g14f53a19', []], ['1.0.1', ['--channel', '../etc']]] as const) {
      const r = await publish(b.dir, to, v, [...extra]);
      expect(r.exitCode, v).toBe(2);
    }
    // no temporary folder is left behind
    expect(readdirSync(to)).toEqual(['stable']);
    writeFileSync(join(root, 'a file'), 'x');
    const notDir = await publish(b.dir, join(root, 'a file'), '1.0.2');
    expect(notDir.exitCode).toBe(1);
    expect(notDir.stderr).toContain('is not a folder');
  });

  test('--filesystem: a signed image is proven on the emulated Updater (U_FS); an unsigned or oversized one is refused', async () => {
    const root = tempDir();
    const b = writeBuild(join(root, 'build'));
    const fs = prng('littlefs image', 64 * 1024);
    writeFileSync(join(root, 'fs unsigned.bin'), fs);
    writeFileSync(join(root, 'littlefs.bin'), signWith(fs));
    writeFileSync(join(root, 'huge.bin'), signWith(prng('huge', 0x1fa000 + 4096)));
    const to = join(root, 'releases');
    let r = await publish(b.dir, to, '1.0.0', ['--filesystem', join(root, 'fs unsigned.bin')]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/--filesystem fs unsigned\.bin would be refused by the device \(ERROR\[12\]: Signature verification failed\) after it has overwritten the filesystem\. .*sign --filesystem/);
    r = await publish(b.dir, to, '1.0.0', ['--filesystem', join(root, 'huge.bin')]);
    expect(r.stderr).toContain('the build\'s filesystem holds 2072576');
    expect(existsSync(to)).toBe(false);
    r = await publish(b.dir, to, '1.0.0', ['--filesystem', join(root, 'littlefs.bin')]);
    expect(r.exitCode, r.stderr).toBe(0);
    const fsArtifact = release(to, 'stable', '1.0.0').artifacts.find((a: { kind: string }) => a.kind === 'filesystem');
    expect(fsArtifact).toMatchObject({ name: 'littlefs.bin', size: 64 * 1024 + 260, signature: 'digestinfo', sketchMd5: { qio: null, qout: null, dio: null, dout: null } });
  });

  test('a release whose artifact is still being copied in is skipped, warned once, and served once it is whole', async () => {
    const root = tempDir();
    const to = join(root, 'releases');
    const b = writeBuild(join(root, 'build'));
    await publish(b.dir, to, '1.0.0');
    const file = join(to, 'stable', '1.0.0', 'sketch.ino.bin.signed');
    const whole = readFileSync(file);
    writeFileSync(file, whole.subarray(0, 1000));
    const warnings: string[] = [];
    const store = new ReleaseStore(to, (w) => warnings.push(w), 0, 0);
    expect(store.scan()).toEqual([]);
    expect(store.scan()).toEqual([]);
    expect(warnings).toHaveLength(1);
    writeFileSync(file, whole);
    expect(store.scan().map((r) => r.id)).toEqual(['stable/1.0.0']);
  });

  test('--list shows every release, and names one that is broken', async () => {
    const root = tempDir();
    const to = join(root, 'releases');
    const b = writeBuild(join(root, 'build'));
    await publish(b.dir, to, '1.0.0');
    await publish(b.dir, to, '1.1.0', ['--channel', 'beta']);
    writeFileSync(join(to, 'beta', '1.1.0', 'sketch.ino.bin.signed'), 'tampered');
    const r = await runCli(['publish', '--list', '--to', to, '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.releases.map((x: { channel: string; version: string }) => `${x.channel}/${x.version}`)).toEqual(['stable/1.0.0']);
    expect(out.problems[0]).toMatch(/beta\/1\.1\.0 is not served: .*sketch\.ino\.bin\.signed has 8 bytes/);
    const human = await runCli(['publish', '--list', '--to', to]);
    expect(human.stderr).toMatch(/stable\/1\.0\.0 {2}sketch\.ino {2}core 3\.1\.2/);
  });
});
