/** `install`, `uninstall`, `doctor`: platform.local.txt beside each installed esp8266 core. */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../errors.js';
import { resolveFrom, writeFileAtomic, type Io } from '../io.js';
import { findCores, type InstalledCore } from '../arduino/discover.js';
import { headerKey, mergeBlock, NETWORK_KEY, removeBlock, renderBlock, SIGN_KEY, splitOurBlock, type Launcher } from '../arduino/recipes.js';
import { printJson } from '../report.js';
import { chooseEmbeddedKey } from '../header-gen/header.js';
import { samePublicKey } from '../keys/check.js';
import { findKey } from '../keys/find.js';
import { parsePrivateKey, parsePublicKey } from '../keys/load.js';
import { readPassphrase } from '../keys/passphrase.js';

export interface ArduinoOptions {
  coreDir?: string;
  dryRun?: boolean;
  json?: boolean;
  sketchDir?: string;
}

/** This installation of the tool, by absolute path, so the IDE needs no PATH lookup. */
export function thisLauncher(): Launcher {
  // built as dist/bundle/*.js and dist/commands/*.js: two folders below the package root either way
  return { node: process.execPath, cli: resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'bin', 'esp8266-sign.js') };
}

function cores(opts: ArduinoOptions, io: Io): InstalledCore[] {
  const found = findCores({ platform: process.platform, env: io.env, home: io.env.HOME ?? io.env.USERPROFILE ?? homedir() }, opts.coreDir && resolveFrom(io, opts.coreDir));
  if (found.length === 0) {
    throw new UserError(opts.coreDir
      ? `${opts.coreDir} does not hold an esp8266 core (no platform.txt naming ESP8266).`
      : 'no esp8266 core found in the Arduino data folders or sketchbook hardware/. Install it with the Boards Manager, or pass --core-dir with the folder that holds its platform.txt.');
  }
  return found;
}

const localFile = (core: InstalledCore) => join(core.dir, 'platform.local.txt');
const readOr = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8') : '');

export function runInstall(opts: ArduinoOptions, io: Io, launcher: Launcher = thisLauncher()): number {
  const results = cores(opts, io).map((core) => {
    const file = localFile(core);
    const before = readOr(file);
    const after = mergeBlock(before, renderBlock(core, launcher));
    const changed = after !== before;
    const { before: above, after: below } = splitOurBlock(before);
    if (changed && !opts.dryRun) writeFileAtomic(file, after);
    return { core: core.version, dir: core.dir, file, changed, keptForeignLines: (above + below).trim() !== '', content: after };
  });
  if (opts.json) printJson(io.stdout, { command: 'install', dryRun: Boolean(opts.dryRun), cores: results.map(({ content: _c, ...r }) => r) });
  for (const r of results) {
    io.stderr(`${opts.dryRun ? 'would ' : ''}${r.changed ? 'write' : 'leave unchanged'} ${r.file} (esp8266 core ${r.core})${r.keptForeignLines ? ', keeping its other lines' : ''}\n`);
    if (opts.dryRun && r.changed) io.stderr(r.content.replace(/^/gm, '    ') + '\n');
  }
  if (!opts.dryRun) io.stderr('Restart the Arduino IDE (or re-run arduino-cli) to pick up the change; re-run "esp8266-sign install" after a core upgrade.\n');
  return 0;
}

export function runUninstall(opts: ArduinoOptions, io: Io): number {
  const results = cores(opts, io).map((core) => {
    const file = localFile(core);
    const before = readOr(file);
    if (splitOurBlock(before).ours === null) return { core: core.version, file, action: 'nothing to remove' };
    const after = removeBlock(before);
    if (!opts.dryRun) {
      if (after.trim() === '') rmSync(file);
      else writeFileAtomic(file, after);
    }
    return { core: core.version, file, action: after.trim() === '' ? 'file removed' : 'block removed' };
  });
  if (opts.json) printJson(io.stdout, { command: 'uninstall', dryRun: Boolean(opts.dryRun), cores: results });
  for (const r of results) io.stderr(`${r.file}: ${opts.dryRun && r.action !== 'nothing to remove' ? `would be ${r.action}` : r.action}\n`);
  return 0;
}

