/**
 * The smoke test postbuild runs on every artifact: a device built from the build itself (core
 * version, flash layout and mode, a running sketch the size of this build, the key as embedded).
 */
import { Device, type Verdict } from './device.js';
import type { Layout } from './layouts.js';
import { profileFor } from './profiles.js';
import type { FlashMode } from '../image/image.js';

export interface BuildDevice {
  layout: Layout;
  flashMode: FlashMode;
  runningSketchSize: number;
  embeddedKey: Uint8Array | null;
}

export interface SmokeResult {
  core: string;
  passed: boolean;
  verdict: Verdict;
}

/** `expected` is the image the device should end up with (the unsigned .bin); derived from `file` when omitted. */
export function smokeTest(file: Uint8Array, core: string, build: BuildDevice, expected?: Uint8Array): SmokeResult {
  const device = new Device({
    profile: profileFor(core),
    layout: build.layout,
    runningSketchSize: build.runningSketchSize,
    runningFlashMode: build.flashMode,
    embeddedKey: build.embeddedKey,
  });
  const verdict = device.replay(file, { chunk: 1460, expected });
  // the verdict holds no view of the flash: the chip can serve the next replay
  device.flash.release();
  return { core, passed: verdict.accepted && verdict.boots && verdict.bootloaderIntact, verdict };
}
