/** serve's judgement as a pure function: request headers and releases in, status and reason out. */
import { describe, expect, test } from 'vitest';
import { decide } from '../src/ota/http/decide.js';
import { DEVICE_HEADERS, isRefusal, parseRequest, type DeviceRequest } from '../src/ota/http/request.js';
import { headerSet, isHead, parseHead, responseHead } from '../src/ota/http/wire.js';
import type { ReleaseArtifact, ReleaseManifest } from '../src/ota/releases/release.js';
import { DEFAULT_RULES, parseRules } from '../src/ota/releases/rules.js';
import { compareVersions, parseRange, parseVersion } from '../src/ota/releases/version.js';

const compareVersionText = (a: string, b: string) => {
  const va = parseVersion(a);
  const vb = parseVersion(b);
  return va && vb ? compareVersions(va, vb) : null;
};

const hex = (c: string) => c.repeat(32);
const MAC = '18:FE:34:AA:BB:01';

function headers(over: Record<string, string | undefined> = {}): Record<string, string> {
  const h: Record<string, string | undefined> = {
    'user-agent': 'ESP8266-http-Update',
    'x-esp8266-chip-id': '1234567',
    'x-esp8266-sta-mac': MAC,
    'x-esp8266-ap-mac': '1A:FE:34:AA:BB:01',
    'x-esp8266-free-space': '1800000',
    'x-esp8266-sketch-size': '300000',
    'x-esp8266-sketch-md5': hex('0'),
    'x-esp8266-chip-size': String(4 << 20),
    'x-esp8266-sdk-version': '2.2.2-dev(38a443e)',
    'x-esp8266-mode': 'sketch',
    'content-length': '0',
    ...over,
  };
  return Object.fromEntries(Object.entries(h).filter(([, v]) => v !== undefined)) as Record<string, string>;
}

function req(over: Record<string, string | undefined> = {}): DeviceRequest {
  const r = parseRequest('GET', '/update', headers(over));
  if (isRefusal(r)) throw new Error(r.reason);
  return r;
}

function artifact(kind: ReleaseArtifact['kind'], md5s: Partial<ReleaseArtifact['sketchMd5']>, size = 300_000): ReleaseArtifact {
  const signature = kind === 'signed' || kind === 'gzip-signed' ? 'digestinfo' : kind === 'legacy' ? 'legacy' : null;
  return { name: `sketch.ino${{ plain: '.bin', signed: '.bin.signed', legacy: '.bin.legacy_sig', gzip: '.bin.gz', 'gzip-signed': '.bin.gz.signed' }[kind]}`, kind, signature, compressed: kind.startsWith('gzip'), size, sha256: 'f'.repeat(64), md5: hex('e'), imageFlashSize: 4 << 20, core: '3.1.2', sketchMd5: { qio: null, qout: null, dio: null, dout: null, ...md5s } };
}

function rel(version: string, over: Partial<ReleaseManifest> = {}, md5 = hex('1')): ReleaseManifest {
  return {
    tool: 'esp8266-sign', releaseManifestVersion: 1, project: 'sketch.ino', version, channel: 'stable', core: '3.1.2', key: { fingerprint: 'SHA256:x' }, signingEnabledInFirmware: true,
    build: { flashSize: '4M', flashSizeBytes: 4 << 20, flashMode: 'dio', fsStart: '0x200000', fsEnd: '0x3fa000' },
    input: { name: 'sketch.ino.bin', size: 300_000, sha256: 'f'.repeat(64) },
    artifacts: [artifact('signed', { dio: md5 }, 300_260), artifact('gzip-signed', { qio: md5, qout: md5, dio: md5, dout: md5 }, 200_260), artifact('legacy', { dio: md5 }, 300_260)],
    ...over,
  };
}

const rules = (value: unknown) => parseRules(value);
const GZIP = rules({ default: { channel: 'stable', core: '3.1.2' } });

