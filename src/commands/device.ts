/** `emulate`, `verify`, `inspect`: what an ESP8266 would do with a file — any file it can receive. */
import { ExitCode, UsageError, UserError } from '../errors.js';
import { readUserFile, resolveFrom, type Io } from '../io.js';
import { decodeEmbeddedKey, deviceKeyProblem, verifierLength } from '../emulator/bearssl.js';
import { Device, type DeliveryPath, type UpdateCommand, type Verdict } from '../emulator/device.js';
import { makeLayout, namedLayout, parseFlashSize, parseOffset, type Layout } from '../emulator/layouts.js';
import { inflateGzip, readTrailer, trailerMatching } from '../emulator/payload.js';
import { coreRange, PROFILES, resolveCore, type Profile } from '../emulator/profiles.js';
import { count } from '../emulator/words.js';
import { chooseEmbeddedKey } from '../header-gen/header.js';
import { describeGzip, describeImage } from '../image/describe.js';
import { FLASH_MODES, parseFlashMode, type FlashMode } from '../image/image.js';
import { isGzip } from '../image/kind.js';
import { printJson } from '../report.js';
import { RSA_SIG_LENGTHS } from '../signing/sign.js';

/** Options every device command shares: what kind of update, and the chip. */
export interface UpdateKindOptions {
  /** A U_FS update (a LittleFS/SPIFFS image) instead of a sketch. */
  filesystem?: boolean;
  /** The running firmware was built with -DATOMIC_FS_UPDATE. */
  atomicFs?: boolean;
  /** The chip's real size when it differs from the running firmware's header (`2M`, `4M`, ...). */
  realFlashSize?: string;
}

export interface EmulateOptions extends UpdateKindOptions {
  file: string;
  core: string;
  pubkey?: string;
  pubkeyAsIs?: boolean;
  layout?: string;
  flashSize?: string;
  fsStart?: string;
  fsEnd?: string;
  runningSketchSize?: string | number;
  runningFlashMode?: string;
  chunk?: string | number;
  path?: string;
  json?: boolean;
}

/**
 * A byte count as the device commands take it: decimal digits or 0x-hex only, never `1e3`, `0b11`
 * or `1.5` (Number() would take those and the device would be emulated with a size nobody meant).
 */
export function parseByteCount(value: string | number, option: string): number {
  const t = String(value).trim();
  const n = /^0x[0-9a-f]+$/i.test(t) ? parseInt(t, 16) : /^\d+$/.test(t) ? Number(t) : NaN;
  if (!Number.isSafeInteger(n) || n <= 0) throw new UsageError(`${option} "${value}" is not a byte count. Use decimal digits (1460) or hex (0x5b4).`);
  return n;
}

/**
 * The compiled-in key bytes: what `esp8266-sign header` would embed, or (--pubkey-as-is) the file
 * verbatim. A key the header refuses (EC, garbage) is still what a signing.py build embeds, and a
 * device built with it runs and rejects every signed update: emulate that instead of refusing.
 */
export function embeddedKeyFrom(path: string | undefined, io: Io, asIs = false): Uint8Array | null {
  if (!path) return null;
  const bytes = readUserFile(resolveFrom(io, path), 'public key');
  if (asIs) return bytes;
  try {
    return chooseEmbeddedKey(bytes, path).bytes;
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    io.stderr(`esp8266-sign: warning: public key ${path} is not one esp8266-sign header would embed; emulating firmware that embeds it byte for byte, as signing.py does.\n`);
    return bytes;
  }
}

/** The image inside a file: payload without a signature trailer, inflated when gzip (bounded by 16 MiB). */
function innerImage(file: Uint8Array, keyLen: number): Uint8Array {
  const t = keyLen ? readTrailer(file, keyLen) : trailerMatching(file, RSA_SIG_LENGTHS);
  const payload = file.subarray(0, t?.payloadLength ?? file.length);
  return (isGzip(payload) && inflateGzip(payload).image) || payload;
}

function coreOf(version: string, io: Io): Profile {
  const { profile, warning } = resolveCore(version);
  if (warning) io.stderr(`esp8266-sign: warning: ${warning}\n`);
  return profile;
}

