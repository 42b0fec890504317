/** `install`, `uninstall`, `doctor`: platform.local.txt beside each installed esp8266 core. */
import { rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../errors.js';
import { readOptionalFile, resolveFrom, writeFileAtomic, type Io } from '../io.js';
import { findCores, type InstalledCore } from '../arduino/discover.js';
import { conflictingKeys, END_MARKER, headerKey, mergeBlock, NETWORK_KEY, removeBlock, renderBlock, SIGN_KEY, splitOurBlock, type Launcher } from '../arduino/recipes.js';
import { printJson } from '../report.js';
import { readSettings } from '../settings.js';
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

/**
 * platform.local.txt as one character per byte (latin1): the user's lines come back byte for byte
 * whatever their encoding, and our block goes in as its UTF-8 bytes (see `asBytes`).
 */
function readLocal(file: string): string {
  return readOptionalFile(file, 'platform.local.txt', 4 * 1024 * 1024)?.toString('latin1') ?? '';
}

/** Our block's text as the byte string readLocal's encoding expects. */
const asBytes = (utf8: string) => Buffer.from(utf8, 'utf8').toString('latin1');

function writeLocal(file: string, text: string): void {
  writeFileAtomic(file, Buffer.from(text, 'latin1'));
}

/** Our begin marker without the end marker: where our lines stop is unknown, so nothing is changed. */
function refuseBroken(file: string, text: string): void {
  if (splitOurBlock(text).broken) {
    throw new UserError(`${file} has esp8266-sign's begin marker but not its end marker (edited by hand?), so it is unclear which lines are ours. Nothing was changed. Put the line "${END_MARKER}" after our lines (or delete our lines and the marker), then run the command again.`);
  }
}

export function runInstall(opts: ArduinoOptions, io: Io, launcher: Launcher = thisLauncher()): number {
  const found = cores(opts, io);
  const texts = found.map((core) => readLocal(localFile(core)));
  found.forEach((core, i) => refuseBroken(localFile(core), texts[i]!));
  const results = found.map((core, i) => {
    const file = localFile(core);
    const before = texts[i]!;
    const block = asBytes(renderBlock(core, launcher));
    const after = mergeBlock(before, block);
    const changed = after !== before;
    const { before: above, after: below } = splitOurBlock(before);
    if (changed && !opts.dryRun) writeLocal(file, after);
    return { core: core.version, dir: core.dir, file, changed, keptForeignLines: (above + below).trim() !== '', conflicts: conflictingKeys(after, block), content: after };
  });
  if (opts.json) printJson(io.stdout, { command: 'install', dryRun: Boolean(opts.dryRun), cores: results.map(({ content: _c, ...r }) => r) });
  for (const r of results) {
    io.stderr(`esp8266-sign: ${opts.dryRun ? 'would ' : ''}${r.changed ? 'write' : 'leave unchanged'} ${r.file} (esp8266 core ${r.core})${r.keptForeignLines ? ', keeping its other lines' : ''}\n`);
    for (const c of r.conflicts) {
      io.stderr(c.where === 'above'
        ? `esp8266-sign: warning: ${r.file} also sets ${c.key} above our block; ours comes later, so ours wins. Remove your line to silence this.\n`
        : `esp8266-sign: warning: ${r.file} sets ${c.key} again below our block; that later line wins, so esp8266-sign's step does not run. Remove it, or move it above our block.\n`);
    }
    if (opts.dryRun && r.changed) io.stderr(Buffer.from(r.content, 'latin1').toString('utf8').replace(/^/gm, '    ') + '\n');
  }
  if (!opts.dryRun && results.some((r) => r.changed)) io.stderr('esp8266-sign: restart the Arduino IDE (or re-run arduino-cli) to pick up the change; re-run "esp8266-sign install" after a core upgrade.\n');
  return 0;
}

export function runUninstall(opts: ArduinoOptions, io: Io): number {
  const found = cores(opts, io);
  const texts = found.map((core) => readLocal(localFile(core)));
  found.forEach((core, i) => refuseBroken(localFile(core), texts[i]!));
  const results = found.map((core, i) => {
    const file = localFile(core);
    const before = texts[i]!;
    if (splitOurBlock(before).ours === null) return { core: core.version, file, action: 'nothing to remove' as const };
    const after = removeBlock(before);
    const action = after.trim() === '' ? ('remove the file' as const) : ('remove our block' as const);
    if (!opts.dryRun) {
      if (action === 'remove the file') rmSync(file);
      else writeLocal(file, after);
    }
    return { core: core.version, file, action };
  });
  if (opts.json) printJson(io.stdout, { command: 'uninstall', dryRun: Boolean(opts.dryRun), cores: results });
  const said = { 'nothing to remove': ['nothing to remove', 'nothing to remove'], 'remove the file': ['would remove the file', 'file removed'], 'remove our block': ['would remove our block', 'our block removed, your lines kept'] } as const;
  for (const r of results) io.stderr(`esp8266-sign: ${r.file}: ${said[r.action][opts.dryRun ? 0 : 1]}\n`);
  if (!opts.dryRun && results.some((r) => r.action !== 'nothing to remove')) io.stderr('esp8266-sign: restart the Arduino IDE to pick up the change.\n');
  return 0;
}

/**
 * `doctor`: every finding in plain words with its fix. It fails (exit 1) only for a problem where
 * the user wants esp8266-sign to work: a core it is installed in (or the one named), this Node, or
 * the sketch asked about; a core it was never installed in is only mentioned.
 */
export function runDoctor(opts: ArduinoOptions, io: Io, launcher: Launcher = thisLauncher()): number {
  const problems: string[] = [];
  const notes: string[] = [];
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 20) problems.push(`Node ${process.versions.node} is too old: install Node 20 or newer.`);
  const lines: string[] = [`Node ${process.versions.node}`];
  let coreReports: Array<{ version: string; dir: string; installed: boolean; current: boolean; overriddenKeysPresent: boolean; networkUpload: string }> = [];
  try {
    coreReports = cores(opts, io).map((core) => {
      const text = readLocal(localFile(core));
      const split = splitOurBlock(text);
      const ours = split.ours === null ? null : Buffer.from(split.ours, 'latin1').toString('utf8');
      const current = ours === renderBlock(core, launcher);
      const missing = [headerKey(core), SIGN_KEY].filter((k) => !core.properties.has(k));
      const fix = `esp8266-sign install --core-dir "${core.dir}"`;
      const asked = Boolean(opts.coreDir);
      if (split.broken) problems.push(`core ${core.version}: ${localFile(core)} has our begin marker but no end marker. Fix: restore the line "${END_MARKER}" after our lines.`);
      else if (!ours) (asked ? problems : notes).push(`core ${core.version} (${core.dir}): esp8266-sign is not installed there, so it signs with signing.py. Fix: ${fix}`);
      else if (!current) problems.push(`core ${core.version}: the installed block is outdated (esp8266-sign moved, or the core changed). Fix: ${fix}`);
      if ((ours || asked) && missing.length) problems.push(`core ${core.version}: its platform.txt has no ${missing.join(', ')}; the override may not apply as expected.`);
      for (const c of ours ? conflictingKeys(text, split.ours!) : []) {
        if (c.where === 'below') problems.push(`core ${core.version}: ${localFile(core)} sets ${c.key} again below our block, and that line wins. Fix: remove it.`);
      }
      // network uploads go through `esp8266-sign upload` only when our block carries the pattern
      const networkUpload = ours !== null && ours.includes(`\n${NETWORK_KEY}=`) ? 'esp8266-sign upload' : 'espota.py';
      lines.push(`core ${core.version} at ${core.dir}: ${ours ? (current ? 'esp8266-sign installed, current' : 'esp8266-sign installed, OUTDATED') : 'esp8266-sign not installed'}; network uploads: ${networkUpload}`);
      return { version: core.version, dir: core.dir, installed: ours !== null, current, overriddenKeysPresent: missing.length === 0, networkUpload };
    });
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    (opts.coreDir ? problems : notes).push(err.message);
  }
  let sketch: ReturnType<typeof sketchReport> | null = null;
  if (opts.sketchDir) {
    sketch = sketchReport(resolveFrom(io, opts.sketchDir), io, problems, notes);
    lines.push(...sketch.lines);
  }
  const report = { node: process.versions.node, cores: coreReports, sketch: sketch?.facts ?? null, problems, notes };
  if (opts.json) printJson(io.stdout, report);
  const out = [...lines, ...notes.map((n) => `note: ${n}`), ...problems.map((p) => `problem: ${p}`), problems.length ? `${problems.length} ${problems.length === 1 ? 'problem' : 'problems'} found.` : 'No problems found.'];
  io.stderr(out.map((l) => `esp8266-sign: ${l}`).join('\n') + '\n');
  return problems.length ? 1 : 0;
}