describe('parseRequest: only what a device can send', () => {
  test.each([
    [{ 'user-agent': 'curl/8.0' }, 403, /User-Agent is "curl\/8\.0"/],
    [{ 'user-agent': undefined }, 403, /User-Agent is missing/],
    [{ 'x-esp8266-sketch-md5': undefined }, 403, /x-esp8266-sketch-md5 is missing/],
    [{ 'x-esp8266-sta-mac': '18:FE:34:AA:BB' }, 400, /STA-MAC .* is not a MAC/],
    [{ 'x-esp8266-sta-mac': `${MAC}, 18:FE:34:AA:BB:02` }, 400, /not a MAC/],
    [{ 'x-esp8266-free-space': '99999999999999999999' }, 400, /not a decimal number/],
    [{ 'x-esp8266-free-space': '-1' }, 400, /not a decimal number/],
    [{ 'x-esp8266-chip-size': '4294967295' }, 400, /beyond any ESP8266/],
    [{ 'x-esp8266-sketch-size': String(8 << 20) }, 400, /beyond any ESP8266/],
    [{ 'x-esp8266-sketch-md5': '../../etc/passwd' }, 400, /not 32 hex digits/],
    [{ 'x-esp8266-mode': 'firmware' }, 400, /not sketch, spiffs or version/],
    [{ 'x-esp8266-version': 'a\u0000b' }, 400, /not printable/],
    [{ 'content-length': '5' }, 413, /no body/],
  ])('%j → %i', (over, status, reason) => {
    const r = parseRequest('GET', '/update', headers(over));
    expect(isRefusal(r) && r.status).toBe(status);
    expect(isRefusal(r) && r.reason).toMatch(reason);
  });

  test.each(['/../release.json', '/a/%2e%2e/b', '/x%2Fy', '/a\\b', 'update', '/%zz'])('path %s is refused', (path) => {
    const r = parseRequest('GET', path, headers());
    expect(isRefusal(r) && r.status).toBe(400);
  });

  test('a 2.4.x/2.5.x device without Chip-ID and Content-Length is accepted; POST is not', () => {
    const r = parseRequest('GET', '/esp/update.php?x=1', headers({ 'x-esp8266-chip-id': undefined, 'content-length': undefined }));
    expect(isRefusal(r)).toBe(false);
    expect(!isRefusal(r) && r.chipId).toBeNull();
    expect(isRefusal(parseRequest('POST', '/', headers())) && 405).toBe(405);
  });
});

