/**
 * Which file an upload sends, and the facts of the build that made it: from the postbuild
 * manifest (src/postbuild/manifest.ts) when there is one. Only an artifact the manifest lists for
 * the `.bin` now on disk is sent; a stale manifest (the `.bin` rebuilt since) is refused there.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { UserError } from '../errors.js';
import { readUserFile } from '../io.js';
import { MANIFEST_SUFFIX, readArtifact, readManifest, type Manifest } from '../postbuild/manifest.js';

export interface ChosenArtifact {
  path: string;
  bytes: Buffer;
  manifest: Manifest | null;
  buildDir: string | null;
}

/** `--build-dir D --project-name P`: the manifest's `upload`, or its target for another `--core`. */
export function artifactFromBuild(buildDir: string, project: string, core?: string): ChosenArtifact {
  const m = readManifest(buildDir, project);
  let name = m.upload;
  if (core && core !== m.core) {
    const t = m.targets.find((x) => x.core === core);
    if (!t) throw new UserError(`${project}${MANIFEST_SUFFIX} has no artifact proven for core ${core} (the build is for ${m.core}). Add the core to the build's fleet (ESP8266_SIGN_FLEET or --fleet), or upload for the build's core.`);
    if (!t.artifact) throw new UserError(`no artifact of this build boots on a core ${core} device (see ${project}${MANIFEST_SUFFIX}).`, 3);
    name = t.artifact;
  }
  if (!name) throw new UserError(`${project}${MANIFEST_SUFFIX} names no artifact to upload: no artifact of the build boots on its own core.`, 3);
  return { path: join(buildDir, name), bytes: readArtifact(buildDir, m, name), manifest: m, buildDir };
}

/** The project and artifact names a manifest file claims, before the full check (null: not one). */
function peek(path: string): { project: string; input: string; upload: string | null; names: string[] } | null {
  try {
    const m = JSON.parse(readFileSync(path, 'utf8')) as Partial<Manifest>;
    if (typeof m.project !== 'string' || !Array.isArray(m.artifacts) || typeof m.input?.name !== 'string') return null;
    return { project: m.project, input: m.input.name, upload: m.upload ?? null, names: m.artifacts.map((a) => a.name) };
  } catch {
    return null;
  }
}

/** FILE: the file itself; the manifest beside it, when one lists it, supplies the build's facts. */
export function artifactFromFile(path: string): ChosenArtifact {
  const bytes = readUserFile(path, 'file');
  if (bytes.length === 0) throw new UserError(`file ${path} is empty: there is nothing to upload.`);
  const dir = dirname(path);
  const name = basename(path);
  let manifests: string[] = [];
  try {
    manifests = readdirSync(dir).filter((n) => n.endsWith(MANIFEST_SUFFIX));
  } catch {
    // a folder we cannot list has no manifest for us
  }
  for (const file of manifests) {
    const claim = peek(join(dir, file));
    if (!claim) continue;
    if (claim.names.includes(name)) {
      const m = readManifest(dir, claim.project);
      return { path, bytes: readArtifact(dir, m, name), manifest: m, buildDir: dir };
    }
    // espota would swap in `<file>.signed` unasked; we say which file the build proved instead
    if (claim.input === name && claim.upload && claim.upload !== name) {
      throw new UserError(`${path} is the unsigned image of a build that proved ${join(dir, claim.upload)} for upload. Upload that file, or use --build-dir "${dir}" --project-name "${claim.project}".`);
    }
  }
  return { path, bytes, manifest: null, buildDir: null };
}
