/** The device's stories (device-behaviour.md §3.6, §12), told by the emulator across core versions. */
import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { decodeDevicePublicKey, keyAsStrlenSees, pkcs1Unpad } from '../src/emulator/bearssl.js';
import { decodeCommand, encodeCommand } from '../src/emulator/rtc.js';
import { profileFor, resolveCore } from '../src/emulator/profiles.js';
import { UsageError } from '../src/errors.js';
import { Flash } from '../src/emulator/flash.js';
import { Updater } from '../src/emulator/updater.js';
import { crc32Mpeg2, sketchSize } from '../src/image/image.js';
import { VECTORS, FIXTURES } from './helpers.js';
import { deviceAt, gz, gzWithLengthMod4, image, KEY1024, makeLayout, PUB1024, PUB2048, signWith } from './device-helpers.js';

const ALL = ['2.5.2', '2.6.3', '2.7.4', '3.0.2', '3.1.2', 'latest'];

describe('signed images', () => {
  const img = image();
  const signed = signWith(img);
  const legacy = signWith(img, undefined, 'legacy');
  test.each(ALL)('core %s: the new format boots on 2.6.0+, the legacy one only on 2.5.x', (core) => {
    const onNew = deviceAt(core).replay(signed);
    const onLegacy = deviceAt(core).replay(legacy);
    const isOld = core.startsWith('2.5');
    expect(onNew.boots).toBe(!isOld);
    expect(onLegacy.boots).toBe(isOld);
    const rejected = isOld ? onNew : onLegacy;
    expect(rejected.updaterError).toMatchObject({ code: 12, name: 'SIGN', text: 'ERROR[12]: Signature verification failed' });
    expect(rejected.cause).toMatch(isOld ? /verifies the legacy signature format/ : /carries a legacy \(2\.5\.x\) signature/);
  });

  test('an unsigned .bin is rejected by a signing device, and the cause says so', () => {
    const v = deviceAt('3.1.2').replay(img);
    expect(v.updaterError?.name).toBe('SIGN');
    expect(v.cause).toMatch(/the file is not signed/);
    expect(v.fix).toMatch(/\.bin\.signed/);
  });

  test('a device without a key takes the unsigned image', () => {
    const v = deviceAt('3.1.2', { key: null }).replay(img);
    expect(v).toMatchObject({ accepted: true, boots: true, bootloaderIntact: true, stage: 'done' });
  });

  test('signed with another key: trailer length says so before any crypto', () => {
    const v = deviceAt('latest').replay(signWith(img, KEY1024));
    expect(v.updaterError?.name).toBe('SIGN');
    expect(v.cause).toMatch(/trailer says 128-byte signature but the device's key is 2048-bit/);
  });

  test('a 1024-bit key works end to end when the device has it', () => {
    expect(deviceAt('3.0.2', { key: PUB1024 }).replay(signWith(img, KEY1024)).boots).toBe(true);
  });

  test('an uploader that appends bytes after the trailer breaks the trailer lookup', () => {
    const v = deviceAt('3.1.2').replay(Buffer.concat([signed, Buffer.from([0, 0])]));
    expect(v.updaterError?.name).toBe('SIGN');
  });
});

describe('flash-mode patch (trap 1)', () => {
  const qio = signWith(image({ flashMode: 'qio' }));
  test.each(['2.6.3', '2.7.4', '3.1.2', 'latest'])('core %s: a qio build on a dio device fails SIGN; the verdict names the mode', (core) => {
    const v = deviceAt(core, { mode: 'dio' }).replay(qio);
    expect(v.updaterError?.name).toBe('SIGN');
    expect(v.cause).toMatch(/built for flash mode qio but the device runs dio/);
    expect(v.fix).toMatch(/Flash Mode DIO/);
  });
  test('the same build on a qio device boots', () => {
    expect(deviceAt('3.1.2', { mode: 'qio' }).replay(qio).boots).toBe(true);
  });
  test('without signing the patched image boots with the device mode in byte 2', () => {
    const d = deviceAt('3.1.2', { mode: 'dio', key: null });
    const v = d.replay(image({ flashMode: 'qio' }));
    expect(v.boots).toBe(true);
    expect(d.flash.bytes[2]).toBe(2);
  });
});

describe('gzip', () => {
  const img = image({ size: 300_000 });
  test('2.6.x cannot take gzip: MAGIC_BYTE with the reason', () => {
    const v = deviceAt('2.6.3').replay(signWith(gz(img)));
    expect(v.updaterError?.name).toBe('SIGN');
    const unsigned = deviceAt('2.6.3', { key: null }).replay(gz(img));
    expect(unsigned.updaterError).toMatchObject({ name: 'MAGIC_BYTE', text: 'ERROR[10]: Magic byte is wrong, not 0xE9' });
    expect(unsigned.cause).toMatch(/cannot take gzip/);
  });

  test('2.7.4: a signed gzip is accepted, then eboot destroys the bootloader (trap 3)', () => {
    const v = deviceAt('2.7.4').replay(signWith(gzWithLengthMod4(img, 0)));
    expect(v).toMatchObject({ accepted: true, boots: false, bootloaderIntact: false });
    expect(v.cause).toMatch(/reads the signature-length trailer \(256\) as the gzip ISIZE/);
  });

  test('2.7.4: an unsigned gzip on a device without a key boots', () => {
    expect(deviceAt('2.7.4', { key: null }).replay(gz(img)).boots).toBe(true);
  });

  test.each([0, 1, 2, 3])('a signed gzip of length %i mod 4: 3.0.2 and 3.2.0-dev boot it, 3.1.2 only when 0 (trap 4)', (mod) => {
    const file = signWith(gzWithLengthMod4(img, mod));
    expect(deviceAt('3.0.2').replay(file).boots).toBe(true);
    expect(deviceAt('latest').replay(file).boots).toBe(true);
    const v = deviceAt('3.1.2').replay(file);
    expect(v.boots).toBe(mod === 0);
    if (mod !== 0) expect(v.cause).toMatch(/not a multiple of 4/);
  });

  test('ISIZE larger than the stream: eboot decodes on past the stream with the last tables, as uzlib does, and the image boots', () => {
    const g = gz(img);
    g.writeUInt32LE(g.readUInt32LE(g.length - 4) + 8192, g.length - 4);
    const device = deviceAt('3.0.2', { key: null });
    const v = device.replay(g);
    expect(v).toMatchObject({ accepted: true, boots: true, eboot: { result: 0, pastStreamEnd: true, unpredictable: false } });
    // the 8192 bytes after the image are what the decoder made of the trailer and the erased flash
    const after = device.flash.bytes.subarray(img.length, img.length + 8192);
    expect(after.some((b) => b !== 0xff)).toBe(true);
    expect(v.log.join('\n')).toMatch(/decoding went on past the stream's end/);
  });

  test('ISIZE smaller than the image: silently truncated, the flash does not hold the image', () => {
    const g = gz(img);
    g.writeUInt32LE(g.readUInt32LE(g.length - 4) - 5000, g.length - 4);
    const v = deviceAt('3.0.2', { key: null }).replay(g);
    expect(v.eboot?.result).toBe(0);
    expect(v.boots).toBe(false);
  });

  test('a CRC32 error is never noticed (eboot does not check it)', () => {
    const g = gz(img);
    g[g.length - 6]! ^= 0xff;
    expect(deviceAt('3.0.2', { key: null }).replay(g).boots).toBe(true);
  });

  test('reserved FLG bits make eboot return 5 before writing anything', () => {
    const g = gz(img);
    g[3] = 0x20;
    const v = deviceAt('3.0.2', { key: null }).replay(g);
    expect(v.eboot?.result).toBe(5);
    expect(v.bootloaderIntact).toBe(true);
  });

  test('an image that inflates over its own unread compressed input is caught as corruption', () => {
    // a 1M chip with almost no room: the gzip sits low, the inflated image runs over it
    const big = image({ size: 600_000 });
    const g = gz(big);
    const layout = makeLayout(0x100000, Math.ceil((g.length + 0x1000) / 0x1000) * 0x1000 + 0x1000, 0xfb000);
    const v = deviceAt('3.0.2', { key: null, layout, runningSketchSize: 0x1000 }).replay(g);
    expect(v.accepted).toBe(true);
    expect(v.boots).toBe(false);
  });
});

describe('staging space (trap 19)', () => {
  const img = image({ size: 400_000 });
  const signed = signWith(img);
  const rounded = Math.ceil(signed.length / 0x1000) * 0x1000;
  test('fits exactly: the staging area ends at the filesystem and starts at the running sketch end', () => {
    const running = 0x200000 - rounded;
    const v = deviceAt('3.1.2', { runningSketchSize: running }).replay(signed);
    expect(v.boots).toBe(true);
    expect(v.stagingAddress).toBe(running);
  });
  test('one sector too many: SPACE at begin, with the numbers in the cause', () => {
    const v = deviceAt('3.1.2', { runningSketchSize: 0x200000 - rounded + 1 }).replay(signed);
    expect(v.updaterError).toMatchObject({ code: 4, name: 'SPACE' });
    expect(v.stage).toBe('begin');
    expect(v.cause).toMatch(/would overlap the running sketch/);
  });
  test.each([['2.6.3', 0], ['3.1.2', 4]])('core %s: one byte past the declared size fails with SPACE → code %i', (core, code) => {
    const profile = profileFor(core);
    const flash = new Flash(0x400000);
    flash.program(0, image());
    const u = new Updater(profile, flash, { sketchSize: 0x40000, fsStart: 0x200000, fsEnd: 0x3fa000, realFlashSize: 0x400000, key: null });
    expect(u.begin(5000)).toBe(true);
    expect(u.write(new Uint8Array(2048))).toBe(2048);
    expect(u.write(new Uint8Array(2048))).toBe(2048);
    // 2.7.0+ counts the buffered bytes (#6954); before, the check let a buffered overrun through
    expect(u.write(new Uint8Array(2048))).toBe(code ? 0 : 2048);
    expect(u.error?.code ?? 0).toBe(code);
  });
});

describe('public keys as the device loads them (§4.2)', () => {
  const k = (name: string) => readFileSync(join(VECTORS, 'keys', name));
  test.each([
    ['SPKI PEM', k('rsa2048.public.pem'), 'rsa'],
    ['SPKI PEM with CRLF', k('rsa2048.public.crlf.pem'), 'rsa'],
    ['SPKI PEM without final newline', k('rsa2048.public.nonl.pem'), 'rsa'],
    ['SPKI DER, read with strlen', keyAsStrlenSees(k('rsa2048.public.der')), 'none'],
    ['PKCS#1 RSA PUBLIC KEY', k('rsa2048.public.rsapub.pem'), 'none'],
    ['a UTF-8 BOM', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), k('rsa2048.public.pem')]), 'none'],
    ['a private key', k('rsa2048.pkcs8.pem'), 'none'],
    ['one line', Buffer.from(k('rsa2048.public.pem').toString().replace(/\n/g, '')), 'none'],
    ['indented, with text before BEGIN', Buffer.from('my key:\n' + k('rsa2048.public.pem').toString().replace(/^/gm, '  ')), 'rsa'],
    ['trailing spaces on the BEGIN line', Buffer.from(k('rsa2048.public.pem').toString().replace('KEY-----\n', 'KEY-----  \n')), 'none'],
    ['EC P-256', k('ec-p256.public.pem'), 'ec'],
  ])('%s → %s', (_n, bytes, kind) => {
    const key = decodeDevicePublicKey(bytes);
    expect(key.kind).toBe(kind);
    if (key.kind === 'rsa') expect(key.n.length).toBe(256);
    if (key.kind === 'ec') expect(key.q.length).toBe(64);
  });

  test('a DER key in the header leaves a device that rejects every update', () => {
    const v = deviceAt('3.1.2', { key: k('rsa2048.public.der') }).replay(signWith(image()));
    expect(v.updaterError?.name).toBe('SIGN');
    expect(v.cause).toMatch(/compiled-in public key cannot verify anything/);
  });

  test('an EC key verifies nothing (length 64, then the point check fails)', () => {
    const v = deviceAt('latest', { key: k('ec-p256.public.pem') }).replay(signWith(image()));
    expect(v.updaterError?.name).toBe('SIGN');
  });

  test('an 8192-bit key parses but the device refuses it', () => {
    const pub = createPublicKey(readFileSync(join(FIXTURES, 'keys', 'rsa8192.pkcs8.pem'))).export({ type: 'spki', format: 'pem' });
    const key = decodeDevicePublicKey(Buffer.from(pub as string));
    expect(key.kind === 'rsa' && key.n.length).toBe(1024);
  });
});

