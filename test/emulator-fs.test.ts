/** Filesystem (U_FS) updates and the chip's real size, per core version (issue 14). */
import { describe, expect, test } from 'vitest';
import { Device, type DeliveryPath } from '../src/emulator/device.js';
import { makeLayout, namedLayout } from '../src/emulator/layouts.js';
import { profileFor } from '../src/emulator/profiles.js';
import { makeImage } from '../src/image/image.js';
import { deviceAt, gz, gzWithLengthMod4, image, PUB2048, signWith } from './device-helpers.js';

const CORES = ['2.5.2', '2.6.1', '2.6.3', '2.7.4', '3.0.2', '3.1.2', 'latest'];
const ATOMIC_CORES = CORES.filter((c) => c !== '2.5.2');

/** A filesystem image: arbitrary blocks whose byte 2 is the device's flash mode (dio = 2), unless told otherwise. */
function fsImage(length: number, byte2 = 2): Buffer {
  const b = Buffer.alloc(length);
  for (let i = 0; i < length; i++) b[i] = (i * 131 + (i >> 9)) & 0xff;
  b[0] = 0x4c;
  b[2] = byte2;
  return b;
}

function fsDevice(core: string, o: { atomicFs?: boolean; key?: Uint8Array | null; layout?: string; runningSketchSize?: number } = {}): Device {
  return new Device({
    profile: profileFor(core),
    layout: namedLayout(o.layout ?? '4M1M'),
    runningSketchSize: o.runningSketchSize ?? 0x40000,
    runningFlashMode: 'dio',
    embeddedKey: o.key === undefined ? PUB2048 : o.key,
    atomicFs: o.atomicFs,
  });
}

const fs64 = fsImage(64 * 1024);
const fsStart = namedLayout('4M1M').fsStart;

