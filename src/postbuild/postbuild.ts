/**
 * The postbuild hook (the objcopy step after the .bin exists): one pipeline of the stages in
 * stages.ts. All or nothing: an uploader takes `.bin.signed` whenever it exists, so the artifacts
 * of earlier builds go first, and this build's are written only when every one of them passed on
 * the emulated device of the core it is meant for; any failure leaves none of them behind.
 */
import { resolve } from 'node:path';
import type { CompressionLevel } from '../compress/gzip.js';
import { ExitCode, UsageError, UserError } from '../errors.js';
import { readUserFile, resolveFrom, writeFileAtomic, type Io } from '../io.js';
import { makeLayout, parseFlashSize, parseOffset } from '../emulator/layouts.js';
import { resolveCore } from '../emulator/profiles.js';
import { formatVerdict } from '../commands/device.js';
import { flashSizeName, parseFlashMode } from '../image/image.js';
import { describeFirmwareProblem } from '../image/kind.js';
import { fingerprint } from '../keys/check.js';
import { describeFile, printJson } from '../report.js';
import { readSettings } from '../settings.js';
import { toolVersion } from '../version.js';
import type { Artifact, PostbuildContext, PostbuildSettings } from './context.js';
import { readEmbeddedKey } from '../header-gen/read.js';
import { withBuildLock } from './lock.js';
import { MANIFEST_VERSION, manifestPath, type Manifest } from './manifest.js';
import {
  binDigest, checkKeyEmbedded, checkKeys, compress, compressedArtifacts, loadPrivateKey, plainArtifact,
  removeStaleArtifacts, signArtifacts, smokeTestArtifacts, targetsOf,
} from './stages.js';

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
  throw new UserError(`$${name}="${v.slice(0, 40)}" is not a yes/no value (use 1 or 0).`);
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
  return settings;
}

/** `{build.project_name}` names files inside the build folder; a path there would write elsewhere. */
function checkProjectName(name: string): string {
  if (!name || /[/\\]/.test(name) || name === '.' || name === '..') {
    throw new UsageError(`--project-name ${JSON.stringify(name)} must be a file name such as Blink.ino, without a folder.`);
  }
  return name;
}

/** Builders pass an undefined property as its literal `{name}`, and some boards pass an empty value. */
function given(v?: string): string | undefined {
  return v && v.trim() && !/^\{[^}]*\}$/.test(v.trim()) ? v : undefined;
}

export async function runPostbuild(opts: PostbuildOptions, io: Io): Promise<number> {
  const buildDir = resolveFrom(io, opts.buildDir);
  const project = checkProjectName(opts.projectName);
  return withBuildLock(buildDir, project, async () => {
    removeStaleArtifacts(buildDir, project);
    return postbuildLocked(opts, io, buildDir, project);
  });
}

/**
 * For a usage error found before the command ran (a missing option): the artifacts of earlier
 * builds must go all the same, or an uploader would take them for this build's.
 */
export function removeStaleAfterUsageError(argv: readonly string[], io: Io): void {
  const value = (name: string) => {
    const i = argv.findIndex((a) => a === name || a.startsWith(`${name}=`));
    if (i === -1) return undefined;
    return argv[i]!.includes('=') ? argv[i]!.slice(argv[i]!.indexOf('=') + 1) : argv[i + 1];
  };
  const dir = value('--build-dir');
  const project = value('--project-name');
  if (!dir || !project || /[/\\]/.test(project)) return;
  try {
    removeStaleArtifacts(resolveFrom(io, dir), project);
  } catch {
    // the usage error is what the user needs to see
  }
}

