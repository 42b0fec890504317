/**
 * Before anything is sent: would the device take this file? The emulated device of the target core
 * with the build's layout, flash mode, running sketch size and compiled-in key replays it; a
 * filesystem image goes through Updater.begin(size, U_FS) / write / end, as ArduinoOTA feeds it.
 */
import { Device } from '../emulator/device.js';
import type { Layout } from '../emulator/layouts.js';
import { profileFor } from '../emulator/profiles.js';
import { smokeTest } from '../emulator/smoke.js';
import { Updater, U_FS } from '../emulator/updater.js';
import type { FlashMode } from '../image/image.js';
import { PIECE } from './espota/client.js';

export interface PrecheckDevice {
  core: string;
  layout: Layout;
  flashMode: FlashMode;
  runningSketchSize: number;
  embeddedKey: Uint8Array | null;
}

export interface PrecheckResult {
  core: string;
  passed: boolean;
  stage: string;
  error: string | null;
  cause: string | null;
  fix: string | null;
}

export function precheckFirmware(file: Uint8Array, d: PrecheckDevice, expected?: Uint8Array): PrecheckResult {
  const r = smokeTest(file, d.core, { layout: d.layout, flashMode: d.flashMode, runningSketchSize: d.runningSketchSize, embeddedKey: d.embeddedKey }, expected);
  const v = r.verdict;
  return { core: d.core, passed: r.passed, stage: v.stage, error: v.updaterError?.text ?? null, cause: v.cause, fix: v.fix };
}

/**
 * A filesystem image: written in place at FS_start, checked by end() (with a key, FS images must be
 * signed too); nothing is copied at boot. Whether the mounted filesystem is readable is not modelled.
 */
export function precheckFilesystem(file: Uint8Array, d: PrecheckDevice): PrecheckResult {
  const profile = profileFor(d.core);
  const device = new Device({ profile, layout: d.layout, runningSketchSize: d.runningSketchSize, runningFlashMode: d.flashMode, embeddedKey: d.embeddedKey });
  const updater = new Updater(profile, device.flash, { sketchSize: d.runningSketchSize, fsStart: d.layout.fsStart, fsEnd: d.layout.fsEnd, realFlashSize: d.layout.flashSize, key: device.key });
  const fail = (stage: string, cause: string, fix: string): PrecheckResult => ({ core: d.core, passed: false, stage, error: updater.error?.text ?? null, cause, fix });
  const fsSize = d.layout.fsEnd - d.layout.fsStart;
  if (!updater.begin(file.length, U_FS)) {
    return fail('begin', `the filesystem image (${file.length} bytes) does not fit the device's filesystem (${fsSize} bytes${fsSize === 0 ? ': the layout has none' : ''})`, 'build the image for the board\'s filesystem size (build.spiffs_start…build.spiffs_end)');
  }
  for (let off = 0; off < file.length; off += PIECE) {
    const piece = file.subarray(off, Math.min(off + PIECE, file.length));
    if (updater.write(piece) !== piece.length) return fail('write', 'the device refused the data while writing', 'check the image size');
  }
  if (!updater.end()) {
    return updater.error?.name === 'SIGN'
      ? fail('end', 'the device checks signatures, and the filesystem image is not signed with its key (with signing on, every update must be signed; without ATOMIC_FS_UPDATE the old filesystem is already overwritten when this is found)', 'sign the image: esp8266-sign sign --filesystem --bin IMAGE')
      : fail('end', `Update.end() failed${updater.error ? `: ${updater.error.text}` : ''}`, 'check the image');
  }
  return { core: d.core, passed: true, stage: 'done', error: null, cause: null, fix: null };
}
