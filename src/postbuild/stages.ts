/**
 * The postbuild stages, each a small function over the shared context (DESIGN.md: postbuild).
 * Order: stale artifacts → keys → pair → key embedded in the .bin → sign and smoke-test the
 * uncompressed artifacts → compress → sign and smoke-test those.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { UserError } from '../errors.js';
import { gzipForDevice } from '../compress/gzip.js';
import { MANIFEST_SUFFIX, OLD_MANIFEST_SUFFIX, type ArtifactKind, type SignatureFormat } from './manifest.js';
import { profileFor } from '../emulator/profiles.js';
import { smokeTest } from '../emulator/smoke.js';
import { assertPairMatches, checkDeviceKey } from '../keys/check.js';
import { findKey } from '../keys/find.js';
import { parsePrivateKey, parsePublicKey } from '../keys/load.js';
import { readPassphrase } from '../keys/passphrase.js';
import { appendSignature, sha256, signDigestInfo, signLegacy } from '../signing/sign.js';
import { headerPath } from '../prebuild/prebuild.js';
import type { Artifact, PostbuildContext } from './context.js';

export const ARTIFACT_SUFFIXES: Record<ArtifactKind, string> = {
  plain: '.bin',
  signed: '.bin.signed',
  legacy: '.bin.legacy_sig',
  gzip: '.bin.gz',
  'gzip-signed': '.bin.gz.signed',
};

/** What postbuild writes, so what an earlier build may have left: every artifact but the .bin, and the manifests. */
export const WRITTEN_SUFFIXES = [...Object.values(ARTIFACT_SUFFIXES).filter((s) => s !== '.bin'), MANIFEST_SUFFIX, OLD_MANIFEST_SUFFIX];

/**
 * espota uploads `<bin>.signed` whenever it exists: nothing from an earlier build may survive. A
 * folder where an artifact belongs is not ours to delete: every file goes, then that is an error.
 */
export function removeStaleArtifacts(buildDir: string, project: string): string[] {
  const removed: string[] = [];
  const folders: string[] = [];
  for (const suffix of WRITTEN_SUFFIXES) {
    const p = join(buildDir, project + suffix);
    let st;
    try {
      st = lstatSync(p);
    } catch {
      continue;
    }
    if (st.isDirectory()) {
      folders.push(p);
      continue;
    }
    try {
      rmSync(p, { force: true });
      removed.push(p);
    } catch (err) {
      throw new UserError(`cannot remove ${p}, left by an earlier build: ${(err as Error).message}. An uploader would take it for this build's; remove it by hand.`);
    }
  }
  if (folders.length) throw new UserError(`${folders.join(', ')} ${folders.length === 1 ? 'is a folder' : 'are folders'} where postbuild writes its artifacts. Move ${folders.length === 1 ? 'it' : 'them'} out of the build folder and build again.`);
  return removed;
}

export function loadPrivateKey(ctx: PostbuildContext, opts: { privateKey?: string; passphraseFile?: string; settingsKey?: string }, env: NodeJS.ProcessEnv, cwd: string): string[] {
  const { found, looked } = findKey('private', { option: opts.privateKey, settings: opts.settingsKey, sketchDir: ctx.sketchDir, env, cwd });
  if (!found) return looked;
  const where = found.path ?? found.source;
  const key = parsePrivateKey(found.bytes, where, readPassphrase(env, opts.passphraseFile));
  ctx.warnings.push(...checkDeviceKey(key.key, where).warnings);
  ctx.privateKey = { ...key, found };
  if (found.path && found.source === 'the sketch folder') ctx.warnings.push(...sketchKeyWarnings(found.path, ctx.sketchDir, env));
  return looked;
}

/** A private key next to the sketch is easy to leak: say so when git tracks it or others can read it. */
function sketchKeyWarnings(path: string, sketchDir: string, env: NodeJS.ProcessEnv): string[] {
  const out: string[] = [];
  if (process.platform !== 'win32' && (statSync(path).mode & 0o077) !== 0) {
    out.push(`private key ${path} is readable by other users; run: chmod 600 "${path}"`);
  }
  const git = mayBeInGit(sketchDir, env) ? spawnSync('git', ['ls-files', '--error-unmatch', path], { cwd: sketchDir, stdio: 'ignore' }) : null;
  if (git?.status === 0) out.push(`private key ${path} is tracked by git: anyone with the repository can sign firmware for your devices. Move it out of the sketch (ESP8266_SIGN_KEYS_DIR) and rotate it.`);
  return out;
}

