/** Properties of the device's signature decision, over many generated payloads. */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { deviceAt, gz, signWith } from './device-helpers.js';
import { makeImage } from '../src/image/image.js';
import { runEboot } from '../src/emulator/eboot.js';
import { Flash } from '../src/emulator/flash.js';
import { profileFor } from '../src/emulator/profiles.js';
import { ACTION_COPY_RAW, encodeCommand } from '../src/emulator/rtc.js';
import { gzipSync } from 'node:zlib';

const base = makeImage({ size: 8192, label: 'property base' });

/** A signed image of the given length: a real image header, then arbitrary bytes. */
function payloadOf(length: number, seed: number): Buffer {
  const p = Buffer.alloc(length);
  base.copy(p, 0, 0, Math.min(length, base.length));
  for (let i = 16; i < length; i++) p[i] = (i * 31 + seed) & 0xff;
  return p;
}

describe('signature properties', () => {
  test('flipping any byte of a signed payload or its signature is rejected with SIGN', () => {
    const signed = signWith(payloadOf(6000, 7));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: signed.length - 5 }).filter((at) => at !== 2), fc.integer({ min: 1, max: 255 }), (at, mask) => {
        const tampered = Buffer.from(signed);
        tampered[at]! ^= mask;
        const v = deviceAt('latest', { runningSketchSize: 0x2000 }).replay(tampered, { chunk: 4096 });
        expect(v.updaterError?.name).toBe('SIGN');
      }),
      { numRuns: 60 },
    );
  });

  test('the one exception: byte 2 of a raw image, which the Updater overwrites with the device mode before hashing', () => {
    const signed = signWith(payloadOf(6000, 7));
    const tampered = Buffer.from(signed);
    tampered[2] = 3;
    expect(deviceAt('latest', { runningSketchSize: 0x2000, mode: 'dio' }).replay(tampered).updaterError).toBeNull();
    expect(deviceAt('latest', { runningSketchSize: 0x2000, mode: 'dout' }).replay(tampered).updaterError?.name).toBe('SIGN');
  });

  test('any signed image length: 3.0.x and 3.2.0-dev accept, 3.1.x exactly when the length is a multiple of 4', () => {
    fc.assert(
      fc.property(fc.integer({ min: 128, max: 20000 }), fc.integer({ min: 0, max: 255 }), (length, seed) => {
        const signed = signWith(payloadOf(length, seed));
        const at = (core: string) => deviceAt(core, { runningSketchSize: 0x2000 }).replay(signed, { chunk: 1460 }).updaterError?.name ?? 'OK';
        expect(at('3.0.2')).not.toBe('SIGN');
        expect(at('latest')).not.toBe('SIGN');
        expect(at('3.1.2') === 'SIGN').toBe(length % 4 !== 0);
      }),
      { numRuns: 40 },
    );
  });
});

describe('eboot copy properties', () => {
  test('valid deflate streams of any content and level: the uzlib model and zlib give the same image', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 20_000 }), fc.integer({ min: 0, max: 9 }), fc.boolean(), (data, level, repetitive) => {
        const content = repetitive ? Buffer.concat([data, data, data.subarray(0, data.length >> 1)]) : Buffer.from(data);
        const file = Buffer.from(gzipSync(content, { level }));
        const flash = new Flash(0x100000);
        flash.program(0x80000, file);
        const r = runEboot(flash, profileFor('3.1.2'), encodeCommand({ action: ACTION_COPY_RAW, args: [0x80000, 0x10000, file.length] }), { inflateAtOnce: false });
        expect(r.result).toBe(0);
        expect(r.pastStreamEnd).toBe(false);
        expect(Buffer.from(flash.bytes.subarray(0x10000, 0x10000 + content.length)).equals(content)).toBe(true);
      }),
      { numRuns: 50 },
    );
  });

  test('a filesystem image copied upwards (ATOMIC_FS_UPDATE): the one-call inflate and the uzlib model agree', () => {
    const fsImage = makeImage({ size: 90_000, label: 'filesystem property' });
    const packed = gz(fsImage);
    fc.assert(
      fc.property(fc.integer({ min: -3000, max: 3000 }), (delta) => {
        const file = Buffer.from(packed);
        file.writeInt32LE(Math.max(1, fsImage.length + delta), file.length - 4);
        const a = new Flash(0x400000);
        a.program(0x1e0000, file);
        const b = new Flash(0x400000);
        b.setContents(a.bytes);
        const rtc = encodeCommand({ action: ACTION_COPY_RAW, args: [0x1e0000, 0x200000, file.length] });
        const fast = runEboot(a, profileFor('3.1.2'), rtc);
        const exact = runEboot(b, profileFor('3.1.2'), rtc, { inflateAtOnce: false });
        if (delta === 0) expect(fast.inflatedInOneCall).toBe(true);
        expect({ ...fast, inflatedInOneCall: false }).toEqual(exact);
        expect(Buffer.compare(a.bytes, b.bytes)).toBe(0);
      }),
      { numRuns: 30 },
    );
  });

  const image = makeImage({ size: 60_000, label: 'eboot property' });
  const good = gz(image);

  test('the one-call inflate and the sector-by-sector inflate leave the same flash and result, for intact, corrupted and lying gzips', () => {
    const mutation = fc.oneof(
      fc.constant({ kind: 'none' as const }),
      fc.record({ kind: fc.constant('flip' as const), at: fc.integer({ min: 10, max: good.length - 9 }), mask: fc.integer({ min: 1, max: 255 }) }),
      fc.record({ kind: fc.constant('isize' as const), delta: fc.integer({ min: -20_000, max: 20_000 }) }),
    );
    fc.assert(
      fc.property(mutation, (m) => {
        const file = Buffer.from(good);
        if (m.kind === 'flip') file[m.at]! ^= m.mask;
        if (m.kind === 'isize') file.writeInt32LE(Math.max(1, image.length + m.delta), file.length - 4);
        const device = deviceAt('3.0.2', { key: null });
        const { updater, stage } = device.ota(file, { chunk: 4096 });
        if (stage !== 'done') return;
        const copy = new Flash(device.flash.size);
        copy.setContents(device.flash.bytes);
        const fast = runEboot(device.flash, profileFor('3.0.2'), updater.rtc);
        const exact = runEboot(copy, profileFor('3.0.2'), updater.rtc, { inflateAtOnce: false });
        expect(exact.inflatedInOneCall).toBe(false);
        if (m.kind === 'none') expect(fast.inflatedInOneCall).toBe(true);
        expect({ ...fast, inflatedInOneCall: false }).toEqual(exact);
        expect(Buffer.compare(device.flash.bytes, copy.bytes)).toBe(0);
      }),
      { numRuns: 60 },
    );
  });
});

