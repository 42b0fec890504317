/**
 * What a device reports after installing an artifact: `ESP.getSketchMD5()` hashes flash from 0 to
 * `getSketchSize()` (Esp.cpp, every core since 2.4.0), which walks the app header at 0x1000 and
 * ends at its checksum byte, so the signature never counts. The flash is what the emulated Updater
 * and eboot leave behind: a raw image with header byte 2 rewritten to the running flash mode, an
 * inflated gzip as it was built. Computed by replaying, not by formula, so it follows the emulator.
 */
import { createHash } from 'node:crypto';
import { Device } from '../../emulator/device.js';
import type { Layout } from '../../emulator/layouts.js';
import { profileFor } from '../../emulator/profiles.js';
import { FLASH_MODES, magicFlashChipSize, sketchSize, type FlashMode } from '../../image/image.js';

export interface InstallDevice {
  core: string;
  layout: Layout;
  /** getSketchSize() of the firmware the device runs before the update. */
  runningSketchSize: number;
  /** `signing_pubkey[]` of the running firmware; null for firmware built without signing. */
  embeddedKey: Uint8Array | null;
}

export function md5Hex(data: Uint8Array): string {
  return createHash('md5').update(data).digest('hex');
}

/** The sketch MD5 the device reports after `file` installs and boots, or null where it does not. */
export function installedSketchMd5(file: Uint8Array, mode: FlashMode, dev: InstallDevice): string | null {
  const device = new Device({
    profile: profileFor(dev.core),
    layout: dev.layout,
    runningSketchSize: dev.runningSketchSize,
    runningFlashMode: mode,
    embeddedKey: dev.embeddedKey,
  });
  const verdict = device.replay(file, { path: 'httpupdate' });
  if (!verdict.boots || !verdict.bootloaderIntact) return null;
  const size = sketchSize(device.flash.bytes);
  return size === null ? null : md5Hex(device.flash.bytes.subarray(0, size));
}

export function sketchMd5PerMode(file: Uint8Array, dev: InstallDevice): Record<FlashMode, string | null> {
  return Object.fromEntries(FLASH_MODES.map((m) => [m, installedSketchMd5(file, m, dev)])) as Record<FlashMode, string | null>;
}

/**
 * The flash size named by the image's header (byte 3, high nibble): what ESP8266httpUpdate compares
 * with the chip before writing. Publish reads it from the `.bin`, so a gzip of it gets the same
 * value (the device itself checks only E9 bodies and cannot look inside a gzip).
 */
export function imageFlashSize(image: Uint8Array): number | null {
  if (image.length < 8 || image[0] !== 0xe9) return null;
  return magicFlashChipSize(image[3]! >> 4);
}