function layoutOf(opts: EmulateOptions): Layout {
  if (opts.layout) return namedLayout(opts.layout);
  if ((opts.fsStart === undefined) !== (opts.fsEnd === undefined)) {
    throw new UsageError(`--fs-start and --fs-end go together: give both (the filesystem region), or neither (no filesystem).`);
  }
  const flashSize = parseFlashSize(opts.flashSize ?? '4M');
  return makeLayout(flashSize, opts.fsStart ? parseOffset(opts.fsStart, '--fs-start') : undefined, opts.fsEnd ? parseOffset(opts.fsEnd, '--fs-end') : undefined);
}

function realSizeOf(opts: UpdateKindOptions): number | undefined {
  return opts.realFlashSize === undefined ? undefined : parseFlashSize(opts.realFlashSize);
}

function commandOf(opts: UpdateKindOptions): UpdateCommand {
  if (opts.atomicFs && !opts.filesystem) throw new UsageError('--atomic-fs describes how filesystem updates are applied: use it with --filesystem.');
  return opts.filesystem ? 'fs' : 'sketch';
}

export function runEmulate(opts: EmulateOptions, io: Io): number {
  const profile = coreOf(opts.core, io);
  const command = commandOf(opts);
  const chunk = opts.chunk === undefined ? 1460 : parseByteCount(opts.chunk, '--chunk');
  const runningSketchSize = opts.runningSketchSize === undefined ? undefined : parseByteCount(opts.runningSketchSize, '--running-sketch-size');
  const layout = layoutOf(opts);
  const realFlashSize = realSizeOf(opts);
  const path = (opts.path ?? 'arduinoota') as DeliveryPath;
  if (!['arduinoota', 'httpupdate', 'webserver'].includes(path)) throw new UsageError(`--path must be arduinoota, httpupdate or webserver.`);
  const file = readUserFile(resolveFrom(io, opts.file), 'file');
  const embeddedKey = embeddedKeyFrom(opts.pubkey, io, opts.pubkeyAsIs);
  const keyLen = embeddedKey ? verifierLength(decodeEmbeddedKey(embeddedKey)) : 0;
  const inner = innerImage(file, keyLen);
  const device = new Device({
    profile,
    layout,
    realFlashSize,
    atomicFs: opts.atomicFs,
    // A filesystem update runs on some sketch: without --running-sketch-size, a small one.
    runningSketchSize: runningSketchSize ?? (command === 'fs' ? 0x40000 : Math.max(inner.length, 1)),
    runningFlashMode: opts.runningFlashMode ? parseFlashMode(opts.runningFlashMode, '--running-flash-mode') : command === 'fs' ? 'dio' : imageFlashMode(inner),
    embeddedKey,
  });
  const verdict = device.replay(file, { chunk, path, command });
  const ok = verdict.accepted && verdict.boots && verdict.bootloaderIntact;
  if (opts.json) {
    printJson(io.stdout, { file: resolveFrom(io, opts.file), core: opts.core, profile: profile.releases, ...verdict });
  } else {
    const chip = realFlashSize !== undefined && realFlashSize !== layout.flashSize ? ` on a ${realFlashSize / 1024}K chip` : '';
    const fs = layout.fsEnd > layout.fsStart ? `filesystem 0x${layout.fsStart.toString(16)}–0x${layout.fsEnd.toString(16)}` : 'no filesystem';
    const what = command === 'fs' ? `, filesystem update${opts.atomicFs ? ' (ATOMIC_FS_UPDATE)' : ' (written in place)'}` : '';
    io.stderr(`Emulated ESP8266, core ${opts.core} (${profile.releases}), ${layout.flashSize / 1024}K flash${chip}, ${fs}, running sketch ${count(device.spec.runningSketchSize, 'byte')} in ${device.spec.runningFlashMode}, ${embeddedKey ? 'signed updates required' : 'no signing key compiled in'}${what}\n`);
    for (const line of verdict.log) io.stderr(`  ${line}\n`);
    io.stderr(formatVerdict(verdict));
  }
  return ok ? ExitCode.OK : ExitCode.DEVICE_REJECTED;
}