describe('decide', () => {
  const releases = [rel('1.0.0', {}, hex('a')), rel('1.1.0', {}, hex('b'))];

  test('a device running something else gets the newest release of its channel: the signed gzip where its core takes it', () => {
    const d = decide(req(), releases, GZIP);
    expect(d).toMatchObject({ status: 200, artifact: { kind: 'gzip-signed' }, release: { version: '1.1.0' } });
    expect(decide(req(), releases, DEFAULT_RULES)).toMatchObject({ status: 200, artifact: { kind: 'signed' } });
  });

  test('304 when the reported sketch MD5 is one the release installs, or the version is the release\'s', () => {
    expect(decide(req({ 'x-esp8266-sketch-md5': hex('b') }), releases, GZIP)).toMatchObject({ status: 304, reason: expect.stringContaining('sketch MD5') });
    expect(decide(req({ 'x-esp8266-version': '1.1.0' }), releases, GZIP)).toMatchObject({ status: 304, reason: expect.stringContaining('version 1.1.0') });
  });

  test('an MD5 of the served file never counts as installed', () => {
    expect(decide(req({ 'x-esp8266-sketch-md5': hex('e') }), releases, GZIP).status).toBe(200);
  });

  test('the smallest kind that fits is sent; when none fits, every reason is given; equal to free space is fine', () => {
    expect(decide(req({ 'x-esp8266-free-space': '250000' }), releases, GZIP)).toMatchObject({ status: 200, artifact: { kind: 'gzip-signed' } });
    const tight = decide(req({ 'x-esp8266-free-space': '200000' }), releases, GZIP);
    expect(tight.status).toBe(409);
    expect(tight.reason).toMatch(/200260 bytes do not fit the 200000 bytes .*300260 bytes do not fit/);
    // equal is fine: the device refuses only len > free space
    expect(decide(req({ 'x-esp8266-free-space': '300260' }), releases, DEFAULT_RULES)).toMatchObject({ status: 200, artifact: { kind: 'signed' } });
  });

  test('an image built for a bigger flash than the chip is refused', () => {
    const d = decide(req({ 'x-esp8266-chip-size': String(1 << 20), 'x-esp8266-free-space': '600000', 'x-esp8266-sketch-size': '300000' }), releases, GZIP);
    expect(d.status).toBe(409);
    expect(d.reason).toContain('built for a 4096 KiB flash, the chip has 1024 KiB');
  });

  test('core 2.7.x gets no signed gzip (it bricks eboot), 2.5.x the legacy signature', () => {
    expect(decide(req(), releases, rules({ default: { core: '2.7.4' } }))).toMatchObject({ status: 200, artifact: { kind: 'signed' } });
    expect(decide(req(), releases, rules({ default: { core: '2.5.2' } }))).toMatchObject({ status: 200, artifact: { kind: 'legacy' } });
    const noLegacy = [rel('1.1.0', { artifacts: [artifact('signed', { dio: hex('b') })] })];
    expect(decide(req(), noLegacy, rules({ default: { core: '2.5.2' } }))).toMatchObject({ status: 409, reason: expect.stringContaining('no legacy artifact') });
  });

  test('downgrades are refused unless the rule allows them', () => {
    const pinned = rules({ default: { version: '1.0.0' } });
    const d = decide(req({ 'x-esp8266-sketch-md5': hex('b') }), releases, pinned);
    expect(d).toMatchObject({ status: 409, reason: expect.stringContaining('downgrade refused: the device runs stable/1.1.0 (by its sketch MD5)') });
    expect(decide(req({ 'x-esp8266-version': '2.0.0' }), releases, DEFAULT_RULES).status).toBe(409);
    expect(decide(req({ 'x-esp8266-sketch-md5': hex('b') }), releases, rules({ default: { version: '1.0.0', allowDowngrade: true } })).status).toBe(200);
  });

  test('rules by MAC, chip id and current version; the first match decides; unmatched is 403 or 304', () => {
    const all = [...releases, rel('2.0.0-beta.1', { channel: 'beta' }, hex('c'))];
    const r = rules({
      rules: [
        { name: 'lab', match: { mac: [MAC.toLowerCase()] }, channel: 'beta' },
        { name: 'old', match: { currentVersion: '>=0.1.0 <1.0.0' }, version: '1.0.0' },
        { name: 'chip', match: { chipId: 42 }, channel: 'beta' },
      ],
      unmatched: 304,
    });
    expect(decide(req(), all, r)).toMatchObject({ status: 200, rule: 'lab', release: { channel: 'beta', version: '2.0.0-beta.1' } });
    const other = { 'x-esp8266-sta-mac': '18:FE:34:AA:BB:02' };
    expect(decide(req({ ...other, 'x-esp8266-version': '0.9.0' }), all, r)).toMatchObject({ status: 200, rule: 'old', release: { version: '1.0.0' } });
    expect(decide(req({ ...other, 'x-esp8266-chip-id': '42' }), all, r)).toMatchObject({ rule: 'chip', release: { channel: 'beta' } });
    expect(decide(req(other), all, r)).toMatchObject({ status: 304, reason: expect.stringContaining('no rule matches 18:FE:34:AA:BB:02') });
    expect(decide(req(other), all, rules({ rules: [] })).status).toBe(403);
  });

  test('an empty channel is 304; a pinned version that is not published is 404', () => {
    expect(decide(req(), [], DEFAULT_RULES)).toMatchObject({ status: 304, reason: 'channel stable has no release yet' });
    expect(decide(req(), releases, rules({ default: { version: '9.9.9' } })).status).toBe(404);
  });

  test('mode=version answers 200 with the release; mode=spiffs warns unless the firmware has ATOMIC_FS_UPDATE', () => {
    expect(decide(req({ 'x-esp8266-mode': 'version' }), releases, GZIP)).toMatchObject({ status: 200, release: { version: '1.1.0' } });
    const fs = decide(req({ 'x-esp8266-mode': 'spiffs' }), releases, GZIP);
    expect(fs).toMatchObject({ status: 304, warning: expect.stringContaining('ATOMIC_FS_UPDATE') });
    expect(decide(req({ 'x-esp8266-mode': 'spiffs' }), releases, rules({ default: { atomicFs: true } })).warning).toBeUndefined();
  });

  test('updateFS(): decided by the version it passes; refused without one; the ATOMIC_FS_UPDATE warning unless the rule says so', () => {
    const fsImage = { ...artifact('signed', {}, 100_000), name: 'littlefs.bin', kind: 'filesystem' as const, imageFlashSize: 0 };
    const withFs = [rel('1.1.0', { artifacts: [...rel('1.1.0').artifacts, fsImage] })];
    const fs = (v?: string) => req({ 'x-esp8266-mode': 'spiffs', 'x-esp8266-version': v });
    expect(decide(fs('1.0.0'), withFs, GZIP)).toMatchObject({ status: 200, artifact: { name: 'littlefs.bin' }, warning: expect.stringContaining('ATOMIC_FS_UPDATE') });
    expect(decide(fs('1.1.0'), withFs, GZIP)).toMatchObject({ status: 304 });
    expect(decide(fs(), withFs, GZIP)).toMatchObject({ status: 409, reason: expect.stringContaining('needs x-ESP8266-version') });
    expect(decide(fs('2.0.0'), withFs, GZIP)).toMatchObject({ status: 409, reason: expect.stringContaining('downgrade refused') });
    expect(decide(fs('1.0.0'), withFs, rules({ default: { atomicFs: true } })).warning).toBeUndefined();
    const huge = [rel('1.1.0', { artifacts: [{ ...fsImage, size: 0x1fa001 }] })];
    expect(decide(fs('1.0.0'), huge, GZIP)).toMatchObject({ status: 409, reason: expect.stringContaining('do not fit the 2072576-byte filesystem') });
  });

  test('firmware still without signing never gets a signed gzip', () => {
    const withPayload = [rel('1.1.0', { artifacts: [...rel('1.1.0').artifacts, artifact('gzip', { qio: hex('b') }, 200_000)] })];
    expect(decide(req(), withPayload, rules({ default: { core: '3.1.2', unsignedFirmware: true } }))).toMatchObject({ status: 200, artifact: { kind: 'gzip' } });
  });
});

