/** `emulate`, `verify`, `inspect`: what an ESP8266 would do with a file. */
import { gunzipLikeEboot } from '../compress/gzip.js';
import { ExitCode, UsageError, UserError } from '../errors.js';
import { readUserFile, resolveFrom, type Io } from '../io.js';
import { decodeDevicePublicKey, deviceKeyProblem, keyAsStrlenSees, verifierLength } from '../emulator/bearssl.js';
import { Device, type DeliveryPath, type Verdict } from '../emulator/device.js';
import { makeLayout, namedLayout, parseFlashSize, parseOffset } from '../emulator/layouts.js';
import { PROFILES, profileFor, type Profile } from '../emulator/profiles.js';
import { chooseEmbeddedKey } from '../header-gen/header.js';
import { describeGzip, describeImage } from '../image/describe.js';
import { FLASH_MODES, parseFlashMode, type FlashMode } from '../image/image.js';
import { isGzip } from '../image/kind.js';
import { printJson } from '../report.js';
import { RSA_SIG_LENGTHS, splitSigned } from '../signing/sign.js';

export interface EmulateOptions {
  file: string;
  core: string;
  pubkey?: string;
  pubkeyAsIs?: boolean;
  layout?: string;
  flashSize?: string;
  fsStart?: string;
  fsEnd?: string;
  runningSketchSize?: number;
  runningFlashMode?: string;
  chunk?: number;
  path?: string;
  json?: boolean;
}

/** The compiled-in key bytes: what our header would embed, or (--pubkey-as-is) the file verbatim. */
export function embeddedKeyFrom(path: string | undefined, io: Io, asIs = false): Uint8Array | null {
  if (!path) return null;
  const bytes = readUserFile(resolveFrom(io, path), 'public key');
  return asIs ? bytes : chooseEmbeddedKey(bytes, path).bytes;
}

/** The image inside a file: payload without a signature trailer, inflated when gzip. */
function innerImage(file: Buffer, keyLen: number): Uint8Array {
  const payload = splitSigned(file, keyLen || RSA_SIG_LENGTHS)?.payload ?? file;
  return (isGzip(payload) && gunzipLikeEboot(payload)) || payload;
}

export function runEmulate(opts: EmulateOptions, io: Io): number {
  const profile = profileFor(opts.core);
  const file = readUserFile(resolveFrom(io, opts.file), 'file');
  if (file.length === 0) throw new UserError(`file ${opts.file} is empty: there is nothing to upload.`);
  const embeddedKey = embeddedKeyFrom(opts.pubkey, io, opts.pubkeyAsIs);
  const keyLen = embeddedKey ? verifierLength(decodeDevicePublicKey(keyAsStrlenSees(embeddedKey))) : 0;
  const inner = innerImage(file, keyLen);
  const layout = opts.layout
    ? namedLayout(opts.layout)
    : (() => {
        const flashSize = parseFlashSize(opts.flashSize ?? '4M');
        return makeLayout(flashSize, opts.fsStart ? parseOffset(opts.fsStart, '--fs-start') : undefined, opts.fsEnd ? parseOffset(opts.fsEnd, '--fs-end') : undefined);
      })();
  const path = (opts.path ?? 'arduinoota') as DeliveryPath;
  if (!['arduinoota', 'httpupdate', 'webserver'].includes(path)) throw new UsageError(`--path must be arduinoota, httpupdate or webserver.`);
  const device = new Device({
    profile,
    layout,
    runningSketchSize: opts.runningSketchSize ?? inner.length,
    runningFlashMode: opts.runningFlashMode ? parseFlashMode(opts.runningFlashMode, '--running-flash-mode') : imageFlashMode(inner),
    embeddedKey,
  });
  const verdict = device.replay(file, { chunk: opts.chunk ?? 1460, path });
  const ok = verdict.accepted && verdict.boots && verdict.bootloaderIntact;
  if (opts.json) {
    printJson(io.stdout, { file: resolveFrom(io, opts.file), core: opts.core, profile: profile.releases, ...verdict });
  } else {
    io.stderr(`Emulated ESP8266, core ${opts.core} (${profile.releases}), ${layout.flashSize / 1024}K flash, filesystem at 0x${layout.fsStart.toString(16)}, running sketch ${device.spec.runningSketchSize} bytes in ${device.spec.runningFlashMode}, ${embeddedKey ? 'signed updates required' : 'no signing key compiled in'}\n`);
    for (const line of verdict.log) io.stderr(`  ${line}\n`);
    io.stderr(formatVerdict(verdict));
  }
  return ok ? ExitCode.OK : ExitCode.DEVICE_REJECTED;
}

export function formatVerdict(v: Verdict): string {
  const ok = v.accepted && v.boots && v.bootloaderIntact;
  let s = ok ? 'Verdict: ACCEPTED — the device stages, copies and boots the new image.\n' : `Verdict: REJECTED at ${v.stage}${v.updaterError ? ` — ${v.updaterError.text}` : v.eboot?.result ? ` — eboot cp:${v.eboot.result}` : ''}\n`;
  if (v.cause) s += `  cause: ${v.cause}\n`;
  if (v.fix) s += `  fix:   ${v.fix}\n`;
  if (v.note) s += `  note:  ${v.note}\n`;
  return s;
}

