/**
 * The postbuild hook (the objcopy step after the .bin exists): one pipeline of the stages in
 * stages.ts; an artifact reaches its final name only when the device of the build's own core
 * version accepts, stages, copies and boots it.
 */
import { resolve } from 'node:path';
import type { CompressionLevel } from '../compress/gzip.js';
import { ExitCode, UsageError, UserError } from '../errors.js';
import { readUserFile, resolveFrom, writeFileAtomic, type Io } from '../io.js';
import { makeLayout, parseFlashSize, parseOffset } from '../emulator/layouts.js';
import { profileFor } from '../emulator/profiles.js';
import { formatVerdict } from '../commands/device.js';
import { parseFlashMode } from '../image/image.js';
import { describeFirmwareProblem } from '../image/kind.js';
import { fingerprint } from '../keys/check.js';
import { describeFile, printJson } from '../report.js';
import { readSettings } from '../settings.js';
import type { Artifact, PostbuildContext, PostbuildSettings } from './context.js';
import { binDigest, checkKeyEmbedded, checkKeys, compressedArtifacts, loadPrivateKey, MANIFEST_SUFFIX, readEmbeddedKey, removeStaleArtifacts, signArtifacts, smokeTestArtifacts, compress } from './stages.js';

export interface PostbuildOptions {
  sketchDir: string;
  buildDir: string;
  projectName: string;
  coreVersion: string;
  flashSize: string;
  flashMode: string;
  fsStart?: string;
  fsEnd?: string;
  /** true = the default level; a string names the level (`--compress max`). */
  compress?: boolean | string;
  legacy?: boolean;
  fleet?: string[];
  strict?: boolean;
  json?: boolean;
  privateKey?: string;
  passphraseFile?: string;
}

function envFlag(env: NodeJS.ProcessEnv, name: string): boolean | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  if (/^(1|true|yes|on)$/i.test(v)) return true;
  if (/^(0|false|no|off)$/i.test(v)) return false;
  throw new UserError(`$${name}="${v}" is not a yes/no value (use 1 or 0).`);
}

/** ESP8266_SIGN_COMPRESS: a yes/no value, or a level name. */
function envCompression(env: NodeJS.ProcessEnv): boolean | string | undefined {
  const v = env.ESP8266_SIGN_COMPRESS;
  return v !== undefined && /^(default|max)$/i.test(v) ? v.toLowerCase() : envFlag(env, 'ESP8266_SIGN_COMPRESS');
}

function compressionLevel(value: boolean | string): false | CompressionLevel {
  if (value === false) return false;
  if (value === true || value === 'default') return 'default';
  if (value === 'max') return 'max';
  throw new UsageError(`--compress ${value}: the compression level must be "default" or "max" (or give --compress alone).`);
}

/** Command line, then environment, then esp8266-sign.json, then defaults (legacy on, compression off). */
function resolveSettings(opts: PostbuildOptions, env: NodeJS.ProcessEnv, file: ReturnType<typeof readSettings>): PostbuildSettings {
  const fleetEnv = env.ESP8266_SIGN_FLEET ? env.ESP8266_SIGN_FLEET.split(',').map((s) => s.trim()).filter(Boolean) : undefined;
  const settings = {
    compress: compressionLevel(opts.compress ?? envCompression(env) ?? file.compress ?? false),
    legacy: opts.legacy ?? envFlag(env, 'ESP8266_SIGN_LEGACY') ?? file.legacy ?? true,
    fleet: opts.fleet ?? fleetEnv ?? file.fleet ?? [],
    strict: opts.strict ?? envFlag(env, 'ESP8266_SIGN_STRICT') ?? file.strict ?? false,
  };
  for (const c of settings.fleet) profileFor(c);
  return settings;
}

export async function runPostbuild(opts: PostbuildOptions, io: Io): Promise<number> {
  const sketchDir = resolveFrom(io, opts.sketchDir);
  const buildDir = resolveFrom(io, opts.buildDir);
  profileFor(opts.coreVersion);
  const flashSize = parseFlashSize(opts.flashSize);
  // Builders pass an undefined property as its literal `{name}`: boards without a filesystem.
  const given = (v?: string) => (v && !/^\{[^}]*\}$/.test(v.trim()) ? v : undefined);
  const fsStart = given(opts.fsStart);
  const fsEnd = given(opts.fsEnd);
  const hasFs = Boolean(fsStart && fsEnd);
  const layout = makeLayout(flashSize, hasFs ? parseOffset(fsStart!, '--fs-start') : undefined, hasFs ? parseOffset(fsEnd!, '--fs-end') : undefined);
  const fileSettings = readSettings(sketchDir);
  const binPath = resolve(buildDir, `${opts.projectName}.bin`);

  removeStaleArtifacts(buildDir, opts.projectName);
  const bin = readUserFile(binPath, 'firmware', 'The objcopy step did not produce it; check the build output above.');
  const problem = bin.length === 0 ? 'is empty (0 bytes).' : describeFirmwareProblem(bin);
  if (problem) throw new UserError(`firmware ${binPath} ${problem}`);

  const ctx: PostbuildContext = {
    sketchDir,
    buildDir,
    project: opts.projectName,
    core: opts.coreVersion,
    flashMode: parseFlashMode(opts.flashMode, '--flash-mode'),
    layout,
    settings: resolveSettings(opts, io.env, fileSettings),
    binPath,
    bin,
    embeddedKey: readEmbeddedKey(buildDir),
    privateKey: null,
    artifacts: [],
    warnings: [],
  };
  const looked = loadPrivateKey(ctx, { privateKey: opts.privateKey, passphraseFile: opts.passphraseFile, settingsKey: fileSettings.privateKey }, io.env, io.cwd);
  if (!ctx.embeddedKey && !ctx.privateKey && !ctx.settings.compress) return 0;
  checkKeys(ctx, looked);
  checkKeyEmbedded(ctx);
  smokeTestArtifacts(ctx, signArtifacts(ctx));
  const gz = compress(ctx);
  if (gz) smokeTestArtifacts(ctx, compressedArtifacts(ctx, gz));
  return finish(ctx, opts, io);
}

