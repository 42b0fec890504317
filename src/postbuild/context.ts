/** What the postbuild stages share: the build's facts, the resolved settings, and what they produced. */
import type { CompressionLevel } from '../compress/gzip.js';
import type { FoundKey } from '../keys/find.js';
import type { PrivateKey } from '../keys/load.js';
import type { Layout } from '../emulator/layouts.js';
import type { SmokeResult } from '../emulator/smoke.js';
import type { FlashMode } from '../image/image.js';

export type ArtifactKind = 'signed' | 'legacy' | 'gzip' | 'gzip-signed';

export interface Artifact {
  kind: ArtifactKind;
  name: string;
  path: string;
  bytes: Buffer;
  /** The core versions it is proven on; the build's own first. */
  cores: string[];
  results: SmokeResult[];
  /** A payload written beside the artifact that carries it (.bin.gz beside .bin.gz.signed). */
  payloadOf?: ArtifactKind;
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