describe('in-place filesystem updates (no ATOMIC_FS_UPDATE)', () => {
  for (const core of CORES) {
    test(`${core}: a signed image is written over the filesystem and taken; the app boots with it`, () => {
      const device = fsDevice(core);
      const file = core === '2.5.2' ? signWith(fs64, undefined, 'legacy') : signWith(fs64);
      const v = device.replay(file, { command: 'fs' });
      expect(v).toMatchObject({ command: 'fs', accepted: true, boots: true, filesystemUpdated: true, filesystemIntact: false, eboot: null, stagingAddress: fsStart });
      expect(Buffer.from(device.flash.bytes.subarray(fsStart, fsStart + fs64.length)).equals(fs64)).toBe(true);
    });

    test(`${core}: an unsigned image is rejected with error 12 after it has replaced the filesystem`, () => {
      const v = fsDevice(core).replay(fs64, { command: 'fs' });
      expect(v).toMatchObject({ accepted: false, updaterError: { code: 12 }, filesystemUpdated: true, filesystemIntact: false, stage: 'end' });
      expect(v.cause).toMatch(/^the filesystem was already overwritten: without ATOMIC_FS_UPDATE/);
      expect(v.fix).toMatch(/-DATOMIC_FS_UPDATE/);
    });

    test(`${core}: a tampered signed image is rejected, and the old filesystem is gone`, () => {
      const file = signWith(fs64, undefined, core === '2.5.2' ? 'legacy' : 'new');
      file[5000]! ^= 0x40;
      const v = fsDevice(core).replay(file, { command: 'fs' });
      expect(v).toMatchObject({ accepted: false, updaterError: { name: 'SIGN' }, filesystemIntact: false });
      expect(v.cause).toMatch(/already overwritten.*signed with another key or changed after signing/);
    });
  }

  test('3.1.2: a signed filesystem image whose length is not a multiple of 4 is rejected (stale hash tail), after the damage', () => {
    const v = fsDevice('3.1.2').replay(signWith(fsImage(64 * 1024 - 3)), { command: 'fs' });
    expect(v).toMatchObject({ accepted: false, updaterError: { name: 'SIGN' }, filesystemIntact: false });
    expect(v.cause).toMatch(/already overwritten.*not a multiple of 4/);
  });

  test('exact fit: an image as large as the filesystem region is taken on every core', () => {
    const layout = makeLayout(4 * 1024 * 1024, 0x3ea000, 0x3fa000);
    for (const core of CORES) {
      const device = new Device({ profile: profileFor(core), layout, runningSketchSize: 0x40000, runningFlashMode: 'dio', embeddedKey: null });
      expect(device.replay(fs64, { command: 'fs' }), core).toMatchObject({ accepted: true, boots: true, filesystemUpdated: true });
    }
  });

  test('too big: a 68 KiB image into a 64 KiB filesystem is error 4 from 2.6.0 on, and on 2.5.x overwrites the sector after it', () => {
    const layout = makeLayout(4 * 1024 * 1024, 0x3ea000, 0x3fa000);
    const file = fsImage(68 * 1024);
    for (const core of CORES) {
      const device = new Device({ profile: profileFor(core), layout, runningSketchSize: 0x40000, runningFlashMode: 'dio', embeddedKey: null });
      const v = device.replay(file, { command: 'fs' });
      if (core === '2.5.2') {
        expect(v).toMatchObject({ accepted: true, filesystemUpdated: true });
        expect(device.flash.touched[0x3fa000 / 0x1000]).toBe(1);
        expect(v.note).toMatch(/do not check the filesystem end: the image overwrote the sector\(s\) from 0x3fa000/);
      } else {
        expect(v, core).toMatchObject({ accepted: false, updaterError: { code: 4 }, stage: 'begin', filesystemIntact: true });
        expect(v.cause).toMatch(/larger than the filesystem region 0x3ea000–0x3fa000 \(64 KiB\)/);
      }
    }
  });

  test('2.5.x and 2.6.0–2.6.2 write the running flash mode into byte 2 of a filesystem image; 2.6.3+ leave it alone', () => {
    const file = fsImage(64 * 1024, 0x11);
    for (const core of CORES) {
      const device = fsDevice(core, { key: null });
      const v = device.replay(file, { command: 'fs' });
      const patched = core === '2.5.2' || core === '2.6.1';
      expect(device.flash.bytes[fsStart + 2], core).toBe(patched ? 2 : 0x11);
      expect(v.filesystemUpdated, core).toBe(!patched);
      if (patched) expect(v.cause).toMatch(/byte 2 of the first block of every update, filesystem images included/);
    }
  });

  test('a signed image whose byte 2 is not the flash mode fails the signature on 2.5.x/2.6.0–2.6.2 (the hash covers the patched flash)', () => {
    const file = signWith(fsImage(64 * 1024, 0x11));
    const v = fsDevice('2.6.1').replay(file, { command: 'fs' });
    expect(v).toMatchObject({ accepted: false, updaterError: { name: 'SIGN' } });
    expect(v.cause).toMatch(/byte 2 is 17 but the device runs dio/);
    expect(fsDevice('2.6.3').replay(file, { command: 'fs' }).accepted).toBe(true);
  });

  test('a gzip filesystem image in place is written compressed: taken, and the filesystem is corrupt', () => {
    const v = fsDevice('3.1.2', { key: null }).replay(gz(fs64), { command: 'fs' });
    expect(v).toMatchObject({ accepted: true, boots: false, filesystemUpdated: false, filesystemIntact: false });
    expect(v.cause).toMatch(/writes it as it arrives, so the filesystem now holds compressed bytes/);
  });

  for (const path of ['arduinoota', 'httpupdate', 'webserver'] as DeliveryPath[]) {
    test(`3.1.2 by ${path}: a signed image is taken; the web updater declares the whole filesystem and ends early`, () => {
      const v = fsDevice('3.1.2').replay(signWith(fs64), { command: 'fs', path });
      expect(v).toMatchObject({ accepted: true, boots: true, filesystemUpdated: true });
    });
  }

  test('httpUpdate refuses a filesystem image larger than the filesystem before Update.begin(), and nothing is written', () => {
    const layout = makeLayout(4 * 1024 * 1024, 0x3ea000, 0x3fa000);
    const device = new Device({ profile: profileFor('3.1.2'), layout, runningSketchSize: 0x40000, runningFlashMode: 'dio', embeddedKey: null });
    const v = device.replay(fsImage(68 * 1024), { command: 'fs', path: 'httpupdate' });
    expect(v).toMatchObject({ accepted: false, stage: 'begin', filesystemIntact: true });
    expect(v.cause).toMatch(/HTTP_UE_TOO_LESS_SPACE \(-100\): 69632 bytes do not fit the 65536 bytes of the filesystem/);
  });
});