async function postbuildLocked(opts: PostbuildOptions, io: Io, buildDir: string, project: string): Promise<number> {
  const sketchDir = resolveFrom(io, opts.sketchDir);
  const coreWarnings = [opts.coreVersion].map((c) => resolveCore(c).warning);
  const flashSize = parseFlashSize(opts.flashSize);
  const fsStart = given(opts.fsStart);
  const fsEnd = given(opts.fsEnd);
  if (Boolean(fsStart) !== Boolean(fsEnd)) {
    throw new UsageError(`${fsStart ? '--fs-start' : '--fs-end'} was given without ${fsStart ? '--fs-end' : '--fs-start'}: pass both ({build.spiffs_start} and {build.spiffs_end}) or neither (no filesystem).`);
  }
  const layout = makeLayout(flashSize, fsStart ? parseOffset(fsStart, '--fs-start') : undefined, fsEnd ? parseOffset(fsEnd, '--fs-end') : undefined);
  const flashMode = parseFlashMode(opts.flashMode, '--flash-mode');
  const fileSettings = readSettings(sketchDir);
  const settings = resolveSettings(opts, io.env, fileSettings);
  // an unknown core version (command line, environment or settings) is a usage error before anything is signed
  coreWarnings.push(...settings.fleet.map((c) => resolveCore(c).warning));
  const binPath = resolve(buildDir, `${project}.bin`);
  const bin = readUserFile(binPath, 'firmware', 'The objcopy step did not produce it; check the build output above.');
  const problem = bin.length === 0 ? 'is empty (0 bytes).' : describeFirmwareProblem(bin);
  if (problem) throw new UserError(`firmware ${binPath} ${problem}`);

  const ctx: PostbuildContext = {
    sketchDir,
    buildDir,
    project,
    core: opts.coreVersion,
    flashSize: flashSizeName(opts.flashSize),
    flashMode,
    layout,
    settings,
    binPath,
    bin,
    embeddedKey: readEmbeddedKey(buildDir),
    privateKey: null,
    artifacts: [],
    warnings: coreWarnings.filter((w): w is string => w !== null),
  };
  const looked = loadPrivateKey(ctx, { privateKey: opts.privateKey, passphraseFile: opts.passphraseFile, settingsKey: fileSettings.privateKey }, io.env, io.cwd);
  if (ctx.privateKey) {
    const f = ctx.privateKey.found;
    io.stderr(`esp8266-sign: private key from ${f.source}${f.path && f.source !== f.path ? ` (${f.path})` : ''}\n`);
  }
  checkKeys(ctx, looked);
  checkKeyEmbedded(ctx);
  smokeTestArtifacts(ctx, ctx.privateKey ? signArtifacts(ctx) : [plainArtifact(ctx)]);
  const gz = compress(ctx);
  if (gz) smokeTestArtifacts(ctx, compressedArtifacts(ctx, gz));
  return finish(ctx, opts, io);
}

/** The artifact's own check: the first core it is meant for. The plain .bin never fails a build. */
function ownResult(a: Artifact) {
  return a.payloadOf || a.kind === 'plain' ? undefined : a.results[0];
}

function finish(ctx: PostbuildContext, opts: PostbuildOptions, io: Io): number {
  const failures = ctx.artifacts.flatMap((a) => {
    const own = ownResult(a);
    return own && !own.passed ? [`${a.name} on the emulated core ${own.core} device:\n${formatVerdict(own.verdict)}`] : [];
  });
  const targets = targetsOf(ctx);
  const plain = ctx.artifacts.find((a) => a.kind === 'plain');
  if (plain && !plain.results[0]?.passed) {
    ctx.warnings.push(`${plain.name} could not be updated over the air on a core ${ctx.core} device with this layout: ${plain.results[0]?.verdict.cause ?? 'no verdict'}. Serial flashing is unaffected.`);
  }
  for (const t of targets.slice(1)) {
    if (t.artifact) continue;
    const why = ctx.artifacts.flatMap((a) => a.results.filter((r) => r.core === t.core && !r.passed).map((r) => `${a.name}: ${r.verdict.cause}`));
    ctx.warnings.push(`no artifact of this build boots on a core ${t.core} device${why.length ? ` (${why.join('; ')})` : ' (none is made in the format it verifies)'}.`);
  }
  const unserved = targets.slice(1).filter((t) => !t.artifact).map((t) => t.core);
  if (ctx.settings.strict && unserved.length) failures.push(`--strict: no artifact boots on core ${unserved.join(', ')}`);

  for (const w of ctx.warnings) io.stderr(`esp8266-sign: warning: ${w}\n`);
  if (failures.length) {
    for (const a of ctx.artifacts) io.stderr(`esp8266-sign: ${summary(ctx, a)}\n`);
    throw new UserError(`${failures.join('\n')}\nNothing was written: no artifact of ${ctx.project} is left in the build folder.`, ExitCode.DEVICE_REJECTED);
  }

  const manifest = buildManifest(ctx, targets);
  const written: string[] = [];
  try {
    for (const a of ctx.artifacts.filter((x) => x.write)) {
      writeFileAtomic(a.path, a.bytes);
      written.push(a.path);
    }
    // the manifest last: a reader that finds it finds every artifact it lists
    writeFileAtomic(manifestPath(ctx.buildDir, ctx.project), JSON.stringify(manifest, null, 2) + '\n');
  } catch (err) {
    removeStaleArtifacts(ctx.buildDir, ctx.project);
    throw err;
  }

  for (const a of ctx.artifacts) {
    if (a.kind === 'signed' || a.kind === 'gzip-signed') io.stderr(`Signed binary: ${a.path}\n`);
    if (a.kind === 'legacy') io.stderr(`Legacy signed binary: ${a.path}\n`);
  }
  if (ctx.privateKey || ctx.settings.compress) {
    for (const a of ctx.artifacts) io.stderr(`esp8266-sign: ${summary(ctx, a)}\n`);
    if (targets.length > 1) io.stderr(`esp8266-sign: devices get: ${targets.map((t) => `core ${t.core} → ${t.artifact?.name ?? 'nothing (see the warning above)'}`).join('; ')}\n`);
  }
  if (opts.json) printJson(io.stdout, manifest);
  return ExitCode.OK;
}

