/**
 * A device = profile + flash + the running firmware. `ota()` feeds a file through the Updater the
 * way an uploader does, `reboot()` runs eboot and the app-load check; `replay()` does both and
 * returns the verdict (device-behaviour.md §11). Sketch updates (U_FLASH) and filesystem updates
 * (U_FS, in place or with ATOMIC_FS_UPDATE) both end in a booted flash image in `device.flash`.
 */
import { count } from './words.js';
import { UsageError } from '../errors.js';
import { FLASH_MODES, flashSizeNameOf, makeRunningImage, type FlashMode } from '../image/image.js';
import { decodeEmbeddedKey, verifierLength, type DeviceKey } from './bearssl.js';
import { appLoads, bootloaderLoads, runEboot, type EbootResult } from './eboot.js';
import { Flash, SECTOR_SIZE } from './flash.js';
import type { Layout } from './layouts.js';
import { inflateGzip, readTrailer, type TrailerFacts } from './payload.js';
import { coreRange, type Profile } from './profiles.js';
import { explain } from './verdict.js';
import { Updater, U_FLASH, U_FS } from './updater.js';

export interface DeviceSpec {
  profile: Profile;
  /** The layout the running firmware was built for; its flash size is what the running header says. */
  layout: Layout;
  /** The running sketch's getSketchSize(). */
  runningSketchSize: number;
  runningFlashMode: FlashMode;
  /** `signing_pubkey[]` bytes as compiled in; null = firmware built without signing. */
  embeddedKey: Uint8Array | null;
  /** The chip's real size (JEDEC id) when it differs from the running header's; default: the layout's. */
  realFlashSize?: number;
  /** The running firmware was built with -DATOMIC_FS_UPDATE (cores 2.6.0+). */
  atomicFs?: boolean;
}

/** How the file reaches the Updater (§9). */
export type DeliveryPath = 'arduinoota' | 'httpupdate' | 'webserver';

/** What the update is: a sketch (U_FLASH) or a filesystem image (U_FS). */
export type UpdateCommand = 'sketch' | 'fs';

export interface ReplayOptions {
  chunk?: number;
  path?: DeliveryPath;
  command?: UpdateCommand;
  /** Overrides the spec's `atomicFs` for this update (the firmware's ATOMIC_FS_UPDATE build flag). */
  atomicFs?: boolean;
  /** The image the device should end up with, when the caller knows it (postbuild does): no second inflate. */
  expected?: Uint8Array;
}

export interface Verdict {
  command: UpdateCommand;
  accepted: boolean;
  updaterError: { code: number; name: string; text: string } | null;
  eboot: { result: number | null; unpredictable: boolean; pastStreamEnd: boolean; bootSectorSkipped: boolean } | null;
  /** Sketch: the new image boots. Filesystem: the app boots afterwards with the new filesystem in place. */
  boots: boolean;
  bootloaderIntact: boolean;
  /** The filesystem region holds the new image (false for sketch updates). */
  filesystemUpdated: boolean;
  /** No byte of the old filesystem region was erased or written. */
  filesystemIntact: boolean;
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

export interface OtaResult {
  updater: Updater;
  stage: Verdict['stage'];
  preError?: string;
}

export class Device {
  /** The chip (its real size); after `replay()` it holds what the device booted from. */
  readonly flash: Flash;
  readonly key: DeviceKey | null;
  private rtc: Uint8Array | null = null;

  constructor(readonly spec: DeviceSpec) {
    this.checkAtomic(spec.atomicFs);
    this.flash = new Flash(this.realFlashSize);
    const sizeName = flashSizeNameOf(spec.layout.flashSize) ?? '4M';
    // Only the running image's headers matter to the Updater and eboot; its code is left erased.
    this.flash.program(0, runningImage(spec.runningFlashMode, sizeName));
    this.flash.untouch();
    this.key = spec.embeddedKey ? decodeEmbeddedKey(spec.embeddedKey) : null;
  }

  private checkAtomic(atomicFs: boolean | undefined): void {
    if (atomicFs && !this.spec.profile.atomicFs) {
      throw new UsageError(`--atomic-fs: ${coreRange(this.spec.profile)} have no ATOMIC_FS_UPDATE (it arrived in 2.6.0); their filesystem updates are always written in place.`);
    }
  }

  private atomicFor(opts: Pick<ReplayOptions, 'atomicFs'>): boolean {
    this.checkAtomic(opts.atomicFs);
    return opts.atomicFs ?? this.spec.atomicFs ?? false;
  }

  get realFlashSize(): number {
    return this.spec.realFlashSize ?? this.spec.layout.flashSize;
  }