describe('ATOMIC_FS_UPDATE filesystem updates', () => {
  for (const core of ATOMIC_CORES) {
    test(`${core}: a signed image is staged, copied by eboot after the failed start at the filesystem offset and a reset; the old app boots with the new filesystem`, () => {
      const device = fsDevice(core, { atomicFs: true });
      const v = device.replay(signWith(fs64), { command: 'fs' });
      expect(v).toMatchObject({ accepted: true, boots: true, filesystemUpdated: true, eboot: { result: 0 } });
      expect(v.stagingAddress).toBe(fsStart - 0x11000);
      expect(v.log.join('\n')).toMatch(/ld 0x300000: the filesystem region is not an app, the start fails and the device resets\n.*no valid command in RTC memory: load the app at 0x1000/);
    });

    test(`${core}: an unsigned or tampered image is rejected and the old filesystem survives`, () => {
      const tampered = signWith(fs64);
      tampered[100]! ^= 1;
      for (const file of [fs64, tampered]) {
        const v = fsDevice(core, { atomicFs: true }).replay(file, { command: 'fs' });
        expect(v).toMatchObject({ accepted: false, updaterError: { code: 12 }, filesystemUpdated: false, filesystemIntact: true });
        expect(v.cause).not.toMatch(/already overwritten/);
      }
    });
  }

  test('staging needs free sketch space: 160 KiB with a 384 KiB running sketch on 1M (512 KiB filesystem) is error 4 atomic, taken in place', () => {
    const file = fsImage(160 * 1024);
    const o = { layout: '1M512', runningSketchSize: 384 * 1024, key: null };
    const atomic = fsDevice('3.1.2', { ...o, atomicFs: true }).replay(file, { command: 'fs' });
    expect(atomic).toMatchObject({ accepted: false, updaterError: { code: 4 }, stage: 'begin', filesystemIntact: true });
    expect(atomic.cause).toMatch(/staged like a sketch.*overlap the running sketch/);
    expect(fsDevice('3.1.2', { ...o, atomicFs: false }).replay(file, { command: 'fs' })).toMatchObject({ accepted: true, boots: true });
  });

  test('a signed gzip filesystem image: 3.0.0+ inflate it into the filesystem; 2.7.x inflate only the signature length (the copy includes the signature)', () => {
    const file = signWith(gzWithLengthMod4(fs64, 0));
    for (const core of ['3.0.2', '3.1.2', 'latest']) {
      expect(fsDevice(core, { atomicFs: true }).replay(file, { command: 'fs' }), core).toMatchObject({ accepted: true, boots: true, filesystemUpdated: true });
    }
    const device = fsDevice('2.7.4', { atomicFs: true });
    const v = device.replay(file, { command: 'fs' });
    expect(v).toMatchObject({ accepted: true, boots: false, filesystemUpdated: false, filesystemIntact: false });
    expect(v.log.join('\n')).toMatch(/ISIZE read from the end of the staged region = 256/);
    expect(device.flash.bytes.subarray(fsStart + 256, fsStart + 4096).every((b) => b === 0xff)).toBe(true);
    expect(v.cause).toMatch(/reads the signature-length trailer \(256\) as the gzip ISIZE/);
  });

  test('an unsigned gzip filesystem image: 2.7.0+ inflate it; 2.6.x eboot copies the compressed bytes', () => {
    const file = gz(fs64);
    expect(fsDevice('2.7.4', { atomicFs: true, key: null }).replay(file, { command: 'fs' })).toMatchObject({ accepted: true, boots: true, filesystemUpdated: true });
    const v = fsDevice('2.6.3', { atomicFs: true, key: null }).replay(file, { command: 'fs' });
    expect(v).toMatchObject({ accepted: true, boots: false, filesystemUpdated: false });
    expect(v.cause).toMatch(/core 2.6.3 eboot cannot inflate/);
  });

  test('2.5.x has no ATOMIC_FS_UPDATE: the device model refuses to be built or replayed that way, with the reason', () => {
    expect(() => fsDevice('2.5.2', { atomicFs: true })).toThrow(/cores 2.5.0–2.5.2 have no ATOMIC_FS_UPDATE \(it arrived in 2.6.0\)/);
    expect(() => fsDevice('2.5.2').replay(fs64, { command: 'fs', atomicFs: true })).toThrow(/no ATOMIC_FS_UPDATE/);
  });

  test('the replay option atomicFs (as the upload and serve helpers pass it) decides per update, and device.flash holds the result', () => {
    const device = fsDevice('3.1.2');
    const v = device.replay(signWith(fs64), { command: 'fs', atomicFs: true });
    expect(v).toMatchObject({ accepted: true, boots: true, eboot: { result: 0 }, stagingAddress: fsStart - 0x11000 });
    expect(Buffer.from(device.flash.bytes.subarray(fsStart, fsStart + fs64.length)).equals(fs64)).toBe(true);
    const inPlace = fsDevice('3.1.2', { atomicFs: true }).replay(fs64, { command: 'fs', atomicFs: false });
    expect(inPlace).toMatchObject({ accepted: false, filesystemIntact: false, stagingAddress: fsStart });
  });
});