export function formatVerdict(v: Verdict): string {
  const ok = v.accepted && v.boots && v.bootloaderIntact;
  const story = v.command === 'fs' ? 'the device takes the filesystem image and the app boots with it' : 'the device stages, copies and boots the new image';
  let s = ok ? `Verdict: ACCEPTED — ${story}.\n` : `Verdict: REJECTED at ${v.stage}${v.updaterError ? ` — ${v.updaterError.text}` : v.eboot?.result ? ` — eboot cp:${v.eboot.result}` : ''}\n`;
  if (v.command === 'fs') s += `  filesystem: ${v.filesystemUpdated ? 'holds the new image' : v.filesystemIntact ? 'unchanged (the old filesystem survived)' : 'overwritten, and it does not hold the new image'}\n`;
  if (v.cause) s += `  cause: ${v.cause}\n`;
  if (v.fix) s += `  fix:   ${v.fix}\n`;
  if (v.note) s += `  note:  ${v.note}\n`;
  return s;
}

/** The flash mode an image header names (dio when there is no readable header). */
function imageFlashMode(image: Uint8Array): FlashMode {
  return (image[0] === 0xe9 && FLASH_MODES[image[2]!]) || 'dio';
}

/** A layout with room for any file, and a header that matches the chip (when its size is given). */
function roomyLayout(realFlashSize: number | undefined): Layout {
  const byChip: Record<number, string> = { 0x80000: '512K128', 0x100000: '1M512', 0x200000: '2M1M', 0x400000: '4M3M', 0x800000: '8M6M' };
  return namedLayout((realFlashSize !== undefined && byChip[realFlashSize]) || '16M14M');
}

export interface DeviceQuestion extends UpdateKindOptions {
  file: Buffer;
  embeddedKey: Uint8Array;
}

/** Whether each core range takes the file, on a device that has room for it; rejections carry cause and fix. */
export function signatureVerdicts(q: DeviceQuestion, profiles: readonly Profile[]) {
  const keyLen = verifierLength(decodeEmbeddedKey(q.embeddedKey));
  const inner = innerImage(q.file, keyLen);
  const command = commandOf(q);
  return profiles.map((profile) => {
    if (q.atomicFs && !profile.atomicFs) {
      return { core: profile.releases, accepted: false, boots: false, cause: `${coreRange(profile)} have no ATOMIC_FS_UPDATE (it arrived in 2.6.0)`, fix: 'leave out --atomic-fs for these devices: their filesystem updates are written in place' };
    }
    const device = new Device({
      profile,
      layout: roomyLayout(realSizeOf(q)),
      realFlashSize: realSizeOf(q),
      atomicFs: q.atomicFs,
      runningSketchSize: 0x2000,
      runningFlashMode: command === 'fs' ? 'dio' : imageFlashMode(inner),
      embeddedKey: q.embeddedKey,
    });
    const v = device.replay(q.file, { chunk: 4096, command });
    // Taken is the Updater's answer; what happens after it (eboot, the boot) is told alongside.
    const boots = v.accepted && v.boots && v.bootloaderIntact;
    return { core: profile.releases, accepted: v.accepted, boots, cause: boots ? null : v.cause, fix: boots ? null : v.fix };
  });
}

export interface VerifyOptions extends UpdateKindOptions {
  file: string;
  pubkey: string;
  core?: string;
  json?: boolean;
}

export function runVerify(opts: VerifyOptions, io: Io): number {
  const profiles = opts.core ? [coreOf(opts.core, io)] : PROFILES;
  if (opts.core && opts.atomicFs && !profiles[0]!.atomicFs) throw new UsageError(`--atomic-fs: ${coreRange(profiles[0]!)} have no ATOMIC_FS_UPDATE (it arrived in 2.6.0).`);
  const file = readUserFile(resolveFrom(io, opts.file), 'file');
  const key = embeddedKeyFrom(opts.pubkey, io)!;
  const results = signatureVerdicts({ ...opts, file, embeddedKey: key }, profiles);
  const target = results[results.length - 1]!;
  if (opts.json) printJson(io.stdout, { file: resolveFrom(io, opts.file), pubkey: resolveFrom(io, opts.pubkey), command: opts.filesystem ? 'fs' : 'sketch', results });
  else {
    for (const r of results) {
      const head = r.accepted ? (r.boots ? 'accepted' : 'accepted, but does not boot:') : 'REJECTED';
      io.stderr(`${head}  ${phrase(r.core)}${r.cause ? `\n          cause: ${r.cause}\n          fix:   ${r.fix}` : ''}\n`);
    }
  }
  return target.accepted ? ExitCode.OK : ExitCode.DEVICE_REJECTED;
}

