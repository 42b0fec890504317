/**
 * Which file an upload sends, and the facts of the build that made it: from the postbuild
 * manifest (v2, briefs/manifest.md) when there is one. Only an artifact the manifest lists for the
 * `.bin` now on disk is sent; a manifest older than its `.bin` is refused.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { UserError } from '../errors.js';
import { readUserFile } from '../io.js';

export interface ManifestArtifact {
  name: string;
  kind: string;
  size: number;
  sha256: string;
  compressed?: boolean;
  payloadOf?: string;
  verdicts: Array<{ core: string; passed: boolean; stage: string; cause: string | null }>;
}

export interface Manifest {
  manifestVersion: number;
  project: string;
  core: string;
  build: { flashSize: string; flashSizeBytes: number; flashMode: string; fsStart: string; fsEnd: string };
  input: { name: string; size: number; sha256: string };
  key: { fingerprint: string } | null;
  signingEnabledInFirmware: boolean;
  artifacts: ManifestArtifact[];
  targets: Array<{ core: string; artifact: string | null }>;
  upload: string | null;
}

export const manifestName = (project: string) => `${project}.manifest.json`;

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

export function readManifest(buildDir: string, project: string): Manifest {
  const path = join(buildDir, manifestName(project));
  const text = readUserFile(path, 'manifest', `Build the sketch (postbuild writes it), or check --build-dir and --project-name.`).toString('utf8');
  let m: Manifest;
  try {
    m = JSON.parse(text) as Manifest;
  } catch {
    throw new UserError(`manifest ${path} is not valid JSON. Rebuild the sketch so postbuild writes it again.`);
  }
  if (typeof m !== 'object' || m === null || m.manifestVersion !== 2 || !Array.isArray(m.artifacts) || typeof m.input?.sha256 !== 'string' || typeof m.build?.flashSizeBytes !== 'number') {
    throw new UserError(`manifest ${path} is not an esp8266-sign manifest (version 2). Rebuild the sketch with this version of esp8266-sign.`);
  }
  return m;
}

export interface ChosenArtifact {
  path: string;
  bytes: Buffer;
  manifest: Manifest | null;
  buildDir: string | null;
  /** The unsigned image the device should end up with (the build's .bin), when known. */
  bin: Buffer | null;
}

/** Refuses a manifest whose `.bin` was rebuilt since (a compile without a successful postbuild). */
function currentBin(buildDir: string, m: Manifest): Buffer {
  const binPath = join(buildDir, m.input.name);
  const bin = readUserFile(binPath, 'firmware', 'The manifest names it; rebuild the sketch.');
  if (sha256(bin) !== m.input.sha256) {
    throw new UserError(`${binPath} changed after postbuild wrote ${manifestName(m.project)}: its artifacts belong to an older build (stale). Rebuild the sketch so postbuild signs and checks the new .bin.`);
  }
  return bin;
}

function listed(buildDir: string, m: Manifest, name: string): Buffer {
  const entry = m.artifacts.find((a) => a.name === name);
  const path = join(buildDir, name);
  if (!entry) throw new UserError(`${path} is not an artifact of ${manifestName(m.project)}: only what postbuild proved is uploaded.`);
  const bytes = readUserFile(path, 'artifact', 'The manifest lists it; rebuild the sketch.');
  if (sha256(bytes) !== entry.sha256) throw new UserError(`${path} changed after postbuild checked it. Rebuild the sketch.`);
  return bytes;
}

/** `--build-dir D --project-name P`: the manifest's `upload`, or its target for another `--core`. */
export function artifactFromBuild(buildDir: string, project: string, core?: string): ChosenArtifact {
  const m = readManifest(buildDir, project);
  const bin = currentBin(buildDir, m);
  let name = m.upload;
  if (core && core !== m.core) {
    const t = m.targets?.find((x) => x.core === core);
    if (!t) throw new UserError(`${manifestName(project)} has no artifact proven for core ${core} (built for ${m.core}). Add it to the build's fleet (--fleet ${core}) or upload with the build's core.`);
    if (!t.artifact) throw new UserError(`no artifact of this build boots on a core ${core} device (see ${manifestName(project)}).`, 3);
    name = t.artifact;
  }
  if (!name) throw new UserError(`${manifestName(project)} names no artifact to upload.`);
  return { path: join(buildDir, name), bytes: listed(buildDir, m, name), manifest: m, buildDir, bin };
}

/** FILE: the file itself; the manifest beside it, when one lists it, supplies the build's facts. */
export function artifactFromFile(path: string): ChosenArtifact {
  const bytes = readUserFile(path, 'file');
  if (bytes.length === 0) throw new UserError(`file ${path} is empty: there is nothing to upload.`);
  const dir = dirname(path);
  const name = basename(path);
  let names: string[] = [];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.manifest.json'));
  } catch {
    // a folder we cannot list has no manifest for us
  }
  for (const n of names) {
    let m: Manifest;
    try {
      m = JSON.parse(readFileSync(join(dir, n), 'utf8')) as Manifest;
    } catch {
      continue;
    }
    if (m?.manifestVersion !== 2 || !Array.isArray(m.artifacts)) continue;
    if (!m.artifacts.some((a) => a.name === name)) {
      // espota would swap in `<file>.signed` unasked; we say which file the build proved instead
      if (m.input?.name === name && m.upload && m.upload !== name) throw new UserError(`${path} is the unsigned image of a build that proved ${join(dir, m.upload)} for upload. Upload that file, or use --build-dir "${dir}" --project-name "${m.project}".`);
      continue;
    }
    const manifest = readManifest(dir, m.project);
    const bin = currentBin(dir, manifest);
    return { path, bytes: listed(dir, manifest, name), manifest, buildDir: dir, bin };
  }
  return { path, bytes, manifest: null, buildDir: null, bin: null };
}
