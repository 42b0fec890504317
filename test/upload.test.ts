/** `upload` through the built CLI against the ArduinoOTA test device on loopback. */
import { createServer, type Server } from 'node:net';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { KEY1024, PUB1024, PUB2048 } from './device-helpers.js';
import { runCli, tempDir, VECTORS } from './helpers.js';
import { parseHeader } from '../src/header-gen/header.js';
import { makeImage } from '../src/image/image.js';
import { ArduinoOtaDevice, type OtaDeviceOptions } from './devices/arduino-ota-device.js';
import { buildDir, type BuildDir } from './devices/build-dir.js';

const python = spawnSync('python3', ['-c', '0']).status === 0;
const devices: ArduinoOtaDevice[] = [];
afterEach(async () => {
  for (const d of devices.splice(0)) await d.stop();
});

async function deviceWith(o: OtaDeviceOptions = {}): Promise<ArduinoOtaDevice> {
  const d = new ArduinoOtaDevice({ key: PUB2048, runningSketchSize: 120_000, ...o });
  await d.start();
  devices.push(d);
  return d;
}

/** Loopback only, any free host port, short waits. */
const net = (d: ArduinoOtaDevice, extra: string[] = []) => ['--host', '127.0.0.1', '--port', String(d.port), '--host-ip', '127.0.0.1', '--host-port', '0', '--timeout', '2', ...extra];
const fromBuild = (b: BuildDir) => ['--build-dir', b.dir, '--project-name', b.project];
const upload = (d: ArduinoOtaDevice, args: string[], env: Record<string, string> = {}) => runCli(['upload', ...net(d), ...args], { env });

