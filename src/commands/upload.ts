/**
 * `upload`: ArduinoOTA network upload (espota's protocol; the device side is unchanged) of the
 * artifact postbuild proved, after replaying it on the emulated device of the target core. Exit
 * codes: 0 the device said OK, 1 an error, 2 usage, 3 refused by the emulated device before
 * sending, 4 the device rejected it.
 */
import { createPublicKey } from 'node:crypto';
import { isIP } from 'node:net';
import { isatty } from 'node:tty';
import { ExitCode, UsageError, UserError, errnoCode } from '../errors.js';
import { readUserFile, resolveFrom, type Io } from '../io.js';
import { makeLayout, namedLayout, parseFlashSize } from '../emulator/layouts.js';
import { manifestLayout } from '../postbuild/manifest.js';
import { profileFor } from '../emulator/profiles.js';
import { FLASH_MODES, magicFlashChipSize, parseFlashMode } from '../image/image.js';
import { fingerprint } from '../keys/check.js';
import { readEmbeddedKey } from '../header-gen/read.js';
import { nowMs } from '../lazy.js';
import { printJson } from '../report.js';
import { artifactFromBuild, artifactFromFile, type ChosenArtifact } from '../ota/artifact.js';
import { openListener, runAttempt, timeoutsFor, type AttemptReport, type DeviceAddress, type Listener } from '../ota/espota/client.js';
import { explainOutcome, type UploadFacts } from '../ota/espota/explain.js';
import { nextTry } from '../ota/espota/retry.js';
import type { Outcome } from '../ota/espota/session.js';
import { md5Hex, OTA_COMMAND } from '../ota/espota/wire.js';
import { portHolder } from '../ota/port-holder.js';
import { precheckFilesystem, precheckFirmware, type PrecheckDevice, type PrecheckResult } from '../ota/precheck.js';
import { makeProgress } from '../ota/progress.js';
import { embeddedKeyFrom } from './device.js';

/** The fixed port the device dials back to (espota draws a random one, which no firewall rule can allow). */
export const DEFAULT_HOST_PORT = 8267;
export const DEFAULT_DEVICE_PORT = 8266;
export const PASSWORD_ENV = 'ESP8266_SIGN_OTA_PASSWORD';

export interface UploadOptions {
  file?: string;
  buildDir?: string;
  projectName?: string;
  host?: string;
  port?: number;
  hostIp?: string;
  hostPort?: number;
  filesystem?: boolean;
  /** The running firmware is built with -DATOMIC_FS_UPDATE: filesystem images are staged and verified first. */
  atomicFs?: boolean;
  passwordFile?: string;
  /** espota's `--auth=PASSWORD`, as the IDE's network pattern passes `{network.password}`. */
  auth?: string;
  core?: string;
  /** commander's --no-check sets false. */
  check?: boolean;
  pubkey?: string;
  layout?: string;
  retries?: number;
  timeout?: number;
  json?: boolean;
  quiet?: boolean;
}

function validate(o: UploadOptions): void {
  if (!o.host) throw new UsageError('--host ADDRESS is required: the device\'s IP address or name.');
  if (o.file && o.buildDir) throw new UsageError('give either FILE or --build-dir/--project-name, not both.');
  if (!o.file && !o.buildDir) throw new UsageError('nothing to upload: give FILE, or --build-dir DIR --project-name NAME to upload what postbuild proved.');
  if (o.buildDir && !o.projectName) throw new UsageError('--build-dir needs --project-name (the sketch\'s {build.project_name}, e.g. Blink.ino).');
  if (o.filesystem && o.buildDir) throw new UsageError('--filesystem uploads a filesystem image: give its FILE (the build manifest lists firmware only).');
  for (const [name, v] of [['--port', o.port], ['--host-port', o.hostPort]] as const) {
    if (v !== undefined && (!Number.isInteger(v) || v < 0 || v > 65535 || (name === '--port' && v === 0))) throw new UsageError(`${name} must be a port number (1–65535${name === '--host-port' ? ', or 0 for any free port' : ''}).`);
  }
  if (o.retries !== undefined && (!Number.isInteger(o.retries) || o.retries < 0 || o.retries > 10)) throw new UsageError('--retries must be a whole number from 0 to 10.');
  if (o.timeout !== undefined && !(o.timeout > 0 && o.timeout <= 600)) throw new UsageError('--timeout must be a number of seconds above 0 (at most 600).');
  if (o.core) profileFor(o.core);
}