describe('rules file and versions', () => {
  test.each([
    [{ rules: [{ channel: 'beta' }] }, /rule 1 needs a "match"/],
    [{ rules: [{ match: { mac: 'nope' } }] }, /"match.mac" has "nope"/],
    [{ rules: [{ match: { currentVersion: '>=banana' } }] }, /"match.currentVersion" has ">=banana"/],
    [{ default: { gzip: true } }, /needs "core"/],
    [{ default: { gzip: true, core: '2.6.3' } }, /cannot decompress/],
    [{ default: { channel: '../x' } }, /"channel" must be/],
    [{ default: { colour: 'red' } }, /unknown key "colour"/],
    [{ unmatched: 200 }, /"unmatched" must be 304/],
    [[], /is not a JSON object/],
  ])('%j is refused', (value, message) => {
    expect(() => parseRules(value)).toThrow(message);
  });

  test('versions order numerically with pre-releases first; ranges combine', () => {
    expect(compareVersionText('1.10.0', '1.9.9')).toBe(1);
    expect(compareVersionText('2.0.0-beta.2', '2.0.0')).toBe(-1);
    expect(compareVersionText('2.0.0-beta.10', '2.0.0-beta.2')).toBe(1);
    expect(compareVersionText('v1.2', '1.2.0')).toBe(0);
    expect(compareVersionText('DOOR-7', '1.0.0')).toBeNull();
    const range = parseRange('>=1.0.0 <2');
    expect(typeof range === 'function' && range(parseVersion('1.99.3')!)).toBe(true);
    expect(typeof range === 'function' && range(parseVersion('2.0.0')!)).toBe(false);
  });
});

