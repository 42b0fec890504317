/**
 * The postbuild manifest (`{project}.manifest.json`): what a successful postbuild proved, read by
 * `upload` and `publish` so they deliver only an artifact that belongs to the current `.bin` and
 * that the emulated device of its core booted.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { makeLayout, parseOffset, type Layout } from '../emulator/layouts.js';
import { readOptionalFile, readUserFile } from '../io.js';

export const MANIFEST_SUFFIX = '.manifest.json';
/** The manifest's name before version 2; removed as a stale artifact. */
export const OLD_MANIFEST_SUFFIX = '.bin.signed.json';
export const MANIFEST_VERSION = 2;

export type ArtifactKind = 'plain' | 'signed' | 'legacy' | 'gzip' | 'gzip-signed';
export type SignatureFormat = 'digestinfo' | 'legacy';

export interface ManifestVerdict {
  core: string;
  passed: boolean;
  stage: string;
  error: { code: number; name: string; text: string } | null;
  cause: string | null;
}

export interface ManifestArtifact {
  name: string;
  kind: ArtifactKind;
  path: string;
  size: number;
  sha256: string;
  ratio: number;
  signature: SignatureFormat | null;
  compressed: boolean;
  /** The signed file this one is the payload of (`.bin.gz` beside `.bin.gz.signed`); not sent alone. */
  payloadOf?: string;
  verdicts: ManifestVerdict[];
}

export interface Manifest {
  tool: 'esp8266-sign';
  toolVersion: string;
  manifestVersion: number;
  project: string;
  core: string;
  build: { flashSize: string; flashSizeBytes: number; flashMode: string; fsStart: string; fsEnd: string };
  input: { name: string; path: string; size: number; sha256: string };
  key: { fingerprint: string; source: string; path: string | null } | null;
  signingEnabledInFirmware: boolean;
  artifacts: ManifestArtifact[];
  /** Per core (the build's, then each fleet member): the artifact a device running it should get. */
  targets: Array<{ core: string; artifact: string | null }>;
  /** The target for the build's own core. */
  upload: string | null;
  warnings: string[];
}

/** The flash layout the build was made for, as its device would have it. */
export function manifestLayout(m: Manifest): Layout {
  return makeLayout(m.build.flashSizeBytes, parseOffset(m.build.fsStart, 'the manifest\'s build.fsStart'), parseOffset(m.build.fsEnd, 'the manifest\'s build.fsEnd'));
}

export function manifestPath(buildDir: string, project: string): string {
  return join(buildDir, project + MANIFEST_SUFFIX);
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * The manifest of `project` in `buildDir`, checked against the `.bin` beside it. Throws a UserError
 * that says what to do when there is none, it is damaged, or the `.bin` changed since (stale).
 */
export function readManifest(buildDir: string, project: string): Manifest {
  const path = manifestPath(buildDir, project);
  const bytes = readOptionalFile(path, 'manifest', 16 * 1024 * 1024);
  if (bytes === undefined) {
    throw new UserError(`${path} does not exist: no successful "esp8266-sign postbuild" of ${project} in ${buildDir}. Build the sketch (with esp8266-sign installed) first.`);
  }
  let m: Manifest;
  try {
    m = JSON.parse(bytes.toString('utf8')) as Manifest;
  } catch {
    throw new UserError(`${path} is not valid JSON. Rebuild the sketch so postbuild writes it again.`);
  }
  if (typeof m !== 'object' || m === null || m.tool !== 'esp8266-sign' || m.manifestVersion !== MANIFEST_VERSION || !Array.isArray(m.artifacts) || typeof m.input?.sha256 !== 'string') {
    throw new UserError(`${path} is not a version ${MANIFEST_VERSION} esp8266-sign manifest. Rebuild the sketch with this version of esp8266-sign.`);
  }
  if (m.project !== project) throw new UserError(`${path} describes project ${JSON.stringify(m.project)}, not ${JSON.stringify(project)}. Rebuild the sketch.`);
  const bin = readUserFile(join(buildDir, m.input.name), 'firmware', 'Rebuild the sketch.');
  if (sha256Hex(bin) !== m.input.sha256) {
    throw new UserError(`${path} is stale: ${m.input.name} changed after postbuild proved its artifacts (a rebuild without esp8266-sign, or a file copied in). Rebuild the sketch so postbuild signs and proves the current .bin.`);
  }
  return m;
}

/** The bytes of one listed artifact, refused when the file on disk is not the one the manifest proved. */
export function readArtifact(buildDir: string, m: Manifest, name: string): Buffer {
  const a = name === m.input.name ? { name, sha256: m.input.sha256 } : m.artifacts.find((x) => x.name === name);
  if (!a) throw new UserError(`${name} is not listed in the manifest of ${m.project}: it was not made or not proven by the last postbuild.`);
  const bytes = readUserFile(join(buildDir, a.name), 'artifact', 'Rebuild the sketch.');
  if (sha256Hex(bytes) !== a.sha256) throw new UserError(`${join(buildDir, a.name)} changed after postbuild proved it. Rebuild the sketch.`);
  return bytes;
}
