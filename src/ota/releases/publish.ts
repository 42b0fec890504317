/**
 * A release from a build: the artifacts a device may be sent, each with the bytes' MD5 and the
 * sketch MD5 the device reports once it runs them. Pure: bytes in, manifest and files out; the
 * publish command writes them to a temporary folder and renames it into place.
 */
import { makeLayout, parseOffset } from '../../emulator/layouts.js';
import { FLASH_MODES, type FlashMode } from '../../image/image.js';
import type { Manifest } from '../../postbuild/manifest.js';
import { publishable, sha256Hex } from './build.js';
import { imageFlashSize, installedSketchMd5s, md5Hex } from './post-install.js';
import { RELEASE_MANIFEST_VERSION, type ReleaseArtifact, type ReleaseManifest } from './release.js';

export interface ReleaseInput {
  manifest: Manifest;
  /** The `.bin` on disk, already checked against `manifest.input.sha256`. */
  bin: Uint8Array;
  /** Bytes of each artifact the manifest lists, by name. */
  files: Map<string, Uint8Array>;
  /** The key compiled into the firmware (build/core/Updater_Signing.h); null without signing. */
  embeddedKey: Uint8Array | null;
  version: string;
  channel: string;
}

export interface Release {
  manifest: ReleaseManifest;
  files: Array<{ name: string; bytes: Uint8Array }>;
  /** Artifacts left out, each with the reason. */
  skipped: string[];
}

/** Big enough for the Updater's checks, small enough that any image fits above it. */
const RUNNING_SKETCH_SIZE = 0x2000;

export function makeRelease(input: ReleaseInput): Release {
  const m = input.manifest;
  const layout = makeLayout(m.build.flashSizeBytes, parseOffset(m.build.fsStart, 'the manifest\'s build.fsStart'), parseOffset(m.build.fsEnd, 'the manifest\'s build.fsEnd'));
  const flashSize = imageFlashSize(input.bin);
  if (flashSize === null) throw new Error(`${m.input.name} is not an ESP8266 image`);
  const artifacts: ReleaseArtifact[] = [];
  const files: Release['files'] = [];
  const skipped: string[] = [];
  for (const a of publishable(m)) {
    const bytes = input.files.get(a.name);
    if (!bytes) throw new Error(`${a.name} was not read`);
    const core = a.verdicts[0]?.core ?? m.core;
    const signed = a.signature !== null;
    const sketchMd5 = installedSketchMd5s(bytes, { core, layout, runningSketchSize: RUNNING_SKETCH_SIZE, embeddedKey: signed ? input.embeddedKey : null });
    if (FLASH_MODES.every((mode) => sketchMd5[mode] === null)) {
      skipped.push(`${a.name}: it does not install on an emulated core ${core} device in any flash mode`);
      continue;
    }
    artifacts.push({
      name: a.name,
      kind: a.kind,
      signature: a.signature,
      compressed: a.compressed,
      size: bytes.length,
      sha256: sha256Hex(bytes),
      md5: md5Hex(bytes),
      imageFlashSize: flashSize,
      core,
      sketchMd5,
    });
    files.push({ name: a.name, bytes });
  }
  const manifest: ReleaseManifest = {
    tool: 'esp8266-sign',
    releaseManifestVersion: RELEASE_MANIFEST_VERSION,
    project: m.project,
    version: input.version,
    channel: input.channel,
    core: m.core,
    key: m.key ? { fingerprint: m.key.fingerprint } : null,
    signingEnabledInFirmware: m.signingEnabledInFirmware,
    build: { flashSize: m.build.flashSize, flashSizeBytes: m.build.flashSizeBytes, flashMode: m.build.flashMode as FlashMode, fsStart: m.build.fsStart, fsEnd: m.build.fsEnd },
    input: { name: m.input.name, size: input.bin.length, sha256: m.input.sha256 },
    artifacts,
  };
  return { manifest, files, skipped };
}