/** "cores 2.7.0–2.7.4", "core 2.6.3", "cores after 3.1.2 (3.2.0-dev)" from a releases string. */
function phrase(releases: string): string {
  return coreRange(PROFILES.find((p) => p.releases === releases)!);
}

export interface InspectOptions extends UpdateKindOptions {
  file: string;
  pubkey?: string;
  json?: boolean;
}

export function runInspect(opts: InspectOptions, io: Io): number {
  const command = commandOf(opts);
  const file = readUserFile(resolveFrom(io, opts.file), 'file');
  const key = embeddedKeyFrom(opts.pubkey, io);
  const deviceKey = key ? decodeEmbeddedKey(key) : null;
  const keyLen = deviceKey ? verifierLength(deviceKey) : 0;
  const split = trailerMatching(file, keyLen ? [keyLen, ...RSA_SIG_LENGTHS] : RSA_SIG_LENGTHS);
  const payload = file.subarray(0, split?.payloadLength ?? file.length);
  const gzip = describeGzip(payload);
  const inflated = gzip ? inflateGzip(payload) : null;
  const image = describeImage(inflated?.image ?? payload);
  const kind = file.length === 0
    ? 'empty: a device refuses it (Update.begin(0) fails with error 5, Bad Size Given)'
    : command === 'fs' ? `filesystem image${gzip ? ' (gzip-compressed)' : ''}`
    : gzip ? (inflated?.problem ? 'gzip that cannot be inflated' : image.app || image.boot ? 'gzip-compressed ESP8266 image' : 'gzip of something that is not an ESP8266 image')
    : image.app || image.boot ? 'ESP8266 image' : 'not an ESP8266 image';
  const report = {
    file: resolveFrom(io, opts.file),
    size: file.length,
    kind,
    command,
    signature: split ? { length: split.sigLenTrailer, payloadLength: payload.length } : null,
    gzip: gzip ? { ...gzip, inflateProblem: inflated?.problem ?? null } : null,
    image,
    verifiesOn: key && (split || file.length === 0) ? signatureVerdicts({ ...opts, file, embeddedKey: key }, PROFILES) : null,
    keyProblem: deviceKey ? deviceKeyProblem(deviceKey) : null,
  };
  if (opts.json) {
    printJson(io.stdout, report);
    return 0;
  }
  const out: string[] = [`${report.file}: ${count(report.size, 'byte')}, ${report.kind}`];
  if (report.signature) out.push(`  signature: ${count(report.signature.length ?? 0, 'byte')} + 4-byte trailer after a ${report.signature.payloadLength}-byte payload`);
  else if (file.length) out.push('  signature: none (no trailer matching an RSA key size)');
  if (gzip) out.push(`  gzip: flags [${gzip.flags.join(' ')}], OS ${gzip.os}, ISIZE ${gzip.isize}, ${count(gzip.length, 'byte')} (${gzip.length % 4 === 0 ? 'a multiple of 4' : `${gzip.length % 4} mod 4: cores 3.1.0–3.1.2 reject it signed`})`);
  if (inflated?.problem) out.push(`  gzip: ${inflated.problem}`);
  for (const [name, h] of [['bootloader @0x0', image.boot], ['app @0x1000', image.app]] as const) {
    if (h) out.push(`  ${name}: mode ${h.flashMode}, size ${h.flashSize}, ${h.flashFreq}, entry ${h.entry}, ${count(h.segments.length, 'segment')}, ends at ${h.end}`);
  }
  if (report.keyProblem) out.push(`  key: the device cannot use it, so it rejects every signed update (error 12) — ${report.keyProblem}`);
  for (const r of report.verifiesOn ?? []) out.push(`  ${r.accepted ? 'verifies' : 'rejected'} on ${phrase(r.core)}${r.cause ? ` (${r.cause})` : ''}`);
  io.stderr(out.join('\n') + '\n');
  return 0;
}
