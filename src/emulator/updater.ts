/**
 * UpdaterClass as the device runs it (device-behaviour.md §3): begin / write / end with the real
 * staging geometry, lazy sector erase, the first-sector flash-mode patch, the signature trailer
 * checks, the hash over what is in flash, _verifyEnd and the eboot command.
 */
import { count } from './words.js';
import { createHash } from 'node:crypto';
import { FLASH_MODES, magicFlashChipMode, magicFlashChipSize } from '../image/image.js';
import { deviceVerify, verifierLength, type DeviceKey } from './bearssl.js';
import { deviceError, type DeviceError, type UpdateErrorName } from './errors.js';
import { Flash, SECTOR_SIZE } from './flash.js';
import type { Profile } from './profiles.js';
import { ACTION_COPY_RAW, encodeCommand } from './rtc.js';

export const U_FLASH = 0;
export const U_FS = 100;

/** What the running firmware knows about itself. */
export interface RunningFirmware {
  /** getSketchSize(): the running image's end offset. */
  sketchSize: number;
  fsStart: number;
  fsEnd: number;
  /** Real chip size from the JEDEC id. */
  realFlashSize: number;
  /** The verifier's key as parsed at boot; null = built without signing. */
  key: DeviceKey | null;
  /** Built with -DATOMIC_FS_UPDATE: a U_FS image is staged like a sketch and eboot copies it. */
  atomicFs?: boolean;
}

const roundUp = (n: number) => Math.ceil(n / SECTOR_SIZE) * SECTOR_SIZE;

export class Updater {
  private size = 0;
  private startAddress = 0;
  private currentAddress = 0;
  private buffer = new Uint8Array(SECTOR_SIZE);
  private bufferLen = 0;
  private command = U_FLASH;
  error: DeviceError | null = null;
  /** What eboot will find in RTC memory after a successful end(). */
  rtc: Uint8Array | null = null;
  readonly log: string[] = [];

  constructor(
    private readonly profile: Profile,
    private readonly flash: Flash,
    private readonly fw: RunningFirmware,
  ) {}

  get stagingAddress(): number {
    return this.startAddress;
  }

  private progress(): number {
    return this.currentAddress - this.startAddress;
  }

  private remaining(): number {
    return this.size - this.progress();
  }

  private fail(name: UpdateErrorName): false {
    this.error = deviceError(name, this.profile, this.fw.realFlashSize, magicFlashChipSize(this.flash.bytes[3]! >> 4));
    this.log.push(`error ${this.error.text}`);
    this.reset();
    return false;
  }

  private reset(): void {
    this.bufferLen = 0;
    this.size = 0;
    this.command = U_FLASH;
  }

  begin(size: number, command = U_FLASH): boolean {
    if (this.size > 0) return this.profile.extraErrorCodes ? this.fail('RUNNING_ALREADY') : false;
    if (size === 0) return this.fail('SIZE');
    const runningHeaderSize = magicFlashChipSize(this.flash.bytes[3]! >> 4);
    if (this.fw.realFlashSize < runningHeaderSize) return this.fail('FLASH_CONFIG');
    this.reset();
    this.error = null;
    const currentSketchSize = roundUp(this.fw.sketchSize);
    const roundedSize = roundUp(size);
    // Sketches, and filesystem images of ATOMIC_FS_UPDATE firmware, are staged just below the filesystem.
    const stageBelowFs = (): number | null => {
      const end = this.fw.fsStart;
      const at = end > roundedSize ? end - roundedSize : 0;
      return at < currentSketchSize ? null : at;
    };
    let start: number | null;
    if (command === U_FLASH) {
      start = stageBelowFs();
    } else if (command === U_FS) {
      if (this.profile.fsEndCheck && this.fw.fsStart + roundedSize > this.fw.fsEnd) return this.fail('SPACE');
      start = this.fw.atomicFs ? stageBelowFs() : this.fw.fsStart;
    } else {
      return this.profile.extraErrorCodes ? this.fail('UNKNOWN_COMMAND') : false;
    }
    if (start === null) return this.fail('SPACE');
    this.startAddress = this.currentAddress = start;
    this.size = size;
    this.command = command;
    const what = command === U_FS ? (this.fw.atomicFs ? 'filesystem image staged' : 'filesystem image written in place') : 'staging';
    this.log.push(`begin(${size}${command === U_FS ? ', U_FS' : ''}) → ${what} at 0x${start.toString(16)}–0x${(start + roundedSize).toString(16)} (running sketch ends at 0x${currentSketchSize.toString(16)}, filesystem at 0x${this.fw.fsStart.toString(16)})`);
    return true;
  }

  write(data: Uint8Array): number {
    if (this.error || this.size === 0) return 0;
    const over = this.profile.strictOverrun ? this.progress() + this.bufferLen + data.length > this.size : data.length > this.remaining();
    if (over) {
      this.fail('SPACE');
      return 0;
    }
    let left = data.length;
    while (this.bufferLen + left > SECTOR_SIZE) {
      const toBuff = SECTOR_SIZE - this.bufferLen;
      this.buffer.set(data.subarray(data.length - left, data.length - left + toBuff), this.bufferLen);
      this.bufferLen += toBuff;
      if (!this.writeBuffer()) return data.length - left;
      left -= toBuff;
    }
    this.buffer.set(data.subarray(data.length - left), this.bufferLen);
    this.bufferLen += left;
    if (this.bufferLen === this.remaining() && !this.writeBuffer()) return data.length - left;
    return data.length;
  }

