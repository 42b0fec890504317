/**
 * The postbuild stages, each a small function over the shared context (DESIGN.md: postbuild).
 * Order: stale artifacts → keys → pair → key embedded in the .bin → sign and smoke-test the
 * uncompressed artifacts → compress → sign and smoke-test those.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { gzipForDevice } from '../compress/gzip.js';
import { profileFor } from '../emulator/profiles.js';
import { smokeTest } from '../emulator/smoke.js';
import { assertPairMatches, checkDeviceKey } from '../keys/check.js';
import { findKey } from '../keys/find.js';
import { parsePrivateKey, parsePublicKey } from '../keys/load.js';
import { readPassphrase } from '../keys/passphrase.js';
import { appendSignature, sha256, signDigestInfo, signLegacy } from '../signing/sign.js';
import { headerPath } from '../prebuild/prebuild.js';
import { parseHeader } from '../header-gen/header.js';
import type { Artifact, ArtifactKind, PostbuildContext } from './context.js';

export const ARTIFACT_SUFFIXES: Record<ArtifactKind, string> = {
  signed: '.bin.signed',
  legacy: '.bin.legacy_sig',
  gzip: '.bin.gz',
  'gzip-signed': '.bin.gz.signed',
};
export const MANIFEST_SUFFIX = '.bin.signed.json';

/** espota uploads `<bin>.signed` whenever it exists: nothing from an earlier build may survive. */
export function removeStaleArtifacts(buildDir: string, project: string): string[] {
  const removed: string[] = [];
  for (const suffix of [...Object.values(ARTIFACT_SUFFIXES), MANIFEST_SUFFIX]) {
    const p = join(buildDir, project + suffix);
    try {
      statSync(p);
      rmSync(p, { force: true });
      removed.push(p);
    } catch {
      // not there
    }
  }
  return removed;
}

/** The key bytes of the header the build compiled, or null when it says ARDUINO_SIGNING 0 / is missing. */
export function readEmbeddedKey(buildDir: string): Buffer | null {
  let text: string;
  try {
    text = readFileSync(headerPath(buildDir), 'latin1');
  } catch {
    return null;
  }
  return parseHeader(text);
}

export function loadPrivateKey(ctx: PostbuildContext, opts: { privateKey?: string; passphraseFile?: string; settingsKey?: string }, env: NodeJS.ProcessEnv, cwd: string): string[] {
  const { found, looked } = findKey('private', { option: opts.privateKey, settings: opts.settingsKey, sketchDir: ctx.sketchDir, env, cwd });
  if (!found) return looked;
  const where = found.path ?? found.source;
  const key = parsePrivateKey(found.bytes, where, readPassphrase(env, opts.passphraseFile));
  ctx.warnings.push(...checkDeviceKey(key.key, where).warnings);
  ctx.privateKey = { ...key, found };
  if (found.path && found.source === 'the sketch folder') ctx.warnings.push(...sketchKeyWarnings(found.path, ctx.sketchDir));
  return looked;
}

/** A private key next to the sketch is easy to leak: say so when git tracks it or others can read it. */
function sketchKeyWarnings(path: string, sketchDir: string): string[] {
  const out: string[] = [];
  if (process.platform !== 'win32' && (statSync(path).mode & 0o077) !== 0) {
    out.push(`private key ${path} is readable by other users; run: chmod 600 "${path}"`);
  }
  const git = spawnSync('git', ['ls-files', '--error-unmatch', path], { cwd: sketchDir, stdio: 'ignore' });
  if (git.status === 0) out.push(`private key ${path} is tracked by git: anyone with the repository can sign firmware for your devices. Move it out of the sketch (ESP8266_SIGN_KEYS_DIR) and rotate it.`);
  return out;
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

function artifact(ctx: PostbuildContext, kind: ArtifactKind, bytes: Buffer, cores: string[]): Artifact {
  const name = ctx.project + ARTIFACT_SUFFIXES[kind];
  return { kind, name, path: join(ctx.buildDir, name), bytes, cores, results: [] };
}

/** Why compression is refused for this build's core, or null. Reads the profile, not the number. */
export function compressionRefusal(core: string, signing: boolean): string | null {
  const p = profileFor(core);
  if (!p.gzip) return `cores ${p.releases} cannot decompress updates (eboot learnt gzip in 2.7.0)`;
  if (signing && !p.trimAfterVerify) return `a signed gzip destroys the bootloader of ${p.releases} devices (eboot reads the signature length as the gzip size, #7570)`;
  return null;
}

/** `{project}.bin.signed` and (unless turned off) `{project}.bin.legacy_sig`. */
export function signArtifacts(ctx: PostbuildContext): Artifact[] {
  const key = ctx.privateKey?.key;
  if (!key) return [];
  const digest = binDigest(ctx);
  const made = [artifact(ctx, 'signed', appendSignature(ctx.bin, signDigestInfo(digest, key)), [ctx.core, ...fleetOf(ctx)])];
  if (ctx.settings.legacy) made.push(artifact(ctx, 'legacy', appendSignature(ctx.bin, signLegacy(digest, key)), ['2.5.2']));
  ctx.artifacts.push(...made);
  return made;
}

/** SHA-256 of the .bin, hashed once for signing and the manifest. */
export function binDigest(ctx: PostbuildContext): Buffer {
  return (ctx.binDigest ??= sha256(ctx.bin));
}

function fleetOf(ctx: PostbuildContext): string[] {
  return ctx.settings.fleet.filter((c) => c !== ctx.core);
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
  const fleet = fleetOf(ctx);
  const gzFleet = fleet.filter((c) => compressionRefusal(c, Boolean(key)) === null);
  for (const c of fleet.filter((c) => !gzFleet.includes(c))) ctx.warnings.push(`${ctx.project}.bin.gz${key ? '.signed' : ''} must not be sent to core ${c} devices: ${compressionRefusal(c, Boolean(key))}.`);
  const digest = sha256(gz);
  const made = key
    ? [artifact(ctx, 'gzip-signed', appendSignature(gz, signDigestInfo(digest, key)), [ctx.core, ...gzFleet]), { ...artifact(ctx, 'gzip', gz, []), payloadOf: 'gzip-signed' as const, digest }]
    : [{ ...artifact(ctx, 'gzip', gz, [ctx.core, ...gzFleet]), digest }];
  ctx.artifacts.push(...made);
  return made;
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