describe('the request head on the wire', () => {
  const head = (text: string) => parseHead(Buffer.from(text, 'latin1'), 8192, DEVICE_HEADERS);

  test('an incomplete head waits, a complete one is parsed with lower-case names and repeats joined', () => {
    expect(head('GET /update HTTP/1.0\r\nUser-Agent: ESP8266-http-Update\r\n')).toBeNull();
    const r = head('GET /update?x=1 HTTP/1.0\r\nUser-Agent: ESP8266-http-Update\r\nx-ESP8266-version: a\r\nX-esp8266-VERSION: b\r\n\r\n');
    expect(isHead(r) && r).toEqual({ method: 'GET', url: '/update?x=1', headers: { 'user-agent': 'ESP8266-http-Update', 'x-esp8266-version': 'a, b' } });
  });

  test('only the headers serve reads are kept; the others must still be well-formed', () => {
    const r = head('GET / HTTP/1.0\r\nHost: 10.0.0.2\r\nx-ESP8266-mode: sketch\r\nX-Other: 1\r\nx-esp8266-mode-extra: 2\r\n\r\n');
    expect(isHead(r) && r.headers).toEqual({ 'x-esp8266-mode': 'sketch' });
    expect(head('GET / HTTP/1.0\r\nHost: 10.0.0.2\r\nbad(name): 1\r\n\r\n')).toMatchObject({ status: 400 });
    expect(() => headerSet(['X-Upper'])).toThrow(/lower-case token/);
  });

  test('a device head read through DEVICE_HEADERS gives parseRequest what the whole head gives it', () => {
    const lines = ['Host: 10.0.0.2:8266', 'User-Agent: ESP8266-http-Update', 'Connection: close', 'x-ESP8266-Chip-ID: 1234567', 'x-ESP8266-STA-MAC: 18:fe:34:aa:bb:01', 'x-ESP8266-AP-MAC: 1A:FE:34:AA:BB:01', 'x-ESP8266-free-space: 2093056', 'x-ESP8266-sketch-size: 301200', `x-ESP8266-sketch-md5: ${hex('c')}`, 'x-ESP8266-chip-size: 4194304', 'x-ESP8266-sdk-version: 2.2.2-dev(38a443e)', 'x-ESP8266-mode: sketch', 'x-ESP8266-version: 1.3.0', 'Content-Length: 0'];
    const r = head(`GET /update HTTP/1.0\r\n${lines.join('\r\n')}\r\n\r\n`);
    const all = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
    expect(isHead(r) && parseRequest(r.method, r.url, r.headers)).toEqual(parseRequest('GET', '/update', all));
    expect(isHead(r) && parseRequest(r.method, r.url, r.headers)).toMatchObject({ chipId: 1234567, staMac: '18:FE:34:AA:BB:01', version: '1.3.0' });
  });

  test('a head past the limit is 431 even before it ends; garbage and HTTP/2 are 400', () => {
    expect(parseHead(Buffer.alloc(9000, 0x41), 8192, DEVICE_HEADERS)).toMatchObject({ status: 431 });
    expect(head(`GET / HTTP/1.0\r\n${'a: b\r\n'.repeat(65)}\r\n`)).toMatchObject({ status: 431 });
    expect(head('GET / HTTP/2.0\r\n\r\n')).toMatchObject({ status: 400 });
    expect(head('GET / HTTP/1.0\r\nno colon here\r\n\r\n')).toMatchObject({ status: 400 });
    expect(head('GET / HTTP/1.0\r\nbad name: x\r\n\r\n')).toMatchObject({ status: 400 });
  });

  test('every answer closes the connection and carries the given headers once', () => {
    const text = responseHead(200, { 'Content-Length': '5', 'x-MD5': hex('a') });
    expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\nDate: .+ GMT\r\nConnection: close\r\nContent-Length: 5\r\nx-MD5: a{32}\r\n\r\n$/);
  });
});
