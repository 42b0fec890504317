/**
 * A release from a build: the artifacts a device may be sent, each with the bytes' MD5 and the
 * sketch MD5 the device reports once it runs them. Pure: bytes in, manifest and files out; the
 * publish command writes them to a temporary folder and renames it into place.
 */
import { UserError } from '../../errors.js';
import { profileFor } from '../../emulator/profiles.js';
import type { Layout } from '../../emulator/layouts.js';
import { FLASH_MODES, type FlashMode } from '../../image/image.js';
import { manifestLayout, type Manifest } from '../../postbuild/manifest.js';
import { publishable, sha256Hex } from './build.js';
import { imageFlashSize, sketchMd5PerMode, md5Hex } from './post-install.js';
import { filesystemRejection } from './filesystem.js';
import { RELEASE_FILE, RELEASE_MANIFEST_VERSION, type ReleaseArtifact, type ReleaseManifest } from './release.js';

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
  /** A filesystem image for updateFS() (signed with `sign --filesystem` when the firmware verifies). */
  filesystem?: { name: string; bytes: Uint8Array };
}

export interface Release {
  manifest: ReleaseManifest;
  files: Array<{ name: string; bytes: Uint8Array }>;
  /** Artifacts left out, each with the reason. */
  skipped: string[];
}

/** The filesystem image as a release artifact, after the emulated Updater took it as updateFS() would. */
function filesystemArtifact(input: ReleaseInput, layout: Layout): ReleaseArtifact {
  const { name, bytes } = input.filesystem!;
  const room = layout.fsEnd - layout.fsStart;
  if (room === 0) throw new UserError(`--filesystem ${name}: the build's board has no filesystem (fsStart = fsEnd).`);
  if (bytes.length > room) throw new UserError(`--filesystem ${name} has ${bytes.length} bytes; the build's filesystem holds ${room}. Build the image for this board's layout.`);
  if (input.files.has(name) || name === RELEASE_FILE) throw new UserError(`--filesystem ${name} has the name of another file of the release; rename it.`);
  const rejection = filesystemRejection(bytes, { core: input.manifest.core, layout, runningSketchSize: RUNNING_SKETCH_SIZE, embeddedKey: input.embeddedKey });
  if (rejection) {
    const unsigned = input.embeddedKey ? ' The firmware verifies signatures: sign the image with "esp8266-sign sign --filesystem --bin IMAGE" first.' : '';
    throw new UserError(`--filesystem ${name} would be refused by the device (${rejection}) after it has overwritten the filesystem.${unsigned}`);
  }
  const none = Object.fromEntries(FLASH_MODES.map((m) => [m, null])) as Record<FlashMode, null>;
  return { name, kind: 'filesystem', signature: input.embeddedKey ? (profileFor(input.manifest.core).padding === 'null-oid' ? 'legacy' : 'digestinfo') : null, compressed: false, size: bytes.length, sha256: sha256Hex(bytes), md5: md5Hex(bytes), imageFlashSize: 0, core: input.manifest.core, sketchMd5: none };
}

/** Big enough for the Updater's checks, small enough that any image fits above it. */
const RUNNING_SKETCH_SIZE = 0x2000;

export function makeRelease(input: ReleaseInput): Release {
  const m = input.manifest;
  const layout = manifestLayout(m);
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
    const sketchMd5 = sketchMd5PerMode(bytes, { core, layout, runningSketchSize: RUNNING_SKETCH_SIZE, embeddedKey: signed ? input.embeddedKey : null });
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
  if (input.filesystem) {
    const fs = filesystemArtifact(input, layout);
    artifacts.push(fs);
    files.push({ name: fs.name, bytes: input.filesystem.bytes });
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