describe('a 3.1.2 device with signing takes the artifact postbuild proved', () => {
  test('uploads the .bin.signed the manifest names; the device verifies, copies and boots the image', async () => {
    const b = buildDir();
    const d = await deviceWith();
    const r = await upload(d, fromBuild(b));
    expect(r.exitCode, r.stderr + d.log.join('\n')).toBe(0);
    expect(r.stderr).toContain(`uploading ${b.signedPath} (${b.signed.length} bytes, accepted by the emulated core 3.1.2 device)`);
    expect(r.stderr).toMatch(/upload OK in [\d.]+ s: the device said OK/);
    expect(d.booted).toEqual({ ebootResult: 0, appLoads: true });
    expect(d.flashHead(b.bin.length).equals(b.bin)).toBe(true);
  });

  test('--json: the phases in order with timings, one attempt, and the device\'s reply', async () => {
    const b = buildDir();
    const d = await deviceWith();
    const r = await upload(d, [...fromBuild(b), '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.result).toBe('ok');
    expect(j.reply).toBe('OK');
    expect(j.size).toBe(b.signed.length);
    expect(j.check).toMatchObject({ core: '3.1.2', passed: true });
    expect(j.attempts).toHaveLength(1);
    expect(j.attempts[0].phases.map((p: { phase: string }) => p.phase)).toEqual(['invite', 'connect-back', 'transfer', 'verify']);
    for (const p of j.attempts[0].phases) expect(p.ms).toBeGreaterThanOrEqual(0);
    expect(r.stderr).not.toMatch(/uploading \d+%/); // --json: no progress lines
  });

  test('without a terminal, progress is one plain line per 10 %; --quiet prints only the result', async () => {
    const b = buildDir({ size: 300_000 });
    const d = await deviceWith({ runningSketchSize: 300_000 });
    const r = await upload(d, fromBuild(b));
    expect(r.exitCode, r.stderr).toBe(0);
    const lines = r.stderr.split('\n').filter((l) => / uploading \d+% \(/.test(l));
    expect(lines.map((l) => / uploading (\d+)%/.exec(l)![1])).toEqual(['10', '20', '30', '40', '50', '60', '70', '80', '90', '100']);
    const q = await upload(d, [...fromBuild(b), '--quiet']);
    expect(q.exitCode, q.stderr).toBe(0);
    expect(q.stderr.trim().split('\n')).toHaveLength(1);
    expect(q.stderr).toMatch(/^esp8266-sign: upload OK/);
  });

  test('a FILE that the manifest beside it lists is checked with that build\'s facts', async () => {
    const b = buildDir();
    const d = await deviceWith();
    const r = await upload(d, [b.signedPath]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(d.flashHead(b.bin.length).equals(b.bin)).toBe(true);
  });

  test('the unsigned .bin of a build is not swapped silently: the message names the proven file', async () => {
    const b = buildDir();
    const d = await deviceWith();
    const r = await upload(d, [b.binPath]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`is the unsigned image of a build that proved ${b.signedPath}`);
    expect(d.invitations).toBe(0);
  });
});

const pty = python && process.platform !== 'win32';
if (!pty) console.log('upload.test.ts: the terminal progress-bar test is not run: it needs python3 (pty module) on a POSIX system');
test.runIf(pty)('on a terminal: one bar redrawn in place, with percentage, rate and time left', async () => {
  const b = buildDir({ size: 300_000 });
  const d = await deviceWith({ runningSketchSize: 300_000 });
  const { CLI } = await import('./helpers.js');
  const script = 'import os, pty, sys\nout = b""\ndef read(fd):\n    global out\n    data = os.read(fd, 65536)\n    out += data\n    return data\nstatus = pty.spawn(sys.argv[1:], read)\nsys.stdout.buffer.write(out)\nsys.exit(os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") else 0)\n';
  const { execa } = await import('execa');
  const r = await execa('python3', ['-c', script, process.execPath, CLI, 'upload', ...net(d), ...fromBuild(b)], { reject: false, timeout: 30_000 });
  expect(r.exitCode, String(r.stdout)).toBe(0);
  const out = String(r.stdout);
  expect(out).toMatch(/\r\[#{30}\] 100% {2}\d+ KiB\/s {2}0:00 left/);
  expect(out).not.toMatch(/uploading \d+% \(/);
  expect(out).toContain('upload OK');
});

describe('passwords', () => {
  test('from ESP8266_SIGN_OTA_PASSWORD and from --password-file; never printed', async () => {
    const b = buildDir();
    const d = await deviceWith({ password: 'hunter2 with spaces' });
    const env = await upload(d, [...fromBuild(b), '--json'], { ESP8266_SIGN_OTA_PASSWORD: 'hunter2 with spaces' });
    expect(env.exitCode, env.stderr).toBe(0);
    expect(JSON.parse(env.stdout).attempts[0].phases.map((p: { phase: string }) => p.phase)).toEqual(['invite', 'auth', 'connect-back', 'transfer', 'verify']);
    const file = join(tempDir(), 'ota password.txt');
    writeFileSync(file, 'hunter2 with spaces\n');
    const f = await upload(d, [...fromBuild(b), '--password-file', file]);
    expect(f.exitCode, f.stderr).toBe(0);
    for (const out of [env.stdout, env.stderr, f.stdout, f.stderr]) expect(out).not.toContain('hunter2');
  });

  test('the IDE\'s "--auth={network.password}" form works', async () => {
    const b = buildDir();
    const d = await deviceWith({ password: 'ide-pass' });
    const r = await upload(d, [...fromBuild(b), '--auth=ide-pass']);
    expect(r.exitCode, r.stderr).toBe(0);
  });

  test('a wrong password: Authentication Failed, exit 4, not retried, password not echoed', async () => {
    const b = buildDir();
    const d = await deviceWith({ password: 'right' });
    const r = await upload(d, fromBuild(b), { ESP8266_SIGN_OTA_PASSWORD: 'wrong-one' });
    expect(r.exitCode).toBe(4);
    expect(r.stderr).toContain('upload failed at auth: the device said Authentication Failed');
    expect(r.stderr).toContain('fix:');
    expect(r.stderr).not.toContain('wrong-one');
    expect(d.invitations).toBe(1);
  });

  test('a device that asks for a password when none is set: exit 1, says where to put it', async () => {
    const b = buildDir();
    const d = await deviceWith({ password: 'x' });
    const r = await upload(d, fromBuild(b));
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('auth: the device asks for a password');
    expect(r.stderr).toContain('ESP8266_SIGN_OTA_PASSWORD');
  });
});

describe('the device says no', () => {
  test('Update.begin() fails for lack of space: ERR: ERROR[4] with the numbers, exit 4, not retried', async () => {
    const b = buildDir();
    // the device runs a sketch far larger than the build thinks: only the real device can tell
    const d = await deviceWith({ runningSketchSize: 0x1f0000 });
    const r = await upload(d, [...fromBuild(b), '--no-check']);
    expect(r.exitCode).toBe(4);
    expect(r.stderr).toContain('invite: Update.begin() failed: the device said ERROR[4]: Not Enough Space');
    expect(r.stderr).toContain(`the update needs ${b.signed.length} bytes`);
    expect(d.invitations).toBe(1);
  });

  test('the signature is rejected after the transfer: ERROR[12] with the fingerprint we signed with, exit 4', async () => {
    const b = buildDir();
    const d = await deviceWith({ key: PUB1024 });
    const r = await upload(d, fromBuild(b));
    expect(r.exitCode).toBe(4);
    expect(r.stderr).toContain('verify: Update.end() refused the update: the device said ERROR[12]: Signature verification failed');
    const fp = JSON.parse((await import('node:fs')).readFileSync(join(b.dir, `${b.project}.manifest.json`), 'utf8')).key.fingerprint;
    expect(r.stderr).toContain(`we signed with ${fp}`);
    expect(d.sessions).toBe(1);
  });
});

describe('network failures are retried, with a clear end', () => {
  test('the connection drops mid-transfer: retried, then success', async () => {
    const b = buildDir();
    const d = await deviceWith({ faults: { dropAfterBytes: 40_000 } });
    const r = await upload(d, fromBuild(b));
    expect(r.exitCode, r.stderr + d.log.join('\n')).toBe(0);
    expect(r.stderr).toMatch(/warning: .*; trying again in [\d.]+ s \(attempt 2 of 3\)/);
    expect(d.sessions).toBe(2);
    expect(d.flashHead(b.bin.length).equals(b.bin)).toBe(true);
  });

  test('a device that never answers: "invite: no answer" after the retries, in bounded time', async () => {
    const b = buildDir();
    const d = await deviceWith({ faults: { silent: true } });
    const t = performance.now();
    const r = await runCli(['upload', ...net(d).map((a) => (a === '2' ? '0.3' : a)), ...fromBuild(b), '--retries', '1']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`upload failed at invite: no answer from 127.0.0.1:${d.port} over UDP (after 2 attempts)`);
    expect(r.stderr).toContain('ArduinoOTA.handle()');
    expect(performance.now() - t).toBeLessThan(8000);
  });

  test('a device that closes without OK or ERROR: a clear message, no busy loop', async () => {
    const b = buildDir();
    const d = await deviceWith({ faults: { closeWithoutResult: true } });
    const t = performance.now();
    const r = await upload(d, [...fromBuild(b), '--retries', '0']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('upload failed at verify: the device closed the connection without OK or ERROR');
    expect(performance.now() - t).toBeLessThan(8000);
  });

  test('the host port is taken: which process holds it, and the fix', async () => {
    const b = buildDir();
    const d = await deviceWith();
    const server: Server = createServer();
    const port = await new Promise<number>((r) => server.listen(0, '127.0.0.1', () => r((server.address() as { port: number }).port)));
    try {
      const r = await runCli(['upload', ...net(d).map((a) => (a === '0' ? String(port) : a)), ...fromBuild(b)]);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toContain(`cannot listen on 127.0.0.1:${port} for the device's connection: the port is in use`);
      if (process.platform === 'linux') expect(r.stderr).toContain(`by process ${process.pid}`);
      expect(r.stderr).toContain('--host-port');
      expect(d.invitations).toBe(0);
    } finally {
      server.close();
    }
  });
});

describe('after a real prebuild and postbuild', () => {
  test.each([[[] as string[], '.bin.signed'], [['--compress'], '.bin.gz.signed']])('postbuild %j: upload sends the %s the manifest names, and the device boots the .bin', async (extra, suffix) => {
    const root = tempDir();
    const sketch = join(root, 'My Sketch');
    const build = join(root, 'build');
    mkdirSync(sketch);
    mkdirSync(join(build, 'core'), { recursive: true });
    writeFileSync(join(sketch, 'private.key'), readFileSync(join(VECTORS, 'keys', 'rsa2048.pkcs8.pem')), { mode: 0o600 });
    writeFileSync(join(sketch, 'public.key'), PUB2048);
    const pre = await runCli(['prebuild', '--sketch-dir', sketch, '--build-dir', build, '--core-version', '3.1.2']);
    expect(pre.exitCode, pre.stderr).toBe(0);
    const bin = makeImage({ size: 250_000, flashMode: 'dio', embed: parseHeader(readFileSync(join(build, 'core', 'Updater_Signing.h'), 'latin1'))!, label: 'upload after postbuild' });
    writeFileSync(join(build, 'sketch.ino.bin'), bin);
    const post = await runCli(['postbuild', '--sketch-dir', sketch, '--build-dir', build, '--project-name', 'sketch.ino', '--core-version', '3.1.2',
      '--flash-size', '4M', '--flash-mode', 'dio', '--fs-start', '0x300000', '--fs-end', '0x3FA000', ...extra]);
    expect(post.exitCode, post.stderr).toBe(0);
    const d = await deviceWith({ layout: '4M1M', runningSketchSize: bin.length });
    const r = await upload(d, ['--build-dir', build, '--project-name', 'sketch.ino']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain(`uploading ${join(build, 'sketch.ino' + suffix)}`);
    expect(d.booted).toEqual({ ebootResult: 0, appLoads: true });
    expect(d.flashHead(bin.length).equals(bin)).toBe(true);
  });
});

describe('--core picks the artifact the manifest proved for that core', () => {
  test('a --fleet 2.5.2 build: --core 2.5.2 sends .bin.legacy_sig to a 2.5.2 device, which boots it; an unknown core is refused', async () => {
    const root = tempDir();
    const sketch = join(root, 'Fleet');
    const build = join(root, 'build');
    mkdirSync(sketch);
    mkdirSync(join(build, 'core'), { recursive: true });
    writeFileSync(join(sketch, 'private.key'), readFileSync(join(VECTORS, 'keys', 'rsa2048.pkcs8.pem')), { mode: 0o600 });
    writeFileSync(join(sketch, 'public.key'), PUB2048);
    expect((await runCli(['prebuild', '--sketch-dir', sketch, '--build-dir', build, '--core-version', '3.1.2'])).exitCode).toBe(0);
    const bin = makeImage({ size: 200_000, flashMode: 'dio', embed: parseHeader(readFileSync(join(build, 'core', 'Updater_Signing.h'), 'latin1'))!, label: 'fleet upload' });
    writeFileSync(join(build, 'Fleet.ino.bin'), bin);
    const post = await runCli(['postbuild', '--sketch-dir', sketch, '--build-dir', build, '--project-name', 'Fleet.ino', '--core-version', '3.1.2',
      '--flash-size', '4M', '--flash-mode', 'dio', '--fs-start', '0x300000', '--fs-end', '0x3FA000', '--fleet', '2.5.2']);
    expect(post.exitCode, post.stderr).toBe(0);
    const d = await deviceWith({ core: '2.5.2', layout: '4M1M', runningSketchSize: bin.length });
    const r = await upload(d, ['--build-dir', build, '--project-name', 'Fleet.ino', '--core', '2.5.2']);
    expect(r.exitCode, r.stderr + d.log.join('\n')).toBe(0);
    expect(r.stderr).toContain(`uploading ${join(build, 'Fleet.ino.bin.legacy_sig')}`);
    expect(r.stderr).toContain('accepted by the emulated core 2.5.2 device');
    expect(d.flashHead(bin.length).equals(bin)).toBe(true);
    const unknown = await upload(d, ['--build-dir', build, '--project-name', 'Fleet.ino', '--core', '2.7.4']);
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toContain('has no artifact proven for core 2.7.4');
  });
});

describe('hostile peers', () => {
  test.runIf(process.platform === 'linux')('a connection from another address is hung up on; the device\'s own goes through', async () => {
    const b = buildDir();
    const d = await deviceWith({ faults: { intruder: true } });
    const r = await upload(d, fromBuild(b));
    expect(r.exitCode, r.stderr + d.log.join('\n')).toBe(0);
    expect(d.log).toContain('intruder: hung up on');
    expect(d.flashHead(b.bin.length).equals(b.bin)).toBe(true);
  });

  test('something else answering on the port: named as not ArduinoOTA, quoted safely, exit 1', async () => {
    const { createSocket } = await import('node:dgram');
    const peer = createSocket('udp4');
    peer.on('message', (_m, rinfo) => peer.send(`HELLO\x1b[31m${'x'.repeat(400)}`, rinfo.port, rinfo.address));
    const port = await new Promise<number>((r) => peer.bind(0, '127.0.0.1', () => r(peer.address().port)));
    try {
      const b = buildDir();
      const r = await runCli(['upload', '--host', '127.0.0.1', '--port', String(port), '--host-ip', '127.0.0.1', '--host-port', '0', '--timeout', '2', ...fromBuild(b)]);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toContain('invite: an answer that is not the ArduinoOTA protocol: "HELLO?[31mxxx');
      expect(r.stderr).not.toContain('\x1b');
      expect(r.stderr.length).toBeLessThan(1000);
    } finally {
      peer.close();
    }
  });
});

describe('refused before sending', () => {
  test('a stale manifest (the .bin was rebuilt without postbuild) is refused, nothing sent', async () => {
    const b = buildDir();
    const d = await deviceWith();
    const rebuilt = Buffer.from(b.bin);
    rebuilt[rebuilt.length - 100] ^= 0xff;
    writeFileSync(b.binPath, rebuilt);
    const r = await upload(d, fromBuild(b));
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('Blink.ino.manifest.json is stale: Blink.ino.bin changed after postbuild');
    expect(d.invitations).toBe(0);
  });

  test('an artifact the emulated device would reject: exit 3 with cause and fix, nothing sent', async () => {
    // a manifest postbuild would never write: the listed artifact is signed with another key
    const b = buildDir({ signWith: KEY1024 });
    const d = await deviceWith();
    const r = await upload(d, fromBuild(b));
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain('refused before sending: the emulated core 3.1.2 device would not boot');
    expect(r.stderr).toMatch(/\nesp8266-sign: {3}cause: .+\nesp8266-sign: {3}fix: {3}.+/);
    const j = await upload(d, [...fromBuild(b), '--json']);
    expect(j.exitCode).toBe(3);
    expect(JSON.parse(j.stdout)).toMatchObject({ result: 'refused', attempts: [], check: { core: '3.1.2', passed: false, stage: 'end' } });
    expect(d.invitations).toBe(0);
  });

  test('a FILE no manifest lists: --core (and --pubkey) say which device to check on', async () => {
    const b = buildDir();
    const d = await deviceWith();
    const lone = join(tempDir(), 'firmware v2.bin.signed');
    writeFileSync(lone, b.signed);
    const bare = await upload(d, [lone]);
    expect(bare.exitCode).toBe(1);
    expect(bare.stderr).toContain('no build manifest lists');
    const pub = join(tempDir(), 'public.key');
    writeFileSync(pub, PUB2048);
    const ok = await upload(d, [lone, '--core', '3.1.2', '--pubkey', pub, '--layout', '4M2M']);
    expect(ok.exitCode, ok.stderr).toBe(0);
    const other = join(tempDir(), 'other.key');
    writeFileSync(other, PUB1024);
    const refused = await upload(d, [lone, '--core', '3.1.2', '--pubkey', other, '--layout', '4M2M']);
    expect(refused.exitCode).toBe(3);
  });

  test('usage: no host, both FILE and --build-dir, a bad port', async () => {
    const b = buildDir();
    for (const args of [[b.signedPath], ['--host', '127.0.0.1', b.signedPath, ...fromBuild(b)], ['--host', '127.0.0.1', '--port', '70000', b.signedPath], ['--host', '127.0.0.1', '--build-dir', b.dir]]) {
      const r = await runCli(['upload', ...args]);
      expect(r.exitCode, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/--host ADDRESS is required|give either FILE or --build-dir|--port must be a port number|--build-dir needs --project-name/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });

  test('a missing build folder, a folder or a FIFO where the file belongs: exit 1, named, nothing sent', async () => {
    const d = await deviceWith();
    const missing = await upload(d, ['--build-dir', join(tempDir(), 'no such build'), '--project-name', 'Blink.ino']);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain('Blink.ino.manifest.json does not exist');
    const folder = await upload(d, [tempDir()]);
    expect(folder.exitCode).toBe(1);
    expect(folder.stderr).toContain('is a folder, not a file');
    if (process.platform !== 'win32') {
      const fifo = join(tempDir(), 'fifo.bin');
      spawnSync('mkfifo', [fifo]);
      const r = await upload(d, [fifo]);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toContain('is a FIFO (named pipe), not a regular file');
    }
    expect(d.invitations).toBe(0);
  });
});

describe('filesystem and IPv6', () => {
  test('--filesystem sends command U_FS; the image lands at the filesystem start', async () => {
    const d = await deviceWith({ key: null });
    const fs = Buffer.alloc(64 * 1024, 0x5a);
    const file = join(tempDir(), 'littlefs.bin');
    writeFileSync(file, fs);
    const r = await upload(d, [file, '--filesystem', '--core', '3.1.2', '--layout', '4M2M']);
    expect(r.exitCode, r.stderr + d.log.join('\n')).toBe(0);
    expect(d.log[0]).toContain('invitation: cmd 100');
    expect(Buffer.from(d.device.flash.bytes.subarray(0x200000, 0x200000 + fs.length)).equals(fs)).toBe(true);
    expect(r.stderr).toMatch(/warning: unless the device's firmware is built with -DATOMIC_FS_UPDATE/);
    const atomic = await upload(await deviceWith({ key: null }), [file, '--filesystem', '--atomic-fs', '--core', '3.1.2', '--layout', '4M2M']);
    expect(atomic.stderr).not.toMatch(/ATOMIC_FS_UPDATE/);
  });

  test('an unsigned filesystem image for a device that checks signatures: exit 3', async () => {
    const d = await deviceWith();
    const file = join(tempDir(), 'littlefs.bin');
    writeFileSync(file, Buffer.alloc(8192, 1));
    const pub = join(tempDir(), 'public.key');
    writeFileSync(pub, PUB2048);
    const r = await upload(d, [file, '--filesystem', '--core', '3.1.2', '--layout', '4M2M', '--pubkey', pub]);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/the filesystem was already overwritten/);
  });

  const v6 = spawnSync(process.execPath, ['-e', "require('net').createServer().listen(0,'::1',function(){this.close()}).on('error',()=>process.exit(1))"]).status === 0;
  test.runIf(v6)('over IPv6 (::1): the host side works, with a warning that real ESP8266s listen on IPv4 only', async () => {
    const b = buildDir();
    const d = await deviceWith({ address: '::1' });
    const r = await runCli(['upload', '--host', '::1', '--port', String(d.port), '--host-ip', '::1', '--host-port', '0', '--timeout', '2', ...fromBuild(b)]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain('warning: ArduinoOTA on the ESP8266 listens for IPv4 invitations only');
    expect(d.flashHead(b.bin.length).equals(b.bin)).toBe(true);
  });
  if (!v6) console.log('upload.test.ts: IPv6 test not run: this machine has no ::1');
});

const espota = process.env.ESPOTA_PY;
const espotaNote = !espota ? 'ESPOTA_PY is not set' : !existsSync(espota) ? `ESPOTA_PY=${espota} does not exist` : !python ? 'python3 is not available' : null;
if (espotaNote) console.log(`upload.test.ts: the real espota.py test is not run: ${espotaNote} (README: upload, "testing against espota.py")`);
describe.runIf(!espotaNote)('the test device speaks the real protocol', () => {
  test('the real espota.py uploads to it, with a password, and the device boots the image', async () => {
    const b = buildDir();
    const d = await deviceWith({ password: 'pw' });
    const free = await new Promise<number>((r) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => r(p));
      });
    });
    const { execa } = await import('execa');
    const r = await execa('python3', [espota!, '-i', '127.0.0.1', '-p', String(d.port), '-I', '127.0.0.1', '-P', String(free), '-a', 'pw', '-f', b.signedPath], { reject: false, timeout: 30_000 });
    expect(r.exitCode, `${r.stderr}\n${d.log.join('\n')}`).toBe(0);
    expect(d.booted).toEqual({ ebootResult: 0, appLoads: true });
    expect(d.flashHead(b.bin.length).equals(b.bin)).toBe(true);
  });
});