/** Which keys a build of this sketch would use, from where, and whether they work together. */
function sketchReport(sketchDir: string, io: Io, problems: string[], notes: string[]) {
  const lookup = { sketchDir, env: io.env, cwd: io.cwd };
  const lines: string[] = [`sketch ${sketchDir}:`];
  const facts: Record<string, unknown> = { sketchDir };
  try {
    const settings = readSettings(sketchDir);
    const pub = findKey('public', { ...lookup, settings: settings.publicKey }).found;
    const priv = findKey('private', { ...lookup, settings: settings.privateKey }).found;
    const from = (k: { source: string; path: string | null }) => `${k.source}${k.path && k.path !== k.source ? ` (${k.path})` : ''}`;
    facts.publicKey = pub ? { source: pub.source, path: pub.path } : null;
    facts.privateKey = priv ? { source: priv.source, path: priv.path } : null;
    lines.push(`  public key: ${pub ? from(pub) : 'none found'}`, `  private key: ${priv ? from(priv) : 'none found'}`);
    const embedded = pub ? chooseEmbeddedKey(pub.bytes, pub.path ?? pub.source) : null;
    for (const w of embedded?.warnings ?? []) problems.push(w);
    facts.deviceLoadable = embedded !== null;
    if (priv) {
      const key = parsePrivateKey(priv.bytes, priv.path ?? priv.source, readPassphrase(io.env));
      if (embedded) {
        const pubKey = parsePublicKey(embedded.bytes, 'public key')!.key;
        facts.pairMatches = samePublicKey(key.publicKey, pubKey);
        lines.push(`  the pair ${facts.pairMatches ? 'matches' : 'does NOT match'}`);
        if (!facts.pairMatches) problems.push(`the private key (${priv.source}) does not belong to the public key (${pub!.source}): every signed update would be rejected. Use the matching pair.`);
      }
    } else if (pub) {
      problems.push('a public key but no private key: builds would enable signing and then fail to sign. Add private.key or set ESP8266_SIGN_PRIVATE_KEY.');
    }
    facts.signing = pub || priv ? 'on' : 'off (no keys found)';
    lines.push(`  signing: ${facts.signing}`);
    if ((pub || priv) && !settings.atomicFs) {
      notes.push('signing protects sketch updates, but filesystem (U_FS) updates only when the firmware is built with -DATOMIC_FS_UPDATE: without it the Updater writes a filesystem image over the live filesystem before it checks the signature. Build with -DATOMIC_FS_UPDATE and set "atomicFs": true in esp8266-sign.json.');
    }
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    problems.push(err.message);
  }
  return { facts, lines };
}