function readPassword(o: UploadOptions, io: Io): string | null {
  if (o.passwordFile) {
    const first = readUserFile(resolveFrom(io, o.passwordFile), 'password file').toString('utf8').split(/\r?\n/, 1)[0] ?? '';
    if (first === '') throw new UserError(`password file ${o.passwordFile} is empty. Put the OTA password on its first line.`);
    return first;
  }
  // IDE 1.8 leaves `{network.password}` unexpanded when the device does not ask for one
  if (o.auth && !isPlaceholder(o.auth)) return o.auth;
  const env = io.env[PASSWORD_ENV];
  return env === undefined || env === '' ? null : env;
}

/** The device the file is checked on: the build's (manifest), or what the options say for a bare file. */
function precheckDevice(chosen: ChosenArtifact, o: UploadOptions, io: Io): PrecheckDevice {
  const m = chosen.manifest;
  if (m && chosen.buildDir) {
    const embeddedKey = m.signingEnabledInFirmware ? readEmbeddedKey(chosen.buildDir) : null;
    if (m.signingEnabledInFirmware && !embeddedKey) {
      throw new UserError(`cannot check ${chosen.path}: the build's ${chosen.buildDir}/core/Updater_Signing.h (the key compiled into the firmware) is gone. Rebuild the sketch, or skip the check with --no-check.`);
    }
    const layout = o.layout ? namedLayout(o.layout) : manifestLayout(m);
    return { core: o.core ?? m.core, layout, flashMode: parseFlashMode(m.build.flashMode, 'manifest build.flashMode'), runningSketchSize: m.input.size, embeddedKey };
  }
  if (!o.core) {
    throw new UserError(`no build manifest lists ${chosen.path}, so the device to check it on is unknown. Pass --core VERSION (with --pubkey KEY when the device's firmware checks signatures, and --layout such as 4M2M), or --no-check to send it unchecked.`);
  }
  const bytes = chosen.bytes;
  const layout = o.layout ? namedLayout(o.layout) : makeLayout(bytes[0] === 0xe9 ? magicFlashChipSize(bytes[3]! >> 4) : parseFlashSize('4M'));
  if (o.filesystem && layout.fsEnd === layout.fsStart) throw new UserError('--filesystem: the layout has no filesystem. Pass --layout with the board\'s (e.g. 4M2M), or --no-check.');
  return {
    core: o.core,
    layout,
    flashMode: (bytes[0] === 0xe9 && FLASH_MODES[bytes[2]!]) || 'dio',
    runningSketchSize: bytes.length,
    embeddedKey: embeddedKeyFrom(o.pubkey, io),
  };
}

function signedWith(chosen: ChosenArtifact, o: UploadOptions, io: Io): string | null {
  if (chosen.manifest) return chosen.manifest.key?.fingerprint ?? null;
  if (!o.pubkey) return null;
  try {
    return fingerprint(createPublicKey(readUserFile(resolveFrom(io, o.pubkey), 'public key')));
  } catch (err) {
    if (err instanceof UserError) throw err;
    return null;
  }
}

async function resolveDevice(host: string, port: number): Promise<DeviceAddress> {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  if (isIP(bare)) return { address: bare, family: isIP(bare) as 4 | 6, port };
  try {
    const { lookup } = await import('node:dns/promises'); // only for a name: most uploads give an address
    const r = await lookup(bare);
    return { address: r.address, family: r.family as 4 | 6, port };
  } catch {
    throw new UserError(`invite: cannot resolve the device name "${host}". Use its IP address (the IDE's network port shows it), or check the name (mDNS names end in .local).`);
  }
}