  private writeBuffer(): boolean {
    if (this.currentAddress % SECTOR_SIZE === 0 && !this.flash.eraseSector(this.currentAddress / SECTOR_SIZE)) return this.fail('ERASE');
    const chunk = this.buffer.subarray(0, this.bufferLen);
    // A first block of one or two bytes never writes byte 2, whatever the patch does to the buffer.
    if (this.currentAddress === this.startAddress && chunk.length > 2 && this.modePatchApplies(chunk)) {
      const deviceMode = magicFlashChipMode(this.flash.bytes[2]!);
      if (magicFlashChipMode(chunk[2]!) !== deviceMode) {
        this.log.push(`flash-mode patch: image byte 2 = ${chunk[2]} (${FLASH_MODES[chunk[2]!] ?? 'no flash mode'}), the device runs ${FLASH_MODES[deviceMode] ?? "an unknown mode"}; flash gets ${deviceMode}`);
        chunk[2] = deviceMode;
      }
    }
    if (!this.flash.program(this.currentAddress, chunk)) return this.fail('WRITE');
    this.currentAddress += this.bufferLen;
    this.bufferLen = 0;
    return true;
  }

  private modePatchApplies(chunk: Uint8Array): boolean {
    switch (this.profile.modePatch) {
      case 'every-command':
        return true;
      case 'sketch':
        return this.command === U_FLASH;
      case 'sketch-not-gzip':
        return this.command === U_FLASH && chunk[0] !== 0x1f;
    }
  }

  /** The bytes the device hashes: 128-byte reads from flash, with 3.1.x's stale-tail bug. */
  private hashFromFlash(binSize: number): Uint8Array | null {
    const h = createHash('sha256');
    const bytes = this.flash.bytes;
    const tail = binSize % 128;
    if (this.profile.staleHashTail && binSize % 4 !== 0) {
      if (binSize < 128) return null; // the buffer holds uninitialised stack: unpredictable
      h.update(bytes.subarray(this.startAddress, this.startAddress + binSize - tail));
      const prev = this.startAddress + binSize - tail - 128;
      h.update(bytes.subarray(prev, prev + tail));
      return h.digest();
    }
    h.update(bytes.subarray(this.startAddress, this.startAddress + binSize));
    return h.digest();
  }

  end(evenIfRemaining = false): boolean {
    if (this.size === 0) {
      this.reset();
      return false;
    }
    if (this.profile.noDataCheck && this.progress() === 0) return this.fail('NO_DATA');
    if (this.error || (this.progress() !== this.size && !evenIfRemaining)) {
      this.log.push(`end(): incomplete upload (${this.progress()} of ${count(this.size, 'byte')})`);
      this.reset();
      return false;
    }
    if (evenIfRemaining) {
      if (this.bufferLen > 0) this.writeBuffer();
      this.size = this.progress();
    }
    const key = this.fw.key;
    if (key) {
      const expectedSigLen = verifierLength(key);
      const read = !this.profile.sigLenGuarded || expectedSigLen > 0;
      const sigLen = read && this.size >= 4 ? new DataView(this.flash.bytes.buffer).getUint32(this.startAddress + this.size - 4, true) : 0;
      this.log.push(`end(): trailer says ${sigLen}-byte signature, the device key expects ${expectedSigLen}`);
      if (sigLen !== expectedSigLen) return this.fail('SIGN');
      let binSize = this.size;
      if (expectedSigLen > 0) {
        if (binSize < sigLen + 4) return this.fail('SIGN');
        binSize -= sigLen + 4;
      }
      const digest = this.hashFromFlash(binSize);
      if (!digest || expectedSigLen === 0) return this.fail('SIGN');
      const sig = this.flash.bytes.subarray(this.startAddress + binSize, this.startAddress + binSize + sigLen);
      const ok = deviceVerify(key, digest, sig, this.profile.padding);
      this.log.push(`end(): SHA-256 of ${binSize} staged bytes, ${this.profile.padding === 'null-oid' ? 'legacy (bare digest)' : 'DigestInfo'} RSA check ${ok ? 'passed' : 'failed'}`);
      if (!ok) return this.fail('SIGN');
      if (this.profile.trimAfterVerify) this.size = binSize;
    }
    if (this.command === U_FLASH) {
      const head = this.flash.bytes.subarray(this.startAddress, this.startAddress + 4);
      const gzip = this.profile.gzip && head[0] === 0x1f && head[1] === 0x8b;
      if (!gzip) {
        if (head[0] !== 0xe9) return this.fail('MAGIC_BYTE');
        if (magicFlashChipSize(head[3]! >> 4) > this.fw.realFlashSize) return this.fail('NEW_FLASH_CONFIG');
      }
      this.rtc = encodeCommand({ action: ACTION_COPY_RAW, args: [this.startAddress, 0, this.size] });
      this.log.push(`end(): eboot command COPY_RAW 0x${this.startAddress.toString(16)} → 0x0, ${count(this.size, 'byte')}`);
    }
    if (this.command === U_FS && this.fw.atomicFs) {
      this.rtc = encodeCommand({ action: ACTION_COPY_RAW, args: [this.startAddress, this.fw.fsStart, this.size] });
      this.log.push(`end(): eboot command COPY_RAW 0x${this.startAddress.toString(16)} → filesystem 0x${this.fw.fsStart.toString(16)}, ${count(this.size, 'byte')}`);
    }
    this.reset();
    return true;
  }
}
