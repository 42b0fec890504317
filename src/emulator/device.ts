/**
 * A device = profile + flash + the running firmware. `ota()` feeds a file through the Updater the
 * way an uploader does, `reboot()` runs eboot and the app-load check; `replay()` does both and
 * returns the verdict (device-behaviour.md §11).
 */
import { gunzipLikeEboot } from '../compress/gzip.js';
import { FLASH_MODES, flashSizeNameOf, makeRunningImage, type FlashMode } from '../image/image.js';
import { isGzip } from '../image/kind.js';
import { decodeDevicePublicKey, keyAsStrlenSees, verifierLength, type DeviceKey } from './bearssl.js';
import { appLoads, bootloaderLoads, runEboot, type EbootResult } from './eboot.js';
import { Flash, SECTOR_SIZE } from './flash.js';
import type { Layout } from './layouts.js';
import type { Profile } from './profiles.js';
import { explain } from './verdict.js';
import { splitSigned } from '../signing/sign.js';
import { Updater, U_FLASH } from './updater.js';

export interface DeviceSpec {
  profile: Profile;
  layout: Layout;
  /** The running sketch's getSketchSize(). */
  runningSketchSize: number;
  runningFlashMode: FlashMode;
  /** `signing_pubkey[]` bytes as compiled in; null = firmware built without signing. */
  embeddedKey: Uint8Array | null;
}

/** How the file reaches the Updater (§9). */
export type DeliveryPath = 'arduinoota' | 'httpupdate' | 'webserver';

export interface Verdict {
  accepted: boolean;
  updaterError: { code: number; name: string; text: string } | null;
  eboot: { result: number | null; unpredictable: boolean; bootSectorSkipped: boolean } | null;
  boots: boolean;
  bootloaderIntact: boolean;
  stage: 'begin' | 'write' | 'end' | 'eboot' | 'boot' | 'done';
  cause: string | null;
  fix: string | null;
  stagingAddress: number | null;
  log: string[];
  /** Set where real 2.5.x/2.6.x hardware may reset instead of rejecting cleanly (#7145). */
  note?: string;
}

const runningImages = new Map<string, Buffer>();

/** A small image for the running firmware's bootloader sector and app header (cached: built once). */
function runningImage(mode: FlashMode, sizeName: string): Buffer {
  const key = `${mode}/${sizeName}`;
  let img = runningImages.get(key);
  if (!img) {
    img = makeRunningImage({ flashMode: mode, flashSize: sizeName });
    runningImages.set(key, img);
  }
  return img;
}

export class Device {
  readonly flash: Flash;
  readonly key: DeviceKey | null;
  private rtc: Uint8Array | null = null;

  constructor(readonly spec: DeviceSpec) {
    this.flash = new Flash(spec.layout.flashSize);
    const sizeName = flashSizeNameOf(spec.layout.flashSize) ?? '4M';
    // Only the running image's headers matter to the Updater and eboot; its code is left erased.
    this.flash.program(0, runningImage(spec.runningFlashMode, sizeName));
    this.key = spec.embeddedKey ? decodeDevicePublicKey(keyAsStrlenSees(spec.embeddedKey)) : null;
  }

  /** Upload `file` in `chunk`-byte writes; returns the Updater with its error, log and RTC command. */
  ota(file: Uint8Array, opts: { chunk?: number; path?: DeliveryPath } = {}): { updater: Updater; stage: Verdict['stage']; preError?: string } {
    const chunk = opts.chunk ?? 1460;
    const path = opts.path ?? 'arduinoota';
    const updater = new Updater(this.spec.profile, this.flash, {
      sketchSize: this.spec.runningSketchSize,
      fsStart: this.spec.layout.fsStart,
      fsEnd: this.spec.layout.fsEnd,
      realFlashSize: this.spec.layout.flashSize,
      key: this.key,
    });
    const free = this.spec.layout.fsStart - Math.ceil(this.spec.runningSketchSize / SECTOR_SIZE) * SECTOR_SIZE;
    if (path === 'httpupdate') {
      if (file.length > free) return { updater, stage: 'begin', preError: `HTTP_UE_SERVER_NOT_ENOUGH_SPACE (-100): ${file.length} bytes do not fit the ${free} bytes of free sketch space` };
      if (file[0] !== 0xe9 && !(this.spec.profile.gzip && file[0] === 0x1f)) return { updater, stage: 'begin', preError: 'HTTP_UE_BIN_VERIFY_HEADER_FAILED (-106): the first byte is neither 0xE9 nor 0x1F' };
    }
    const declared = path === 'webserver' ? (free - SECTOR_SIZE) & ~0xfff : file.length;
    if (!updater.begin(declared, U_FLASH)) return { updater, stage: 'begin' };
    for (let off = 0; off < file.length; off += chunk) {
      const piece = file.subarray(off, Math.min(off + chunk, file.length));
      if (updater.write(piece) !== piece.length) return { updater, stage: 'write' };
    }
    updater.log.push(`write(): ${file.length} bytes in ${Math.ceil(file.length / chunk)} chunks of ${chunk}`);
    if (!updater.end(path === 'webserver')) return { updater, stage: 'end' };
    this.rtc = updater.rtc;
    return { updater, stage: 'done' };
  }