async function listen(address: string, port: number): Promise<Listener> {
  try {
    return await openListener(address, port);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'EADDRINUSE') {
      const who = portHolder(port);
      throw new UserError(`cannot listen on ${address}:${port} for the device's connection: the port is in use${who ? ` by process ${who.pid} (${who.name})` : ''}. Fix: ${who ? `stop that process, or ` : ''}choose another port with --host-port N (and allow it in the firewall)${who ? '' : '; "ss -ltnp" (Linux), "lsof -iTCP:' + port + ' -sTCP:LISTEN" (macOS) or "netstat -ano" (Windows) shows who holds it'}.`);
    }
    if (code === 'EADDRNOTAVAIL') throw new UserError(`cannot listen on ${address}: it is not an address of this computer. Fix: pass --host-ip with one of this computer's addresses on the device's network.`);
    if (code === 'EACCES') throw new UserError(`cannot listen on port ${port}: ports below 1024 need administrator rights. Fix: use --host-port ${DEFAULT_HOST_PORT}.`);
    throw new UserError(`cannot listen on ${address}:${port}: ${(err as Error).message}`);
  }
}

/** A builder passes a property it does not know as its literal `{name}`. */
export const isPlaceholder = (v: string) => /^\{[^}]*\}$/.test(v.trim());

const deviceSaidNo = (o: Outcome) => o.kind === 'auth-failed' || o.kind === 'begin-error' || o.kind === 'device-error';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every line behind the tool's name, as all commands report (README "Commands"). */
const tell = (io: Io, text: string) => io.stderr(text.split('\n').map((l) => `esp8266-sign: ${l}`).join('\n') + '\n');