describe('BearSSL PKCS#1 unpadding (§4.4)', () => {
  const h = Buffer.alloc(32, 0xab);
  const oid = [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
  const em = (prefix: number[], k = 256) => Buffer.concat([Buffer.from([0, 1]), Buffer.alloc(k - 3 - prefix.length - 32, 0xff), Buffer.from([0, ...prefix]), h]);
  test('DigestInfo with and without NULL parameters, bare digest only in NULL-OID mode', () => {
    const withNull = em([0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, ...oid, 0x05, 0x00, 0x04, 0x20]);
    const noNull = em([0x30, 0x2f, 0x30, 0x0b, 0x06, 0x09, ...oid, 0x04, 0x20]);
    const bare = em([]);
    expect(pkcs1Unpad(withNull, 'digestinfo')).toEqual(h);
    expect(pkcs1Unpad(noNull, 'digestinfo')).toEqual(h);
    expect(pkcs1Unpad(bare, 'digestinfo')).toBeNull();
    expect(pkcs1Unpad(bare, 'null-oid')).toEqual(h);
    expect(pkcs1Unpad(withNull, 'null-oid')).toBeNull();
  });
  test('fewer than eight 0xFF bytes is rejected', () => {
    const short = Buffer.concat([Buffer.from([0, 1]), Buffer.alloc(7, 0xff), Buffer.from([0]), h]);
    expect(pkcs1Unpad(short, 'null-oid')).toBeNull();
  });
});

describe('RTC command and image helpers', () => {
  test('CRC-32/MPEG-2 check value and the reference command block', () => {
    expect(crc32Mpeg2(Buffer.from('123456789'))).toBe(0x0376e6e7);
    const block = encodeCommand({ action: 1, args: [0x1b6000, 0, 300000] });
    expect(Buffer.from(block).readUInt32LE(124)).toBe(0x540b70c5);
    expect(decodeCommand(block)?.args.slice(0, 3)).toEqual([0x1b6000, 0, 300000]);
    block[8]! ^= 1;
    expect(decodeCommand(block)).toBeNull();
  });
  test('getSketchSize of a synthetic image is its length', () => {
    const img = image({ size: 123_456 });
    expect(sketchSize(img)).toBe(img.length);
    expect(img.length % 16).toBe(0);
  });
  test('profiles: version strings map to their ranges', () => {
    expect(profileFor('2.7.4').id).toBe('2.7');
    expect(profileFor('3.1.2').id).toBe('3.1');
    expect(profileFor('3.2.0').id).toBe('3.2.0-dev');
    expect(profileFor('latest').id).toBe('3.2.0-dev');
    expect(profileFor('2.6.2').id).toBe('2.6');
    expect(() => profileFor('2.4.2')).toThrow(/predates signed updates/);
  });
  test('resolveCore: a newer 3.x uses the newest profile with a warning; unknown majors and minors are usage errors', () => {
    expect(resolveCore('3.1.2')).toEqual({ profile: profileFor('3.1.2'), warning: null });
    expect(resolveCore('3.2.1').warning).toBeNull();
    const newer = resolveCore('3.3.0');
    expect(newer.profile.id).toBe('3.2.0-dev');
    expect(newer.warning).toBe('core 3.3.0 is newer than the newest modelled (after 3.1.2 (3.2.0-dev)); using the 3.2.0-dev profile');
    for (const bad of ['9.9.9', '4.0.0', '1.6.2', '2.8.0']) {
      expect(() => resolveCore(bad), bad).toThrow(UsageError);
      expect(() => resolveCore(bad), bad).toThrow(/Known: 2.5.0–2.7.4, 3.0.0–3.1.2, 3.2.x \(or latest\)/);
    }
    expect(() => profileFor('9.9.9')).toThrow(UsageError);
  });
  test('an unsigned build on 3.1.2 whose first sector is no bootloader: the cause is about this file, not 2.7.x or signed gzip', () => {
    const img = image({ size: 200_000 });
    img.fill(0xff, 1, 4096);
    const v = deviceAt('3.1.2', { key: null }).replay(img);
    expect(v).toMatchObject({ accepted: true, bootloaderIntact: false, stage: 'boot' });
    expect(v.cause).toMatch(/sector 0 holds no bootloader the ROM can start/);
    expect(`${v.cause} ${v.fix}`).not.toMatch(/2\.7|signed/);
  });
});

describe('delivery paths and the gzip patch exemption', () => {
  const img = image({ size: 250_000, flashMode: 'qio' });
  test('a signed gzip of a qio build boots on a dio device (gzip uploads are never patched, trap 2)', () => {
    const v = deviceAt('3.0.2', { mode: 'dio' }).replay(signWith(gz(img)));
    expect(v.boots).toBe(true);
  });
  test('the web server path (begin with the free space, end(true)) finds the trailer at the real end', () => {
    const v = deviceAt('3.1.2', { mode: 'qio' }).replay(signWith(img), { path: 'webserver', chunk: 2048 });
    expect(v.boots).toBe(true);
  });
  test('httpUpdate refuses a file larger than the free sketch space before Update.begin()', () => {
    const v = deviceAt('3.1.2', { mode: 'qio', layout: '1M64', runningSketchSize: 800_000 }).replay(signWith(img), { path: 'httpupdate' });
    expect(v.accepted).toBe(false);
    expect(v.cause).toMatch(/HTTP_UE_TOO_LESS_SPACE \(-100\)/);
  });
});