  /** A reset: eboot acts on the RTC command, then the app at 0x1000 is loaded. */
  reboot(): EbootResult {
    const r = runEboot(this.flash, this.spec.profile, this.rtc);
    this.rtc = null;
    return r;
  }

  /** The whole story for one file: upload, reboot, and whether the result is the image that was meant. */
  replay(file: Uint8Array, opts: { chunk?: number; path?: DeliveryPath; expected?: Uint8Array } = {}): Verdict {
    const { updater, stage, preError } = this.ota(file, opts);
    const log = [...updater.log];
    const base = { stagingAddress: updater.stagingAddress, log };
    const sigTrailer = this.trailerFacts(file);
    if (stage !== 'done' || preError) {
      const err = updater.error;
      const v: Verdict = {
        ...base,
        accepted: false,
        updaterError: err ? { code: err.code, name: err.name, text: err.text } : null,
        eboot: null,
        boots: false,
        bootloaderIntact: bootloaderLoads(this.flash),
        stage,
        ...explain({ stage, error: err, preError, spec: this.spec, key: this.key, file, trailer: sigTrailer }),
      };
      if (err?.name === 'SIGN' && this.spec.profile.verifyOnMainStack) v.note = 'real 2.5.x/2.6.x devices may reset (watchdog) instead of reporting this error (#7145)';
      return v;
    }
    const e = this.reboot();
    log.push(...e.log);
    // The caller may know the unsigned image (postbuild does): no second inflate of a gzip.
    const expected = opts.expected ?? this.expectedImage(file, sigTrailer.payloadLength);
    const matches = expected !== null && e.result === 0 && this.flashHolds(expected, isGzip(file));
    const boots = matches && appLoads(this.flash);
    const bootloaderIntact = bootloaderLoads(this.flash);
    const stageAfter: Verdict['stage'] = e.result !== 0 ? 'eboot' : boots ? 'done' : 'boot';
    log.push(boots ? 'boot: the new image is in place and its header loads' : 'boot: the flash does not hold the new image');
    return {
      ...base,
      accepted: true,
      updaterError: null,
      eboot: { result: e.result, unpredictable: e.unpredictable, bootSectorSkipped: e.bootSectorSkipped },
      boots,
      bootloaderIntact,
      stage: stageAfter,
      ...(boots && bootloaderIntact ? { cause: null, fix: null } : explain({ stage: stageAfter, error: null, spec: this.spec, key: this.key, file, trailer: sigTrailer, eboot: e, bootloaderIntact })),
    };
  }

  /** Where the payload ends if the file carries a trailer matching the device key. */
  private trailerFacts(file: Uint8Array): { payloadLength: number; sigLenTrailer: number | null } {
    if (file.length < 4) return { payloadLength: file.length, sigLenTrailer: null };
    const split = splitSigned(file, this.key ? verifierLength(this.key) : []);
    if (split) return { payloadLength: split.payload.length, sigLenTrailer: split.sigLenTrailer };
    return { payloadLength: file.length, sigLenTrailer: new DataView(file.buffer, file.byteOffset, file.byteLength).getUint32(file.length - 4, true) };
  }

  private expectedImage(file: Uint8Array, payloadLength: number): Uint8Array | null {
    const payload = file.subarray(0, payloadLength);
    return isGzip(payload) ? gunzipLikeEboot(payload) : payload;
  }

  /** Flash from 0 equals the image, except byte 2 which a raw upload gets from the device. */
  private flashHolds(image: Uint8Array, gzip: boolean): boolean {
    const f = this.flash.bytes;
    if (image.length > f.length) return false;
    const same = (from: number, to: number) => Buffer.from(f.buffer, f.byteOffset + from, to - from).equals(image.subarray(from, to));
    if (image.length <= 2) return same(0, image.length);
    const byte2 = f[2] === image[2] || (!gzip && f[2] === this.modeByte());
    return byte2 && same(0, 2) && same(3, image.length);
  }

  private modeByte(): number {
    return FLASH_MODES.indexOf(this.spec.runningFlashMode);
  }
}