  /** getFreeSketchSpace(): from the end of the running sketch's last sector to the filesystem. */
  private freeSketchSpace(): number {
    return this.spec.layout.fsStart - Math.ceil(this.spec.runningSketchSize / SECTOR_SIZE) * SECTOR_SIZE;
  }

  /** Upload `file` in `chunk`-byte writes; returns the Updater with its error, log and RTC command. */
  ota(file: Uint8Array, opts: Omit<ReplayOptions, 'expected'> = {}): OtaResult {
    const chunk = opts.chunk ?? 1460;
    const path = opts.path ?? 'arduinoota';
    const fs = opts.command === 'fs';
    const { layout } = this.spec;
    const updater = new Updater(this.spec.profile, this.flash, {
      sketchSize: this.spec.runningSketchSize,
      fsStart: layout.fsStart,
      fsEnd: layout.fsEnd,
      realFlashSize: this.realFlashSize,
      key: this.key,
      atomicFs: this.atomicFor(opts),
    });
    if (path === 'httpupdate') {
      // ESP8266httpUpdate's own checks before Update.begin (handleUpdate, 2.5.0–3.1.2 alike)
      const room = fs ? layout.fsEnd - layout.fsStart : this.freeSketchSpace();
      if (file.length > room) return { updater, stage: 'begin', preError: `HTTP_UE_TOO_LESS_SPACE (-100): ${count(file.length, 'byte')} do not fit the ${count(room, 'byte')} of ${fs ? 'the filesystem' : 'free sketch space'}` };
      if (!fs && file[0] !== 0xe9 && !(this.spec.profile.gzip && file[0] === 0x1f)) return { updater, stage: 'begin', preError: 'HTTP_UE_BIN_VERIFY_HEADER_FAILED (-106): the first byte is neither 0xE9 nor 0x1F' };
    }
    // The web updater declares the most it can take and ends with evenIfRemaining.
    const declared = path !== 'webserver' ? file.length : fs ? layout.fsEnd - layout.fsStart : (this.freeSketchSpace() - SECTOR_SIZE) & ~0xfff;
    if (!updater.begin(declared, fs ? U_FS : U_FLASH)) return { updater, stage: 'begin' };
    for (let off = 0; off < file.length; off += chunk) {
      const piece = file.subarray(off, Math.min(off + chunk, file.length));
      if (updater.write(piece) !== piece.length) return { updater, stage: 'write' };
    }
    const chunks = Math.ceil(file.length / chunk);
    updater.log.push(`write(): ${count(file.length, 'byte')} in ${count(chunks, 'chunk')} of ${chunk}`);
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

  /** The whole story for one file: upload, reboot, and whether the result is what was meant. */
  replay(file: Uint8Array, opts: ReplayOptions = {}): Verdict {
    const command: UpdateCommand = opts.command ?? 'sketch';
    const { updater, stage, preError } = this.ota(file, opts);
    const log = [...updater.log];
    const trailer = this.trailerFacts(file);
    const base = { command, stagingAddress: updater.stagingAddress, log };
    const facts = { spec: this.spec, key: this.key, file, trailer, command, atomicFs: this.atomicFor(opts), realFlashSize: this.realFlashSize };
    if (stage !== 'done' || preError) {
      const err = updater.error;
      const v: Verdict = {
        ...base,
        accepted: false,
        updaterError: err ? { code: err.code, name: err.name, text: err.text } : null,
        eboot: null,
        boots: false,
        bootloaderIntact: bootloaderLoads(this.flash),
        filesystemUpdated: command === 'fs' && this.filesystemHolds(opts.expected ?? this.expectedImage(file, trailer)),
        filesystemIntact: this.filesystemIntact(),
        stage,
        ...explain({ ...facts, stage, error: err, preError, filesystemIntact: this.filesystemIntact() }),
      };
      if (err?.name === 'SIGN' && this.spec.profile.verifyOnMainStack) v.note = 'real 2.5.x/2.6.x devices may reset (watchdog) instead of reporting this error (#7145)';
      return v;
    }
    const e = this.reboot();
    log.push(...e.log);
    const expected = opts.expected ?? this.expectedImage(file, trailer);
    if (command === 'fs') return this.fsVerdict(base, facts, e, expected);
    const matches = expected !== null && e.result === 0 && this.flashHolds(expected, file[0] === 0x1f && file[1] === 0x8b);
    const boots = matches && !e.unpredictable && appLoads(this.flash);
    const bootloaderIntact = bootloaderLoads(this.flash);
    const stageAfter: Verdict['stage'] = e.result !== 0 ? 'eboot' : boots && bootloaderIntact ? 'done' : 'boot';
    log.push(!bootloaderIntact ? 'boot: sector 0 holds no bootloader the ROM can start' : boots ? 'boot: the new image is in place and its header loads' : 'boot: the flash does not hold the new image');
    return {
      ...base,
      accepted: true,
      updaterError: null,
      eboot: ebootFacts(e),
      boots,
      bootloaderIntact,
      filesystemUpdated: false,
      filesystemIntact: this.filesystemIntact(),
      stage: stageAfter,
      ...(boots && bootloaderIntact ? { cause: null, fix: null } : explain({ ...facts, stage: stageAfter, error: null, eboot: e, bootloaderIntact, expected })),
    };
  }

  /**
   * After an accepted filesystem update. In place: the app restarts untouched. Atomic: eboot copied
   * the image (res 0) and jumps to the filesystem offset, which holds no app: that start fails, the
   * device resets, and as the command was cleared the second boot runs the app at 0x1000.
   */
  private fsVerdict(base: Pick<Verdict, 'command' | 'stagingAddress' | 'log'>, facts: Omit<Parameters<typeof explain>[0], 'stage' | 'error'>, e: EbootResult, expected: Uint8Array | null): Verdict {
    const log = base.log;
    if (e.command === 'copy') {
      if (e.result === 0) log.push(`ld 0x${e.loadFrom.toString(16)}: the filesystem region is not an app, the start fails and the device resets`);
      const second = this.reboot();
      log.push(...second.log);
    }
    const filesystemUpdated = this.filesystemHolds(expected);
    // 2.5.x has no end-of-filesystem check: an oversized image runs on into what follows (EEPROM, SDK settings).
    const { fsEnd } = this.spec.layout;
    const overran = !facts.atomicFs && this.flash.touchedIn(fsEnd, this.flash.size);
    if (overran) log.push(`write: the image ran past the filesystem end at 0x${fsEnd.toString(16)} and overwrote the flash after it`);
    const appOk = appLoads(this.flash);
    const bootloaderIntact = bootloaderLoads(this.flash);
    const boots = filesystemUpdated && appOk && !e.unpredictable;
    const stage: Verdict['stage'] = e.command === 'copy' && e.result !== 0 ? 'eboot' : boots && bootloaderIntact ? 'done' : 'boot';
    log.push(boots ? 'boot: the app runs with the new filesystem in place' : `boot: ${filesystemUpdated ? 'the app does not load' : 'the filesystem region does not hold the new image'}`);
    return {
      ...base,
      accepted: true,
      updaterError: null,
      eboot: e.command === 'copy' ? ebootFacts(e) : null,
      boots,
      bootloaderIntact,
      filesystemUpdated,
      filesystemIntact: this.filesystemIntact(),
      stage,
      ...(boots && bootloaderIntact ? { cause: null, fix: null } : explain({ ...facts, stage, error: null, eboot: e.command === 'copy' ? e : undefined, bootloaderIntact, expected })),
      ...(overran ? { note: `${coreRange(this.spec.profile)} do not check the filesystem end: the image overwrote the sector(s) from 0x${fsEnd.toString(16)} on (EEPROM and SDK settings on standard layouts); later cores refuse it with error 4` } : {}),
    };
  }

  /** The trailer read as Updater::end reads it, for this device's key. */
  private trailerFacts(file: Uint8Array): TrailerFacts {
    return readTrailer(file, this.key ? verifierLength(this.key) : 0);
  }

  /** What the sender meant the flash to hold: the payload, inflated when it is gzip. */
  private expectedImage(file: Uint8Array, trailer: TrailerFacts): Uint8Array | null {
    const payload = file.subarray(0, trailer.payloadLength);
    return payload[0] === 0x1f && payload[1] === 0x8b ? inflateGzip(payload).image : payload;
  }

  /** The filesystem region starts with the image, byte for byte. */
  private filesystemHolds(image: Uint8Array | null): boolean {
    const { fsStart } = this.spec.layout;
    if (!image || image.length === 0 || fsStart + image.length > this.flash.size) return false;
    return Buffer.from(this.flash.bytes.buffer, this.flash.bytes.byteOffset + fsStart, image.length).equals(image);
  }

  /** No sector of the filesystem region was erased or programmed (true when the layout has none). */
  private filesystemIntact(): boolean {
    const { fsStart, fsEnd } = this.spec.layout;
    return !this.flash.touchedIn(fsStart, fsEnd);
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

function ebootFacts(e: EbootResult): NonNullable<Verdict['eboot']> {
  return { result: e.result, unpredictable: e.unpredictable, pastStreamEnd: e.pastStreamEnd, bootSectorSkipped: e.bootSectorSkipped };
}
