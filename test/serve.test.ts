/**
 * serve end to end through the built CLI, on loopback: a test ESP8266 polls as ESP8266httpUpdate
 * does, installs what it gets on the emulated device, and polls again with the sketch MD5 its new
 * firmware reports.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { makeImage, prng } from '../src/image/image.js';
import { FIXTURES, runCli, tempDir } from './helpers.js';
import { PUB2048, signWith } from './device-helpers.js';
import { writeBuild } from './devices/build-folder.js';
import { exchange, HTTP_UE, HttpUpdateDevice, parseResponse, type HttpUpdateDeviceSpec } from './devices/http-update-client.js';
import { startServe, type ServeProcess } from './devices/serve-process.js';

const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');
const factory = (signed = true) => makeImage({ label: 'factory firmware', size: 220_000, flashMode: 'dio', embed: signed ? PUB2048 : undefined });

async function publish(to: string, version: string, spec: Parameters<typeof writeBuild>[1] = {}, channel = 'stable') {
  const b = writeBuild(tempDir(), { label: `release ${channel} ${version}`, ...spec });
  const r = await runCli(['publish', '--build-dir', b.dir, '--project-name', 'sketch.ino', '--version', version, '--to', to, '--channel', channel]);
  expect(r.exitCode, r.stderr).toBe(0);
  return b;
}

function device(over: Partial<HttpUpdateDeviceSpec> = {}): HttpUpdateDevice {
  return new HttpUpdateDevice({ core: '3.1.2', layout: '4M2M', mode: 'dio', key: PUB2048, mac: '18:FE:34:AA:BB:01', running: factory(), ...over });
}

function rulesFile(value: unknown): string {
  const p = join(tempDir(), 'rules.json');
  writeFileSync(p, JSON.stringify(value));
  return p;
}


describe('serve: the device boots the update, then hears 304', () => {
  let signed: string;
  let build: ReturnType<typeof writeBuild>;
  beforeAll(async () => {
    signed = join(tempDir(), 'releases');
    build = await publish(signed, '1.0.0', { compress: true });
  });

  test('a signed .bin: 200 with exact length and one x-MD5, boots; the next poll is 304', async () => {
    const s = await startServe(['--releases', signed, '--json']);
    try {
      const d = device();
      const first = await d.poll(`${s.url}/update`);
      expect(first.outcome, JSON.stringify(first.verdict?.cause)).toBe('HTTP_UPDATE_OK');
      expect(first.headers).toMatchObject({ 'content-type': 'application/octet-stream', 'content-length': String(build.files['sketch.ino.bin.signed']!.length), 'x-md5': md5(build.files['sketch.ino.bin.signed']!) });
      expect(first.headers['transfer-encoding']).toBeUndefined();
      expect(first.verdict).toMatchObject({ accepted: true, boots: true });
      expect(d.sketchMd5).toBe(md5(build.bin));
      const second = await d.poll(`${s.url}/update`);
      expect(second).toMatchObject({ status: 304, outcome: 'HTTP_UPDATE_NO_UPDATES', bodyLength: 0 });
      const log = await s.jsonLines(2);
      expect(log.map((e) => e.status)).toEqual([200, 304]);
      expect(log[0]).toMatchObject({ mac: '18:FE:34:AA:BB:01', release: 'stable/1.0.0', artifact: 'sketch.ino.bin.signed', bytes: build.files['sketch.ino.bin.signed']!.length, mode: 'sketch' });
      expect(typeof log[0].ms).toBe('number');
      expect(log[1].reason).toContain('already runs stable/1.0.0');
      await s.waitFor(/esp8266-sign: 127\.0\.0\.1 18:FE:34:AA:BB:01 - GET sketch -> 304 stable\/1\.0\.0/);
    } finally {
      expect(await s.stop()).toBe(0);
    }
  });

  test('a signed .gz for a core that takes it, on a chip in QIO mode: boots, then 304', async () => {
    const s = await startServe(['--releases', signed, '--rules', rulesFile({ default: { core: '3.1.2' } })]);
    try {
      const d = device({ mode: 'qio' });
      const first = await d.poll(`${s.url}/update`);
      expect(first.outcome).toBe('HTTP_UPDATE_OK');
      expect(Number(first.headers['content-length'])).toBe(build.files['sketch.ino.bin.gz.signed']!.length);
      expect((await d.poll(`${s.url}/update`)).status).toBe(304);
    } finally {
      await s.stop();
    }
  });

  test('a plain image whose flash-mode byte the device rewrites: the device reports a new MD5 and still hears 304', async () => {
    const plain = join(tempDir(), 'releases');
    const b = await publish(plain, '3.0.0', { signed: false, mode: 'dio' });
    const s = await startServe(['--releases', plain]);
    try {
      const d = device({ key: null, mode: 'qio', running: factory(false) });
      const first = await d.poll(`${s.url}/update`);
      expect(first.outcome).toBe('HTTP_UPDATE_OK');
      // what a naive server compares with: never equal after the Updater's byte-2 patch
      expect(d.sketchMd5).not.toBe(md5(b.bin));
      expect(first.headers['x-md5']).toBe(md5(b.bin));
      expect((await d.poll(`${s.url}/update`)).outcome).toBe('HTTP_UPDATE_NO_UPDATES');
    } finally {
      await s.stop();
    }
  });

  test('a chip smaller than the image\'s flash size is refused (the device keeps running), and HEAD answers like GET without a body', async () => {
    const s = await startServe(['--releases', signed, '--json']);
    try {
      const d = device({ chipSize: 2 << 20 });
      const before = d.sketchMd5;
      const r = await d.poll(`${s.url}/update`);
      expect(r).toMatchObject({ status: 409, outcome: 'HTTP_UPDATE_FAILED', lastError: HTTP_UE.SERVER_WRONG_HTTP_CODE });
      expect(d.sketchMd5).toBe(before);
      expect((await s.jsonLines(1))[0]!.reason).toContain('built for a 4096 KiB flash, the chip has 2048 KiB');
      const head = await device().poll(`${s.url}/update`, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(head.headers['content-length']).toBe(String(build.files['sketch.ino.bin.signed']!.length));
      expect(head.bodyLength).toBe(0);
    } finally {
      await s.stop();
    }
  });

  test('mode=version answers x-version; mode=spiffs is 304 with the ATOMIC_FS_UPDATE warning', async () => {
    const s = await startServe(['--releases', signed]);
    try {
      const v = await device().poll(`${s.url}/update`, { mode: 'version' });
      expect(v).toMatchObject({ status: 200, outcome: 'HTTP_UPDATE_OK', availableVersion: '1.0.0' });
      const fs = await device().poll(`${s.url}/update`, { mode: 'spiffs' });
      expect(fs.status).toBe(304);
      await s.waitFor(/warning: a filesystem update is not protected by signing unless the firmware is built with ATOMIC_FS_UPDATE/);
    } finally {
      await s.stop();
    }
  });
});

describe('serve: filesystem updates', () => {
  test('updateFS(): a signed filesystem image is written over the filesystem and verified, then 304; the ATOMIC_FS_UPDATE warning is logged', async () => {
    const root = tempDir();
    const b = writeBuild(join(root, 'build'), { label: 'fs release' });
    writeFileSync(join(root, 'littlefs.bin'), signWith(prng('littlefs', 100_000)));
    const to = join(root, 'releases');
    const r = await runCli(['publish', '--build-dir', b.dir, '--project-name', 'sketch.ino', '--version', '1.2.0', '--to', to, '--filesystem', join(root, 'littlefs.bin')]);
    expect(r.exitCode, r.stderr).toBe(0);
    const s = await startServe(['--releases', to, '--json']);
    try {
      const d = device({ fsVersion: '1.1.0', takesServerVersion: true });
      const first = await d.poll(`${s.url}/fs`, { mode: 'spiffs' });
      expect(first).toMatchObject({ status: 200, outcome: 'HTTP_UPDATE_OK' });
      expect(d.fsVersion).toBe('1.2.0');
      expect((await d.poll(`${s.url}/fs`, { mode: 'spiffs' })).status).toBe(304);
      const log = await s.jsonLines(2);
      expect(log[0]).toMatchObject({ status: 200, artifact: 'littlefs.bin', mode: 'spiffs', warning: expect.stringContaining('ATOMIC_FS_UPDATE') });
      await s.waitFor(/warning: a filesystem update is not protected by signing/);
      // the firmware itself is a separate question: the same device still gets the sketch
      expect((await d.poll(`${s.url}/fs`)).outcome).toBe('HTTP_UPDATE_OK');
    } finally {
      await s.stop();
    }
  });
});

describe('serve: releases and channels', () => {
  test('a release published while devices poll is served on the next poll, without a restart', async () => {
    const to = join(tempDir(), 'releases');
    await publish(to, '1.0.0');
    const s = await startServe(['--releases', to, '--rescan', '0', '--json']);
    try {
      const d = device({ takesServerVersion: true });
      expect((await d.poll(`${s.url}/u`)).outcome).toBe('HTTP_UPDATE_OK');
      expect((await d.poll(`${s.url}/u`)).status).toBe(304);
      const next = await publish(to, '1.1.0');
      const r = await d.poll(`${s.url}/u`);
      expect(r.outcome).toBe('HTTP_UPDATE_OK');
      expect(r.headers['x-version']).toBe('1.1.0');
      expect(d.sketchMd5).toBe(md5(next.bin));
      expect((await d.poll(`${s.url}/u`)).status).toBe(304);
      expect((await s.jsonLines(4)).map((e) => `${e.status} ${e.release}`)).toEqual(['200 stable/1.0.0', '304 stable/1.0.0', '200 stable/1.1.0', '304 stable/1.1.0']);
    } finally {
      await s.stop();
    }
  });

  test('between rescans the release list is cached; a release published mid-run is served once --rescan has passed', async () => {
    const to = join(tempDir(), 'releases');
    await publish(to, '1.0.0');
    const s = await startServe(['--releases', to, '--rescan', '300', '--json']);
    try {
      const d = device({ takesServerVersion: true });
      expect((await d.poll(`${s.url}/u`)).outcome).toBe('HTTP_UPDATE_OK');
      expect((await d.poll(`${s.url}/u`)).status).toBe(304);
      const next = await publish(to, '1.1.0');
      // the cached list (and each channel's order worked out from it) must give way to the new one
      let polls = 3;
      let r = await d.poll(`${s.url}/u`);
      for (; polls < 33 && r.status === 304; polls++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        r = await d.poll(`${s.url}/u`);
      }
      expect(r.outcome).toBe('HTTP_UPDATE_OK');
      expect(r.headers['x-version']).toBe('1.1.0');
      expect(d.sketchMd5).toBe(md5(next.bin));
      expect((await d.poll(`${s.url}/u`)).status).toBe(304);
      const log = await s.jsonLines(polls + 1);
      expect(log.slice(-2).map((e) => `${e.status} ${e.release}`)).toEqual(['200 stable/1.1.0', '304 stable/1.1.0']);
    } finally {
      await s.stop();
    }
  });

  test('a release folder that disappears while serving: nothing is served, nothing crashes', async () => {
    const to = join(tempDir(), 'releases');
    await publish(to, '1.0.0');
    const s = await startServe(['--releases', to, '--rescan', '0']);
    try {
      rmSync(to, { recursive: true });
      const r = await device().poll(`${s.url}/u`);
      expect(r.status).toBe(304);
      await s.waitFor(/warning: the release folder .* cannot be read \(ENOENT\); no release is served until it can/);
      await s.waitFor(/channel stable has no release yet/);
    } finally {
      expect(await s.stop()).toBe(0);
    }
  });

  test('a FIFO where an artifact belongs is skipped with a warning, never read', async () => {
    const to = join(tempDir(), 'releases');
    await publish(to, '1.0.0');
    const file = join(to, 'stable', '1.0.0', 'sketch.ino.bin.signed');
    rmSync(file);
    execFileSync('mkfifo', [file]);
    const s = await startServe(['--releases', to]);
    try {
      expect(s.stderr()).toMatch(/warning: release stable\/1\.0\.0 is not served: artifact .*sketch\.ino\.bin\.signed is a FIFO/);
      expect((await device().poll(`${s.url}/u`)).status).toBe(304);
    } finally {
      await s.stop();
    }
  });

  test('a device on another channel gets its own release; an unmatched device the configured 403', async () => {
    const to = join(tempDir(), 'releases');
    const stable = await publish(to, '1.0.0');
    const beta = await publish(to, '1.1.0-beta.1', {}, 'beta');
    const rules = rulesFile({ rules: [{ name: 'lab bench', match: { mac: ['18:FE:34:AA:BB:02'] }, channel: 'beta' }, { name: 'fleet', match: { chipId: [1234567] }, channel: 'stable' }], unmatched: 403 });
    const s = await startServe(['--releases', to, '--rules', rules]);
    try {
      const a = device();
      const b = device({ mac: '18:FE:34:AA:BB:02' });
      expect((await a.poll(`${s.url}/`)).outcome).toBe('HTTP_UPDATE_OK');
      expect((await b.poll(`${s.url}/`)).outcome).toBe('HTTP_UPDATE_OK');
      expect(a.sketchMd5).toBe(md5(stable.bin));
      expect(b.sketchMd5).toBe(md5(beta.bin));
      const stranger = await device({ mac: '18:FE:34:AA:BB:03', chipId: 99 }).poll(`${s.url}/`);
      expect(stranger).toMatchObject({ status: 403, lastError: HTTP_UE.SERVER_FORBIDDEN });
    } finally {
      await s.stop();
    }
  });
});

describe('serve: hostile peers get 4xx quickly and the server keeps serving', () => {
  let s: ServeProcess;
  let to: string;
  beforeAll(async () => {
    to = join(tempDir(), 'releases');
    await publish(to, '1.0.0', { size: 1_000_000 });
    s = await startServe(['--releases', to, '--header-timeout', '300', '--json']);
  });
  afterAll(async () => {
    await s.stop();
  });

  const raw = async (text: string | Buffer) => parseResponse(await exchange(new URL(s.url), text, 3000));

  test('no User-Agent, a missing header, a malformed MAC, path traversal, absurd numbers', async () => {
    const head = device().requestHead(new URL(`${s.url}/update`), 'sketch');
    expect((await raw(head.replace('User-Agent: ESP8266-http-Update', 'User-Agent: Wget'))).status).toBe(403);
    expect((await raw(head.replace(/x-ESP8266-chip-size: \d+\r\n/, ''))).status).toBe(403);
    expect((await raw(head.replace(/STA-MAC: [^\r]+/, 'STA-MAC: <script>'))).status).toBe(400);
    expect((await raw(head.replace('GET /update', 'GET /../../etc/passwd'))).status).toBe(400);
    expect((await raw(head.replace(/free-space: \d+/, 'free-space: 1e309'))).status).toBe(400);
    const r = await raw(head.replace(/free-space: \d+/, 'free-space: 99999999999'));
    expect(r.status).toBe(400);
    expect(r.body.toString()).toContain('is not a decimal number');
  });

  test('a peer that reads its answer but never closes its side is cut after --idle-timeout', async () => {
    const idle = await startServe(['--releases', to, '--idle-timeout', '400']);
    try {
      const head = device().requestHead(new URL(`${idle.url}/update`), 'sketch');
      const cut = await new Promise<string>((resolve) => {
        // allowHalfOpen: this side never ends its half. Once the server has closed the connection,
        // bytes written to it come back as a reset; while it holds it open they are taken quietly.
        const sock = connect({ port: idle.port, host: '127.0.0.1', allowHalfOpen: true }, () => sock.write(head.replace('x-ESP8266-mode: sketch', 'x-ESP8266-mode: nonsense')));
        sock.on('data', () => {});
        sock.on('end', () => {
          setTimeout(() => {
            sock.write('x');
            setTimeout(() => sock.write('y'), 200);
            setTimeout(() => resolve('still open'), 1500);
          }, 1200);
        });
        sock.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
      });
      expect(cut).toMatch(/^(ECONNRESET|EPIPE)$/);
    } finally {
      await idle.stop();
    }
  });

  test('a peer that holds its side open after its answer does not hold up SIGTERM', async () => {
    const lingering = await startServe(['--releases', to]);
    const head = device().requestHead(new URL(`${lingering.url}/update`), 'sketch');
    const sock = connect({ port: lingering.port, host: '127.0.0.1', allowHalfOpen: true }, () => sock.write(head.replace('x-ESP8266-mode: sketch', 'x-ESP8266-mode: nonsense')));
    try {
      await new Promise<void>((resolve) => sock.on('data', () => {}).once('end', () => resolve()));
      const started = Date.now();
      expect(await lingering.stop()).toBe(0);
      // the idle timeout (30 s by default) would otherwise decide when serve exits
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      sock.destroy();
    }
  });

  test('a refusal quoting a clipped value ("…") has a Content-Length that matches its UTF-8 body', async () => {
    const head = device().requestHead(new URL(`${s.url}/update`), 'sketch');
    const r = await raw(head.replace(/x-ESP8266-mode: \w+/, `x-ESP8266-mode: ${'z'.repeat(60)}`));
    expect(r.status).toBe(400);
    expect(r.body.toString('utf8')).toContain('…" is not sketch, spiffs or version');
    expect(Number(r.headers['content-length'])).toBe(r.body.length);
  });

  test('huge headers get 431, garbage 400, and a slowloris head is cut after --header-timeout', async () => {
    const head = device().requestHead(new URL(`${s.url}/update`), 'sketch');
    expect((await raw(head.replace('Connection: close', `X-Pad: ${'a'.repeat(20_000)}\r\nConnection: close`))).status).toBe(431);
    expect((await raw('\x16\x03\x01 not http at all\r\n\r\n')).status).toBe(400);
    const started = Date.now();
    const cut = await new Promise<string>((resolve) => {
      const sock = connect(s.port, '127.0.0.1', () => sock.write('GET /update HTTP/1.0\r\nUser-Agent: ESP8266-http-Update\r\n'));
      let got = '';
      sock.on('data', (c) => (got += c.toString()));
      sock.on('close', () => resolve(got));
      sock.on('error', () => resolve(got));
    });
    expect(Date.now() - started).toBeLessThan(2500);
    expect(cut).toMatch(/^HTTP\/1\.1 408 /);
    const d = device({ layout: '4M2M' });
    expect((await d.poll(`${s.url}/update`)).outcome).toBe('HTTP_UPDATE_OK');
  });

  test('SIGTERM lets a download in flight finish, refuses new connections, then exits 0', async () => {
    const own = await startServe(['--releases', to]);
    const head = device().requestHead(new URL(`${own.url}/update`), 'sketch');
    const sock = connect(own.port, '127.0.0.1', () => sock.write(head));
    const chunks: Buffer[] = [];
    sock.on('data', (c: Buffer) => {
      chunks.push(c);
      sock.pause();
    });
    const ended = new Promise<void>((resolve) => sock.on('end', () => resolve()));
    await new Promise((r) => setTimeout(r, 300));
    own.proc.kill('SIGTERM');
    await own.waitFor(/SIGTERM: no new requests/);
    const refused = await new Promise<boolean>((resolve) => {
      const probe = connect(own.port, '127.0.0.1');
      probe.on('connect', () => {
        probe.destroy();
        resolve(false);
      });
      probe.on('error', () => resolve(true));
    });
    expect(refused).toBe(true);
    expect(own.proc.exitCode).toBeNull();
    sock.on('data', () => sock.resume());
    sock.resume();
    await ended;
    const { status, headers, body } = parseResponse(Buffer.concat(chunks));
    expect(status).toBe(200);
    expect(body.length).toBe(Number(headers['content-length']));
    expect(md5(body)).toBe(headers['x-md5']);
    expect((await own.proc).exitCode).toBe(0);
  });
});

describe('serve: HTTPS and bad start-up input', () => {
  test('HTTPS with --cert and --key: a device trusting the certificate updates', async () => {
    const to = join(tempDir(), 'releases');
    await publish(to, '1.0.0');
    const cert = join(FIXTURES, 'tls', 'localhost.crt');
    const s = await startServe(['--releases', to, '--cert', cert, '--key', join(FIXTURES, 'tls', 'localhost.key')]);
    try {
      expect(s.url).toMatch(/^https:/);
      const { readFileSync } = await import('node:fs');
      const r = await device().poll(`${s.url}/update`, { ca: readFileSync(cert) });
      expect(r.outcome).toBe('HTTP_UPDATE_OK');
    } finally {
      await s.stop();
    }
  });

  test('a missing release folder, a broken rules file, half of a TLS pair, a bad --listen: exit 1 or 2 with the input named', async () => {
    const root = tempDir();
    let r = await runCli(['serve', '--releases', join(root, 'nope')]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`release folder ${join(root, 'nope')} does not exist`);
    const bad = join(root, 'rules with space.json');
    writeFileSync(bad, '{"default": {"core": "2.7.4", "gzip": "yes"}}');
    r = await runCli(['serve', '--releases', root, '--rules', bad]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`rules file ${bad}: "default": "gzip" must be true or false`);
    writeFileSync(bad, '{"default": ');
    r = await runCli(['serve', '--releases', root, '--rules', bad]);
    expect(r.stderr).toContain('is not valid JSON');
    r = await runCli(['serve', '--releases', root, '--cert', join(FIXTURES, 'tls', 'localhost.crt')]);
    expect(r.exitCode).toBe(2);
    r = await runCli(['serve', '--releases', root, '--listen', 'localhost:99999']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  test('IPv6 loopback: --listen [::1]:0', async () => {
    const to = join(tempDir(), 'releases');
    await publish(to, '1.0.0');
    const s = await startServe(['--releases', to, '--listen', '[::1]:0']);
    try {
      expect(s.url).toMatch(/^http:\/\/\[::1\]:\d+$/);
      expect((await device().poll(`${s.url}/update`)).outcome).toBe('HTTP_UPDATE_OK');
    } finally {
      await s.stop();
    }
  });

  test('a port already in use is a clear error', async () => {
    const to = tempDir();
    const s = await startServe(['--releases', to]);
    try {
      const r = await runCli(['serve', '--releases', to, '--listen', `127.0.0.1:${s.port}`]);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toContain('the port is in use');
    } finally {
      await s.stop();
    }
  });
});