describe('hostile files never crash the device model', () => {
  const signedGzip = signWith(gz(makeImage({ size: 30_000, label: 'hostile' })));
  test('mutated signed gzips and trailers: replay always returns a verdict, on every core, sketch or filesystem', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { maxLength: 6 }),
        fc.integer({ min: 0, max: signedGzip.length }),
        fc.constantFrom('2.5.2', '2.6.3', '2.7.4', '3.0.2', '3.1.2', 'latest'),
        fc.boolean(),
        (edits, cut, core, fs) => {
          const file = Buffer.from(signedGzip.subarray(0, cut));
          for (const e of edits) if (file.length) file[e.at % file.length] = e.value;
          const v = deviceAt(core, { runningSketchSize: 0x2000 }).replay(file, { chunk: 1460, command: fs ? 'fs' : 'sketch' });
          expect(typeof v.accepted).toBe('boolean');
          if (!v.accepted || !v.boots) expect(v.cause).toEqual(expect.any(String));
          expect(`${v.cause} ${v.fix} ${v.log.join(' ')}`).not.toMatch(/undefined|NaN/);
        },
      ),
      { numRuns: 80 },
    );
  });
});

describe('the flash chip', () => {
  const SIZE = 0x10000;
  const op = fc.oneof(
    fc.record({ kind: fc.constant('erase' as const), sector: fc.integer({ min: -1, max: SIZE / 4096 }) }),
    fc.record({ kind: fc.constant('program' as const), offset: fc.integer({ min: -2, max: SIZE }), data: fc.uint8Array({ maxLength: 9000 }) }),
    fc.record({ kind: fc.constant('set' as const), offset: fc.integer({ min: 0, max: SIZE - 64 }), data: fc.uint8Array({ maxLength: 64 }) }),
  );

  test('erase, program (AND) and a direct overwrite behave as NOR flash, on a new chip and on one given back and taken again', () => {
    fc.assert(fc.property(fc.array(op, { maxLength: 40 }), fc.array(op, { maxLength: 40 }), (first, second) => {
      for (const ops of [first, second]) {
        const chip = new Flash(SIZE);
        const model = new Uint8Array(SIZE).fill(0xff);
        expect(Buffer.compare(chip.bytes, model)).toBe(0);
        for (const o of ops) {
          if (o.kind === 'erase') {
            const ok = o.sector >= 0 && o.sector < SIZE / 4096;
            expect(chip.eraseSector(o.sector)).toBe(ok);
            if (ok) model.fill(0xff, o.sector * 4096, o.sector * 4096 + 4096);
          } else if (o.kind === 'program') {
            const ok = o.offset >= 0 && o.offset + o.data.length <= SIZE;
            expect(chip.program(o.offset, o.data)).toBe(ok);
            if (ok) o.data.forEach((b, i) => (model[o.offset + i]! &= b));
          } else {
            chip.setContents(o.data, o.offset);
            model.set(o.data, o.offset);
          }
        }
        expect(Buffer.compare(chip.bytes, model)).toBe(0);
        chip.release();
      }
    }), { numRuns: 150 });
  });
});