export function runDoctor(opts: ArduinoOptions, io: Io, launcher: Launcher = thisLauncher()): number {
  const problems: string[] = [];
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 20) problems.push(`Node ${process.versions.node} is too old: install Node 20 or newer.`);
  let coreReports: unknown[] = [];
  try {
    coreReports = cores(opts, io).map((core) => {
      const ours = splitOurBlock(readOr(localFile(core))).ours;
      const current = ours === renderBlock(core, launcher);
      const keys = [headerKey(core), SIGN_KEY];
      const missing = keys.filter((k) => !core.properties.has(k));
      if (!ours) problems.push(`core ${core.version} (${core.dir}): esp8266-sign is not installed. Fix: esp8266-sign install --core-dir "${core.dir}"`);
      else if (!current) problems.push(`core ${core.version}: the installed block is outdated (tool moved or core changed). Fix: esp8266-sign install --core-dir "${core.dir}"`);
      if (missing.length) problems.push(`core ${core.version}: its platform.txt has no ${missing.join(', ')}; the override may not apply as expected.`);
      // network uploads go through `esp8266-sign upload` only when our block carries the pattern
      const networkUpload = ours !== null && ours.includes(`\n${NETWORK_KEY}=`) ? 'esp8266-sign upload' : 'espota.py';
      return { version: core.version, dir: core.dir, installed: ours !== null, current, overriddenKeysPresent: missing.length === 0, networkUpload };
    });
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    problems.push(err.message);
  }
  let sketch: unknown = null;
  if (opts.sketchDir) sketch = sketchReport(resolveFrom(io, opts.sketchDir), io, problems);
  const report = { node: process.versions.node, cores: coreReports, sketch, problems };
  if (opts.json) printJson(io.stdout, report);
  else {
    io.stderr(`Node ${process.versions.node}\n`);
    for (const c of coreReports as Array<{ version: string; dir: string; installed: boolean; current: boolean; networkUpload: string }>) io.stderr(`core ${c.version} at ${c.dir}: ${c.installed ? (c.current ? 'installed, current' : 'installed, OUTDATED') : 'not installed'}; network uploads: ${c.networkUpload}\n`);
    if (sketch) io.stderr(`sketch: ${JSON.stringify(sketch)}\n`);
    for (const p of problems) io.stderr(`problem: ${p}\n`);
    if (!problems.length) io.stderr('No problems found.\n');
  }
  return problems.length ? 1 : 0;
}

/** Which keys a build of this sketch would use, from where, and whether they work together. */
function sketchReport(sketchDir: string, io: Io, problems: string[]) {
  const lookup = { sketchDir, env: io.env, cwd: io.cwd };
  const pub = findKey('public', lookup).found;
  const priv = findKey('private', lookup).found;
  const report: Record<string, unknown> = {
    sketchDir,
    publicKey: pub ? { source: pub.source, path: pub.path } : null,
    privateKey: priv ? { source: priv.source, path: priv.path } : null,
  };
  try {
    const embedded = pub ? chooseEmbeddedKey(pub.bytes, pub.path ?? pub.source) : null;
    for (const w of embedded?.warnings ?? []) problems.push(w);
    report.deviceLoadable = embedded !== null;
    if (priv) {
      const key = parsePrivateKey(priv.bytes, priv.path ?? priv.source, readPassphrase(io.env));
      if (embedded) {
        const pubKey = parsePublicKey(embedded.bytes, 'public key')!.key;
        report.pairMatches = samePublicKey(key.publicKey, pubKey);
        if (!report.pairMatches) problems.push(`the private key (${priv.source}) does not belong to the public key (${pub!.source}): every signed update would be rejected. Use the matching pair.`);
      }
    } else if (pub) {
      problems.push('a public key but no private key: builds would enable signing and then fail to sign. Add private.key or set ESP8266_SIGN_PRIVATE_KEY.');
    }
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    problems.push(err.message);
  }
  if (!pub && !priv) report.signing = 'off (no keys found)';
  return report;
}