export async function runUpload(o: UploadOptions, io: Io): Promise<number> {
  validate(o);
  const chosen = o.buildDir ? artifactFromBuild(resolveFrom(io, o.buildDir), o.projectName!, o.core) : artifactFromFile(resolveFrom(io, o.file!));
  const file = chosen.bytes;
  const say = (text: string) => {
    if (!o.quiet) io.stderr(`esp8266-sign: ${text}\n`);
  };
  // issue 14: the trap is named where users meet it
  if (o.filesystem && !o.atomicFs) {
    io.stderr('esp8266-sign: warning: unless the device\'s firmware is built with -DATOMIC_FS_UPDATE, the Updater writes this image over the live filesystem before it checks the signature: a rejected image has already replaced the old filesystem. Build with -DATOMIC_FS_UPDATE (then pass --atomic-fs).\n');
  }

  let check: PrecheckResult | null = null;
  let layoutFacts: UploadFacts['layout'] = null;
  if (o.check !== false) {
    const d = precheckDevice(chosen, o, io);
    layoutFacts = { fsStart: d.layout.fsStart, runningSketchSize: d.runningSketchSize };
    // the image the device must end up with comes from the file itself (its payload, inflated when gzip)
    check = o.filesystem ? precheckFilesystem(file, d, o.atomicFs) : precheckFirmware(file, d);
    if (!check.passed) {
      const text = `refused before sending: the emulated core ${check.core} device would not ${o.filesystem ? 'take' : 'boot'} ${chosen.path} (stage ${check.stage}${check.error ? `, ${check.error}` : ''}).\n  cause: ${check.cause}\n  fix:   ${check.fix}\n  (--no-check sends it anyway)`;
      if (o.json) printJson(io.stdout, { command: 'upload', file: chosen.path, size: file.length, check, attempts: [], result: 'refused', exitCode: ExitCode.DEVICE_REJECTED });
      tell(io, text);
      return ExitCode.DEVICE_REJECTED;
    }
  }

  const password = readPassword(o, io);
  const device = await resolveDevice(o.host!, o.port ?? DEFAULT_DEVICE_PORT);
  if (device.family === 6) io.stderr('esp8266-sign: warning: ArduinoOTA on the ESP8266 listens for IPv4 invitations only (its UDP socket is bound to IP_ADDR_ANY, the IPv4 wildcard, on every core); use the device\'s IPv4 address unless it runs another OTA responder.\n');
  if (o.hostIp && isIP(o.hostIp) !== device.family) throw new UsageError(`--host-ip ${o.hostIp} is an IPv${isIP(o.hostIp) || '?'} address but the device ${o.host} is reached over IPv${device.family}: give this computer's address of the same kind.`);
  const hostIp = o.hostIp ?? (device.family === 6 ? '::' : '0.0.0.0');
  const listener = await listen(hostIp, o.hostPort ?? DEFAULT_HOST_PORT);
  const facts: UploadFacts = { host: o.host!, port: device.port, hostPort: listener.port, size: file.length, fingerprint: signedWith(chosen, o, io), layout: layoutFacts };
  const timeouts = timeoutsFor(o.timeout ?? 10);
  const retries = o.retries ?? 2;
  const md5 = md5Hex(file);
  const attempts: AttemptReport[] = [];
  say(`uploading ${chosen.path} (${file.length} bytes${check ? `, accepted by the emulated core ${check.core} device` : ', not checked'}) to ${o.host}:${device.port}; the device connects back to port ${listener.port}`);

  const style = o.quiet || o.json ? 'none' : isatty(2) ? 'bar' : 'lines';
  const started = nowMs();
  let report: AttemptReport;
  try {
    for (let attempt = 1; ; attempt++) {
      const progress = makeProgress(style, io.stderr);
      report = await runAttempt({
        device,
        bindAddress: o.hostIp,
        listener,
        params: { command: o.filesystem ? OTA_COMMAND.filesystem : OTA_COMMAND.flash, size: file.length, md5, password },
        file,
        timeouts,
        onProgress: (sent, size) => progress.update(sent, size),
      });
      progress.end();
      attempts.push(report);
      const wait = nextTry(report.outcome, attempt, retries, timeouts.inviteReply / 10);
      if (wait === null) break;
      io.stderr(`esp8266-sign: warning: ${explainOutcome(report.outcome, facts).what}; trying again in ${(wait / 1000).toFixed(1)} s (attempt ${attempt + 1} of ${retries + 1})\n`);
      await sleep(wait);
    }
  } finally {
    await listener.close();
  }

  const outcome = report.outcome;
  const why = explainOutcome(outcome, facts);
  const exitCode = outcome.kind === 'ok' ? ExitCode.OK : deviceSaidNo(outcome) ? ExitCode.UPLOAD_REJECTED : ExitCode.ERROR;
  const seconds = ((nowMs() - started) / 1000).toFixed(2);
  if (o.json) {
    printJson(io.stdout, {
      command: 'upload', file: chosen.path, size: file.length, md5, host: o.host, address: device.address, port: device.port, hostPort: listener.port,
      check, attempts: attempts.map((a) => ({ outcome: a.outcome, phases: a.phases })),
      result: outcome.kind === 'ok' ? 'ok' : 'failed', reply: 'text' in outcome ? outcome.text : outcome.kind === 'ok' ? 'OK' : outcome.kind === 'auth-failed' ? 'Authentication Failed' : null,
      explanation: outcome.kind === 'ok' ? null : why, seconds: Number(seconds), exitCode,
    });
  }
  if (outcome.kind === 'ok') tell(io, `upload OK in ${seconds} s: ${why.what}.`);
  else tell(io, `upload failed at ${why.what}${attempts.length > 1 ? ` (after ${attempts.length} attempts)` : ''}.\n  cause: ${why.cause}\n  fix:   ${why.fix}`);
  return exitCode;
}