/** A .git above the folder, or GIT_DIR: only then can git track the key (starting git costs a build 5-10 ms). */
function mayBeInGit(dir: string, env: NodeJS.ProcessEnv): boolean {
  if (env.GIT_DIR) return true;
  for (let d = resolve(dir); ; d = dirname(d)) {
    if (existsSync(join(d, '.git'))) return true;
    if (dirname(d) === d) return false;
  }
}

export function checkKeys(ctx: PostbuildContext, looked: string[]): void {
  if (ctx.embeddedKey && !ctx.privateKey) {
    throw new UserError(`the firmware was built with signing enabled (${headerPath(ctx.buildDir)}), but no private key was found, so every device running it would reject this and every later update. Looked in: ${looked.join('; ')}. Put private.key next to the sketch, or set ESP8266_SIGN_PRIVATE_KEY / ESP8266_SIGN_PRIVATE_KEY_PEM / ESP8266_SIGN_KEYS_DIR.`);
  }
  if (ctx.privateKey && ctx.embeddedKey) {
    const embedded = parsePublicKey(ctx.embeddedKey, 'the public key compiled into the firmware');
    if (!embedded) throw new UserError(`the public key in ${headerPath(ctx.buildDir)} cannot be read; rebuild so the prebuild step rewrites it.`);
    assertPairMatches(ctx.privateKey.found.path ?? ctx.privateKey.found.source, ctx.privateKey.publicKey, 'compiled into the firmware (from public.key)', embedded.key);
  }
  if (ctx.privateKey && !ctx.embeddedKey) {
    ctx.warnings.push(`the firmware was built without a public key (no Updater_Signing.h with ARDUINO_SIGNING 1): devices running it accept unsigned updates too. Signing anyway for devices that do verify.`);
  }
}

/** The header's key bytes must occur in the .bin, or the compiler never saw the header (#7393, arduino-pico#783). */
export function checkKeyEmbedded(ctx: PostbuildContext): void {
  if (ctx.embeddedKey && ctx.bin.indexOf(ctx.embeddedKey) === -1) {
    throw new UserError(`${ctx.binPath} does not contain the public key from ${headerPath(ctx.buildDir)}: the Updater in this firmware will not verify with it. Likely cause: a core compiled earlier without signing was reused from the build cache, or {build.path}/core is not on the include path. Fix: do a clean build (delete the build folder, or arduino-cli compile --clean).`);
  }
}

function artifact(ctx: PostbuildContext, kind: ArtifactKind, bytes: Buffer, cores: string[], signature: SignatureFormat | null): Artifact {
  const name = ctx.project + ARTIFACT_SUFFIXES[kind];
  return { kind, name, path: join(ctx.buildDir, name), bytes, signature, compressed: kind === 'gzip' || kind === 'gzip-signed', cores, results: [], write: kind !== 'plain' };
}

/** Why compression is refused for this build's core, or null. Reads the profile, not the number. */
export function compressionRefusal(core: string, signing: boolean): string | null {
  const p = profileFor(core);
  if (!p.gzip) return `cores ${p.releases} cannot decompress updates (eboot learnt gzip in 2.7.0)`;
  if (signing && !p.trimAfterVerify) return `a signed gzip destroys the bootloader of ${p.releases} devices (eboot reads the signature length as the gzip size, #7570)`;
  return null;
}

/** The signature a device running `core` verifies: the bare digest on 2.5.x, DigestInfo from 2.6.0. */
export function signatureFormatFor(core: string): SignatureFormat {
  return profileFor(core).padding === 'null-oid' ? 'legacy' : 'digestinfo';
}

/** The build's core, then each fleet member once. */
export function coresOf(ctx: PostbuildContext): string[] {
  return [...new Set([ctx.core, ...ctx.settings.fleet])];
}

function fleetOf(ctx: PostbuildContext): string[] {
  return coresOf(ctx).slice(1);
}

/** A 2.5.x device stands in for the legacy file's own check when no fleet member runs 2.5.x. */
const LEGACY_DEVICE = '2.5.2';

/**
 * `{project}.bin.signed` in the format the build's own core verifies (legacy on 2.5.x, as 2.5.x's
 * signing.py wrote it; DigestInfo from 2.6.0), and (unless turned off) `{project}.bin.legacy_sig`
 * for 2.5.x devices. On a 2.5.x build the legacy file would hold the same bytes, so it is not written.
 */
