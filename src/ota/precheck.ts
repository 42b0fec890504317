/**
 * Before anything is sent: would the device take this file? The emulated device of the target core
 * with the build's layout, flash mode, running sketch size and compiled-in key replays it; a
 * filesystem image is replayed as a U_FS update, as ArduinoOTA feeds it.
 */
import { Device } from '../emulator/device.js';
import type { Layout } from '../emulator/layouts.js';
import { profileFor } from '../emulator/profiles.js';
import { smokeTest } from '../emulator/smoke.js';
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
 * A filesystem image as ArduinoOTA sends it (U_FS): the emulated device writes it in place, or with
 * `atomicFs` stages it for eboot, and checks the signature in end(); the verdict's cause says what
 * happened to the old filesystem. Whether the mounted filesystem is readable is not modelled.
 */
export function precheckFilesystem(file: Uint8Array, d: PrecheckDevice, atomicFs = false): PrecheckResult {
  const device = new Device({ profile: profileFor(d.core), layout: d.layout, runningSketchSize: d.runningSketchSize, runningFlashMode: d.flashMode, embeddedKey: d.embeddedKey });
  const v = device.replay(file, { command: 'fs', atomicFs, chunk: PIECE });
  device.flash.release();
  const passed = v.accepted && v.boots && v.filesystemUpdated;
  return { core: d.core, passed, stage: v.stage, error: v.updaterError?.text ?? null, cause: passed ? null : v.cause, fix: passed ? null : v.fix };
}