/** The flash mode an image header names (dio when there is no readable header). */
function imageFlashMode(image: Uint8Array): FlashMode {
  return (image[0] === 0xe9 && FLASH_MODES[image[2]!]) || 'dio';
}

/** Signature decision per core range, on a device that would otherwise take the file. */
export function signatureVerdicts(file: Buffer, embeddedKey: Uint8Array, profiles: readonly Profile[]) {
  const keyLen = verifierLength(decodeDevicePublicKey(keyAsStrlenSees(embeddedKey)));
  const inner = innerImage(file, keyLen);
  return profiles.map((profile) => {
    const device = new Device({
      profile,
      layout: namedLayout('16M14M'),
      runningSketchSize: 0x2000,
      runningFlashMode: imageFlashMode(inner),
      embeddedKey,
    });
    const v = device.replay(file, { chunk: 4096 });
    const rejected = v.updaterError?.name === 'SIGN';
    return { core: profile.releases, accepted: !rejected, cause: rejected ? v.cause : null, fix: rejected ? v.fix : null };
  });
}

export interface VerifyOptions {
  file: string;
  pubkey: string;
  core?: string;
  json?: boolean;
}

export function runVerify(opts: VerifyOptions, io: Io): number {
  const file = readUserFile(resolveFrom(io, opts.file), 'file');
  const key = embeddedKeyFrom(opts.pubkey, io)!;
  const profiles = opts.core ? [profileFor(opts.core)] : PROFILES;
  const results = signatureVerdicts(file, key, profiles);
  const target = opts.core ? results[0]! : results[results.length - 1]!;
  if (opts.json) printJson(io.stdout, { file: resolveFrom(io, opts.file), pubkey: resolveFrom(io, opts.pubkey), results });
  else {
    for (const r of results) io.stderr(`${r.accepted ? 'accepted' : 'REJECTED'}  core ${r.core}${r.cause ? `\n          cause: ${r.cause}\n          fix:   ${r.fix}` : ''}\n`);
  }
  return target.accepted ? ExitCode.OK : ExitCode.DEVICE_REJECTED;
}

export interface InspectOptions {
  file: string;
  pubkey?: string;
  json?: boolean;
}

export function runInspect(opts: InspectOptions, io: Io): number {
  const file = readUserFile(resolveFrom(io, opts.file), 'file');
  const key = embeddedKeyFrom(opts.pubkey, io);
  const deviceKey = key ? decodeDevicePublicKey(keyAsStrlenSees(key)) : null;
  const keyLen = deviceKey ? verifierLength(deviceKey) : 0;
  const split = splitSigned(file, [...RSA_SIG_LENGTHS, keyLen]);
  const payload = split?.payload ?? file;
  const gzip = describeGzip(payload);
  const image = describeImage(gzip ? innerImage(payload, 0) : payload);
  const report = {
    file: resolveFrom(io, opts.file),
    size: file.length,
    kind: gzip ? 'gzip-compressed ESP8266 image' : image.app || image.boot ? 'ESP8266 image' : 'not an ESP8266 image',
    signature: split ? { length: split.sigLenTrailer, payloadLength: payload.length } : null,
    gzip,
    image,
    verifiesOn: key && split ? signatureVerdicts(file, key, PROFILES) : null,
    keyProblem: deviceKey ? deviceKeyProblem(deviceKey) : null,
  };
  if (opts.json) {
    printJson(io.stdout, report);
    return 0;
  }
  const out: string[] = [`${report.file}: ${report.size} bytes, ${report.kind}`];
  if (report.signature) out.push(`  signature: ${report.signature.length} bytes + 4-byte trailer after a ${report.signature.payloadLength}-byte payload`);
  else out.push('  signature: none (no trailer matching an RSA key size)');
  if (gzip) out.push(`  gzip: flags [${gzip.flags.join(' ')}], OS ${gzip.os}, ISIZE ${gzip.isize}, ${gzip.length} bytes (${gzip.length % 4 === 0 ? 'a multiple of 4' : `${gzip.length % 4} mod 4: cores 3.1.0–3.1.2 reject it signed`})`);
  for (const [name, h] of [['bootloader @0x0', image.boot], ['app @0x1000', image.app]] as const) {
    if (h) out.push(`  ${name}: mode ${h.flashMode}, size ${h.flashSize}, ${h.flashFreq}, entry ${h.entry}, ${h.segments.length} segments, ends at ${h.end}`);
  }
  if (report.keyProblem) out.push(`  key: the device cannot use it — ${report.keyProblem}`);
  for (const r of report.verifiesOn ?? []) out.push(`  ${r.accepted ? 'verifies' : 'rejected'} on ${r.core}${r.cause ? ` (${r.cause})` : ''}`);
  io.stderr(out.join('\n') + '\n');
  return 0;
}