function summary(ctx: PostbuildContext, a: Artifact): string {
  const size = `${a.bytes.length} ${a.bytes.length === 1 ? 'byte' : 'bytes'} (${((100 * a.bytes.length) / ctx.bin.length).toFixed(1)}% of the .bin)`;
  if (a.payloadOf) return `${a.name}: ${size}, the payload of ${ctx.project}.bin.gz.signed`;
  const boots = a.results.filter((r) => r.passed).map((r) => r.core);
  const rejected = a.results.filter((r) => !r.passed).map((r) => r.core);
  const parts = [boots.length ? `boots on ${boots.join(', ')}` : '', rejected.length ? `REJECTED on ${rejected.join(', ')}` : ''].filter(Boolean);
  return `${a.name}: ${size}, ${parts.join('; ')}`;
}

function buildManifest(ctx: PostbuildContext, targets: ReturnType<typeof targetsOf>): Manifest {
  const name = (a: Artifact | null) => a?.name ?? null;
  return {
    tool: 'esp8266-sign',
    toolVersion: toolVersion(),
    manifestVersion: MANIFEST_VERSION,
    project: ctx.project,
    core: ctx.core,
    build: {
      flashSize: ctx.flashSize,
      flashSizeBytes: ctx.layout.flashSize,
      flashMode: ctx.flashMode,
      fsStart: `0x${ctx.layout.fsStart.toString(16)}`,
      fsEnd: `0x${ctx.layout.fsEnd.toString(16)}`,
    },
    input: { name: `${ctx.project}.bin`, ...describeFile(ctx.binPath, ctx.bin, binDigest(ctx)) },
    key: ctx.privateKey ? { fingerprint: fingerprint(ctx.privateKey.publicKey), source: ctx.privateKey.found.source, path: ctx.privateKey.found.path } : null,
    signingEnabledInFirmware: ctx.embeddedKey !== null,
    artifacts: ctx.artifacts.map((a) => ({
      name: a.name,
      kind: a.kind,
      ...describeFile(a.path, a.bytes, a.digest),
      ratio: Number((a.bytes.length / ctx.bin.length).toFixed(4)),
      signature: a.signature,
      compressed: a.compressed,
      ...(a.payloadOf ? { payloadOf: ctx.project + '.bin.gz.signed' } : {}),
      verdicts: a.results.map((r) => ({ core: r.core, passed: r.passed, stage: r.verdict.stage, error: r.verdict.updaterError, cause: r.verdict.cause })),
    })),
    targets: targets.map((t) => ({ core: t.core, artifact: name(t.artifact) })),
    upload: name(targets[0]!.artifact),
    warnings: ctx.warnings,
  };
}