describe('the running header against the real chip', () => {
  test('a running header of 4M on a 2M chip: every update fails begin() with error 8, on every core', () => {
    for (const core of CORES) {
      for (const command of ['sketch', 'fs'] as const) {
        const device = new Device({ profile: profileFor(core), layout: namedLayout('4M1M'), realFlashSize: 2 * 1024 * 1024, runningSketchSize: 0x40000, runningFlashMode: 'dio', embeddedKey: null });
        const v = device.replay(command === 'fs' ? fs64 : image(), { command });
        expect(v, `${core} ${command}`).toMatchObject({ accepted: false, stage: 'begin', updaterError: { code: 8 } });
        expect(v.cause).toMatch(/header says 4 MB of flash but the chip has 2 MB/);
      }
    }
    expect(deviceAt('3.1.2').spec.realFlashSize).toBeUndefined();
  });

  test('a new image whose header is larger than the chip fails with error 9; a gzip of it skips that check (2.7.0+)', () => {
    const big = makeImage({ size: 200_000, flashSize: '4M' });
    for (const core of CORES) {
      const device = new Device({ profile: profileFor(core), layout: namedLayout('2M64'), runningSketchSize: 200_000, runningFlashMode: 'dio', embeddedKey: null });
      const v = device.replay(big);
      expect(v, core).toMatchObject({ accepted: false, stage: 'end', updaterError: { code: 9 } });
      expect(v.cause).toMatch(/new image header says a larger flash chip/);
    }
    for (const core of ['2.7.4', '3.0.2', '3.1.2']) {
      const device = new Device({ profile: profileFor(core), layout: namedLayout('2M64'), runningSketchSize: 200_000, runningFlashMode: 'dio', embeddedKey: null });
      expect(device.replay(gz(big)).accepted, core).toBe(true);
    }
  });

  test('a larger chip than the header says is fine: the header decides the layout', () => {
    const device = new Device({ profile: profileFor('3.1.2'), layout: namedLayout('1M64'), realFlashSize: 4 * 1024 * 1024, runningSketchSize: 200_000, runningFlashMode: 'dio', embeddedKey: null });
    expect(device.flash.size).toBe(4 * 1024 * 1024);
    expect(device.replay(makeImage({ size: 200_000, flashSize: '1M' }))).toMatchObject({ accepted: true, boots: true });
  });
});
