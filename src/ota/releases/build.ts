/**
 * What publish needs from a build folder: the postbuild manifest (v2, see README "manifest"), its
 * artifacts, and proof they belong to the `.bin` on disk. A failed postbuild leaves no manifest;
 * a rebuilt `.bin` without a new postbuild leaves one whose `input.sha256` no longer matches.
 */
import { createHash } from 'node:crypto';
import type { ArtifactKind } from './release.js';
import { ARTIFACT_KINDS, isPlainFileName } from './release.js';

export interface BuildArtifact {
  name: string;
  kind: ArtifactKind;
  size: number;
  sha256: string;
  signature: 'digestinfo' | 'legacy' | null;
  compressed: boolean;
  payloadOf?: string;
  verdicts: Array<{ core: string; passed: boolean }>;
}

export interface BuildManifest {
  project: string;
  core: string;
  build: { flashSize: string; flashSizeBytes: number; flashMode: string; fsStart: string; fsEnd: string };
  input: { name: string; size: number; sha256: string };
  key: { fingerprint: string } | null;
  signingEnabledInFirmware: boolean;
  artifacts: BuildArtifact[];
}

export const manifestName = (project: string) => `${project}.manifest.json`;

/** Checks the parts of a v2 manifest publish relies on; the problem as the end of a sentence. */
export function validateBuildManifest(value: unknown, project: string): BuildManifest | string {
  const o = value as Record<string, unknown>;
  if (typeof o !== 'object' || o === null || o.tool !== 'esp8266-sign') return 'is not an esp8266-sign manifest';
  if (o.manifestVersion !== 2) return `has manifestVersion ${JSON.stringify(o.manifestVersion)}; this publish reads version 2 (rerun postbuild with this esp8266-sign)`;
  if (o.project !== project) return `is for project ${JSON.stringify(o.project)}, not ${project}`;
  const input = o.input as Record<string, unknown> | undefined;
  if (!input || typeof input.name !== 'string' || typeof input.sha256 !== 'string' || !isPlainFileName(input.name)) return 'has no valid "input" (name, sha256)';
  const build = o.build as Record<string, unknown> | undefined;
  if (!build || !Number.isSafeInteger(build.flashSizeBytes) || typeof build.flashMode !== 'string' || typeof build.fsStart !== 'string' || typeof build.fsEnd !== 'string') return 'has no valid "build" (flashSizeBytes, flashMode, fsStart, fsEnd)';
  if (typeof o.core !== 'string') return 'has no "core"';
  if (!Array.isArray(o.artifacts)) return 'lists no artifacts';
  for (const a of o.artifacts as Array<Record<string, unknown>>) {
    if (typeof a?.name !== 'string' || !isPlainFileName(a.name)) return `names an artifact ${JSON.stringify(a?.name)} that is not a plain file name`;
    if (!ARTIFACT_KINDS.includes(a.kind as ArtifactKind)) return `gives ${a.name} an unknown kind ${JSON.stringify(a.kind)}`;
    if (typeof a.sha256 !== 'string' || !Array.isArray(a.verdicts)) return `gives ${a.name} no sha256 or verdicts`;
  }
  return o as unknown as BuildManifest;
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * The artifacts worth publishing: each passed on the build's own core (a payload such as the
 * `.bin.gz` inside a `.bin.gz.signed` counts with its carrier) and is bytes the manifest describes.
 */
export function publishable(m: BuildManifest): BuildArtifact[] {
  const passedOwn = (a: BuildArtifact): boolean => {
    if (a.payloadOf) {
      const carrier = m.artifacts.find((x) => x.name === a.payloadOf);
      return carrier !== undefined && carrier !== a && passedOwn(carrier);
    }
    // a build without a key lists its .bin as `plain`; publish replays it anyway (post-install MD5)
    return a.verdicts[0]?.passed ?? a.kind === 'plain';
  };
  return m.artifacts.filter(passedOwn);
}