function passed(a: Artifact, all: Artifact[]): boolean {
  if (a.payloadOf) return passed(all.find((x) => x.kind === a.payloadOf)!, all);
  return a.results[0]?.passed ?? false;
}

function finish(ctx: PostbuildContext, opts: PostbuildOptions, io: Io): number {
  let exit = 0;
  const failures: string[] = [];
  for (const a of ctx.artifacts) {
    for (const r of a.results.slice(1)) {
      if (!r.passed) ctx.warnings.push(`${a.name} would not boot on core ${r.core}: ${r.verdict.cause}`);
    }
    const own = a.results[0];
    if (own && !own.passed) failures.push(`${a.name} on the emulated core ${own.core} device:\n${formatVerdict(own.verdict)}`);
  }
  const fleetFailed = ctx.artifacts.some((a) => a.results.slice(1).some((r) => !r.passed));
  if (failures.length || (ctx.settings.strict && fleetFailed)) exit = ExitCode.DEVICE_REJECTED;

  const written = ctx.artifacts.filter((a) => passed(a, ctx.artifacts));
  for (const a of written) writeFileAtomic(a.path, a.bytes);

  const manifest = {
    tool: 'esp8266-sign',
    project: ctx.project,
    core: ctx.core,
    build: { flashSize: opts.flashSize, flashMode: ctx.flashMode, fsStart: `0x${ctx.layout.fsStart.toString(16)}`, fsEnd: `0x${ctx.layout.fsEnd.toString(16)}` },
    input: describeFile(ctx.binPath, ctx.bin, binDigest(ctx)),
    key: ctx.privateKey ? { fingerprint: fingerprint(ctx.privateKey.publicKey), source: ctx.privateKey.found.source, path: ctx.privateKey.found.path } : null,
    signingEnabledInFirmware: ctx.embeddedKey !== null,
    artifacts: ctx.artifacts.map((a) => ({
      name: a.name,
      kind: a.kind,
      written: written.includes(a),
      ...describeFile(a.path, a.bytes, a.digest),
      ratio: Number((a.bytes.length / ctx.bin.length).toFixed(4)),
      ...(a.payloadOf ? { payloadOf: ctx.project + (a.payloadOf === 'gzip-signed' ? '.bin.gz.signed' : '') } : {}),
      verdicts: a.results.map((r) => ({
        core: r.core,
        passed: r.passed,
        stage: r.verdict.stage,
        error: r.verdict.updaterError,
        cause: r.verdict.cause,
      })),
    })),
    warnings: ctx.warnings,
    exitCode: exit,
  };
  if (written.length) writeFileAtomic(resolve(ctx.buildDir, ctx.project + MANIFEST_SUFFIX), JSON.stringify(manifest, null, 2) + '\n');

  for (const w of ctx.warnings) io.stderr(`warning: ${w}\n`);
  for (const a of written) {
    if (a.kind === 'signed' || a.kind === 'gzip-signed') io.stderr(`Signed binary: ${a.path}\n`);
    if (a.kind === 'legacy') io.stderr(`Legacy signed binary: ${a.path}\n`);
  }
  for (const a of ctx.artifacts) {
    const ok = passed(a, ctx.artifacts);
    const where = a.payloadOf ? 'payload of the .gz.signed' : a.results.map((r) => `${r.passed ? 'boots on' : 'REJECTED on'} ${r.core}`).join(', ');
    io.stderr(`  ${a.name}: ${a.bytes.length} bytes (${((100 * a.bytes.length) / ctx.bin.length).toFixed(1)}% of the .bin), ${ok ? where : `not written — ${where}`}\n`);
  }
  for (const f of failures) io.stderr(`esp8266-sign: ${f}`);
  if (opts.json) printJson(io.stdout, manifest);
  return exit;
}
