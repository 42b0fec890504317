/** What the postbuild stages share: the build's facts, the resolved settings, and what they produced. */
import type { CompressionLevel } from '../compress/gzip.js';
import type { FoundKey } from '../keys/find.js';
import type { PrivateKey } from '../keys/load.js';
import type { Layout } from '../emulator/layouts.js';
import type { SmokeResult } from '../emulator/smoke.js';
import type { FlashMode } from '../image/image.js';
import type { ArtifactKind, SignatureFormat } from './manifest.js';

export type { ArtifactKind } from './manifest.js';

export interface Artifact {
  kind: ArtifactKind;
  name: string;
  path: string;
  bytes: Buffer;
  signature: SignatureFormat | null;
  compressed: boolean;
  /**
   * The core versions a device must run to be sent this file, in order: the first is the one whose
   * verdict decides the build (the build's own core; a 2.5.x device for the legacy file).
   */
  cores: string[];
  results: SmokeResult[];
  /** A payload written beside the artifact that carries it (.bin.gz beside .bin.gz.signed): not replayed. */
  payloadOf?: ArtifactKind;
  /** Whether its file is written (the plain .bin already exists: it is only described). */
  write: boolean;
  /** SHA-256 of `bytes` when signing already computed it (the manifest reuses it). */
  digest?: Buffer;
}

export interface PostbuildSettings {
  /** false, or the deflate level of the .gz artifacts. */
  compress: false | CompressionLevel;
  legacy: boolean;
  fleet: string[];
  strict: boolean;
}

export interface PostbuildContext {
  sketchDir: string;
  buildDir: string;
  project: string;
  core: string;
  flashSize: string;
  flashMode: FlashMode;
  layout: Layout;
  settings: PostbuildSettings;
  binPath: string;
  bin: Buffer;
  /** SHA-256 of `bin`, computed by the first stage that needs it (binDigest()). */
  binDigest?: Buffer;
  /** `signing_pubkey[]` bytes of the header the build compiled; null when signing is off. */
  embeddedKey: Buffer | null;
  privateKey: (PrivateKey & { found: FoundKey }) | null;
  artifacts: Artifact[];
  warnings: string[];
}