export function signArtifacts(ctx: PostbuildContext): Artifact[] {
  const key = ctx.privateKey?.key;
  if (!key) return [];
  const digest = binDigest(ctx);
  const sign = (format: SignatureFormat) => appendSignature(ctx.bin, format === 'legacy' ? signLegacy(digest, key) : signDigestInfo(digest, key));
  const own = signatureFormatFor(ctx.core);
  const cores = coresOf(ctx);
  const made = [artifact(ctx, 'signed', sign(own), cores.filter((c) => signatureFormatFor(c) === own), own)];
  if (ctx.settings.legacy && own !== 'legacy') {
    const legacyCores = fleetOf(ctx).filter((c) => signatureFormatFor(c) === 'legacy');
    made.push(artifact(ctx, 'legacy', sign('legacy'), legacyCores.length ? legacyCores : [LEGACY_DEVICE], 'legacy'));
  }
  ctx.artifacts.push(...made);
  return made;
}

/** A build without a key: the .bin itself is what devices get; it is described and replayed, not copied. */
export function plainArtifact(ctx: PostbuildContext): Artifact {
  const a = { ...artifact(ctx, 'plain', ctx.bin, coresOf(ctx), null), digest: binDigest(ctx) };
  ctx.artifacts.push(a);
  return a;
}

/** SHA-256 of the .bin, hashed once for signing and the manifest. */
export function binDigest(ctx: PostbuildContext): Buffer {
  return (ctx.binDigest ??= sha256(ctx.bin));
}

/**
 * The .bin as gzip at the chosen level when compression is on and the build's core may receive
 * it; null (with a warning when refused) otherwise. One stream on this thread: with our engine a
 * worker and a split stream no longer pay for themselves (issue 10).
 */
export function compress(ctx: PostbuildContext): Buffer | null {
  if (!ctx.settings.compress) return null;
  const refusal = compressionRefusal(ctx.core, Boolean(ctx.privateKey));
  if (refusal) {
    ctx.warnings.push(`not compressing: ${refusal}.`);
    return null;
  }
  return gzipForDevice(ctx.bin, { level: ctx.settings.compress, alignTo4: true });
}

/** `{project}.bin.gz` and, with a key, `{project}.bin.gz.signed`, from the finished gzip. */
export function compressedArtifacts(ctx: PostbuildContext, gz: Buffer): Artifact[] {
  if (gz.length >= ctx.bin.length) {
    ctx.warnings.push(`not compressing: gzip would not make ${ctx.project}.bin smaller.`);
    return [];
  }
  const key = ctx.privateKey?.key;
  const gzCores = coresOf(ctx).filter((c) => compressionRefusal(c, Boolean(key)) === null);
  const digest = sha256(gz);
  const made = key
    ? [artifact(ctx, 'gzip-signed', appendSignature(gz, signDigestInfo(digest, key)), gzCores, 'digestinfo'), { ...artifact(ctx, 'gzip', gz, [], null), payloadOf: 'gzip-signed' as const, digest }]
    : [{ ...artifact(ctx, 'gzip', gz, gzCores, null), digest }];
  ctx.artifacts.push(...made);
  return made;
}

/** Which artifact a device of each core should get: the first that boots there, smallest first. */
const PREFERENCE: readonly ArtifactKind[] = ['gzip-signed', 'signed', 'legacy', 'gzip', 'plain'];

export function targetsOf(ctx: PostbuildContext): Array<{ core: string; artifact: Artifact | null }> {
  const ranked = [...ctx.artifacts].filter((a) => !a.payloadOf).sort((a, b) => PREFERENCE.indexOf(a.kind) - PREFERENCE.indexOf(b.kind));
  return coresOf(ctx).map((core) => ({ core, artifact: ranked.find((a) => a.results.some((r) => r.core === core && r.passed)) ?? null }));
}

/** Replays each artifact on the device of every core it is meant for. */
export function smokeTestArtifacts(ctx: PostbuildContext, artifacts: Artifact[]): void {
  for (const a of artifacts) {
    for (const core of a.cores) {
      a.results.push(smokeTest(a.bytes, core, {
        layout: ctx.layout,
        flashMode: ctx.flashMode,
        runningSketchSize: ctx.bin.length,
        embeddedKey: ctx.embeddedKey,
      }, ctx.bin));
    }
  }
}
