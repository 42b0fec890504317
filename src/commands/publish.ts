/**
 * `publish`: a successful build's artifacts into `RELEASES/<channel>/<version>/` with release.json,
 * built in a dot-folder beside the channels and renamed into place (a half-published release is
 * never seen by serve); `publish --list` shows what the folder holds.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { errnoCode, UsageError, UserError } from '../errors.js';
import { readUserFile, resolveFrom, writeFileAtomic, type Io } from '../io.js';
import { readArtifact, readManifest } from '../postbuild/manifest.js';
import { readEmbeddedKey } from '../header-gen/read.js';
import { publishable } from '../ota/releases/build.js';
import { makeRelease } from '../ota/releases/publish.js';
import { channelProblem, isPlainFileName, RELEASE_FILE, versionProblem, type ReleaseManifest } from '../ota/releases/release.js';
import { assertReleaseRoot, ReleaseStore } from '../ota/releases/store.js';
import { printJson } from '../report.js';

export interface PublishOptions {
  buildDir?: string;
  projectName?: string;
  version?: string;
  to: string;
  channel?: string;
  /** A filesystem image (mklittlefs/mkspiffs output, signed when the firmware verifies) for updateFS(). */
  filesystem?: string;
  list?: boolean;
  json?: boolean;
}

export function runPublish(opts: PublishOptions, io: Io): number {
  const to = resolveFrom(io, opts.to);
  if (opts.list) return listReleases(to, opts.json ?? false, io);
  if (!opts.buildDir || !opts.projectName || !opts.version) throw new UsageError('publish needs --build-dir, --project-name and --version (or --list).');
  const channel = opts.channel ?? 'stable';
  const vp = versionProblem(opts.version);
  if (vp) throw new UsageError(`--version "${opts.version}" ${vp}.`);
  const cp = channelProblem(channel);
  if (cp) throw new UsageError(`--channel "${channel}" ${cp}.`);

  const buildDir = resolveFrom(io, opts.buildDir);
  // refuses a failed build (no manifest) and a stale one (the .bin changed since postbuild)
  const manifest = readManifest(buildDir, opts.projectName);
  const bin = readArtifact(buildDir, manifest, manifest.input.name);
  const files = new Map<string, Uint8Array>();
  for (const a of publishable(manifest)) {
    // the name becomes a file in the release folder: never a path out of it
    if (!isPlainFileName(a.name)) throw new UserError(`the manifest of ${opts.projectName} names an artifact ${JSON.stringify(a.name)} that is not a plain file name. Rebuild the sketch.`);
    files.set(a.name, readArtifact(buildDir, manifest, a.name));
  }
  const embeddedKey = readEmbeddedKey(buildDir);
  if (manifest.signingEnabledInFirmware && !embeddedKey) {
    throw new UserError(`${join(buildDir, 'core', 'Updater_Signing.h')} is missing, but the manifest says the firmware verifies signatures: publish needs the key the firmware embeds to compute what devices will report. Build again.`);
  }
  const fsPath = opts.filesystem ? resolveFrom(io, opts.filesystem) : null;
  const filesystem = fsPath ? { name: basename(fsPath), bytes: readUserFile(fsPath, 'filesystem image') } : undefined;
  const release = makeRelease({ manifest, bin, files, embeddedKey, version: opts.version, channel, filesystem });
  for (const s of release.skipped) io.stderr(`esp8266-sign: warning: not published: ${s}\n`);
  if (release.manifest.artifacts.length === 0) throw new UserError(`nothing to publish from ${buildDir}: no artifact of ${opts.projectName} installs on the emulated device.`);

  const target = join(to, channel, opts.version);
  prepareRoot(to);
  if (statSync(target, { throwIfNoEntry: false })) {
    throw new UserError(`release ${channel}/${opts.version} already exists in ${to}. Published releases never change (devices may be running it): publish a new version.`);
  }
  const tmp = join(to, `.publish-${randomBytes(6).toString('hex')}`);
  try {
    mkdirSync(tmp);
    for (const f of release.files) writeFileAtomic(join(tmp, f.name), f.bytes);
    writeFileAtomic(join(tmp, RELEASE_FILE), JSON.stringify(release.manifest, null, 2) + '\n');
    mkdirSync(join(to, channel), { recursive: true });
    renameSync(tmp, target);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    if (err instanceof UserError) throw err;
    const code = errnoCode(err);
    if (code === 'ENOTEMPTY' || code === 'EEXIST') throw new UserError(`release ${channel}/${opts.version} was published by someone else meanwhile; publish a new version.`);
    throw new UserError(`cannot write release ${target}: ${(err as Error).message}`);
  }
  io.stderr(`esp8266-sign: published ${release.manifest.project} ${opts.version} on channel ${channel}: ${target}\n`);
  for (const a of release.manifest.artifacts) io.stderr(`  ${a.name}: ${a.size} bytes, x-MD5 ${a.md5}\n`);
  if (opts.json) printJson(io.stdout, { path: target, ...release.manifest });
  return 0;
}

function prepareRoot(to: string): void {
  const st = statSync(to, { throwIfNoEntry: false });
  if (st && !st.isDirectory()) throw new UserError(`--to ${to} is not a folder.`);
  try {
    mkdirSync(to, { recursive: true });
  } catch (err) {
    throw new UserError(`cannot create release folder ${to}: ${(err as Error).message}`);
  }
}

function listReleases(to: string, json: boolean, io: Io): number {
  assertReleaseRoot(to);
  const problems: string[] = [];
  const releases = new ReleaseStore(to, (p) => problems.push(p)).scan();
  const rows = releases.map((r) => summary(r.manifest, r.dir));
  for (const p of problems) io.stderr(`esp8266-sign: warning: ${p}\n`);
  if (json) printJson(io.stdout, { releases: rows, problems });
  else if (rows.length === 0) io.stderr(`esp8266-sign: ${to} holds no releases yet.\n`);
  else for (const r of rows) io.stderr(`${r.channel}/${r.version}  ${r.project}  core ${r.core}  ${r.key ?? 'unsigned'}  ${r.artifacts.join(', ')}\n`);
  return 0;
}

function summary(m: ReleaseManifest, dir: string) {
  return { channel: m.channel, version: m.version, project: m.project, core: m.core, key: m.key?.fingerprint ?? null, path: dir, artifacts: m.artifacts.map((a) => a.name) };
}
