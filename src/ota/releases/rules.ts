/**
 * The rules file: which release each device gets. Rules are tried in order; the first whose
 * `match` holds (every field given) decides, else `default`, else the device gets `unmatched`
 * (304 or 403): never a guess. A rule names the device's core version so serve knows what that
 * firmware takes (gzip from 2.7.0, a signed gzip only from 3.0.0, the legacy signature on 2.5.x),
 * read from the emulator's one profile table.
 */
import { profileFor, type Profile } from '../../emulator/profiles.js';
import { channelProblem, versionProblem } from './release.js';
import { parseRange, type Range } from './version.js';

export interface Rule {
  name: string;
  match: { mac?: Set<string>; chipId?: Set<number>; currentVersion?: Range } | null;
  channel: string;
  /** Pin a release version instead of the channel's newest. */
  version: string | null;
  /** The device's core: decides the signature format and, unless `gzip` says otherwise, gzip. */
  core: Profile | null;
  gzip: boolean;
  allowDowngrade: boolean;
  /** The firmware is built with ATOMIC_FS_UPDATE: signing protects its filesystem updates. */
  atomicFs: boolean;
  /** Devices still run firmware built without signing (the transition): never a signed gzip. */
  unsignedFirmware: boolean;
}

export interface Rules {
  rules: Rule[];
  default: Rule | null;
  unmatched: 304 | 403;
}

/** Without a rules file: every device follows channel "stable", uncompressed, newest release. */
export const DEFAULT_RULES: Rules = {
  rules: [],
  default: { name: 'default', match: null, channel: 'stable', version: null, core: null, gzip: false, allowDowngrade: false, atomicFs: false, unsignedFirmware: false },
  unmatched: 403,
};

export const MAC_RE = /^[0-9A-F]{2}(?::[0-9A-F]{2}){5}$/;

const RULE_KEYS = new Set(['name', 'match', 'channel', 'version', 'core', 'gzip', 'allowDowngrade', 'atomicFs', 'unsignedFirmware']);
const MATCH_KEYS = new Set(['mac', 'chipId', 'currentVersion']);

/** Parses rules.json; throws an Error whose message names the rule and field at fault. */
export function parseRules(value: unknown): Rules {
  const o = value as Record<string, unknown>;
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new Error('is not a JSON object with "rules", "default" and "unmatched"');
  for (const k of Object.keys(o)) if (!['rules', 'default', 'unmatched'].includes(k)) throw new Error(`has an unknown key "${k}" (known: rules, default, unmatched)`);
  if (o.rules !== undefined && !Array.isArray(o.rules)) throw new Error('"rules" must be a list');
  const unmatched = o.unmatched ?? 403;
  if (unmatched !== 304 && unmatched !== 403) throw new Error('"unmatched" must be 304 (the device keeps running, no error) or 403 (the device logs HTTP_UE_SERVER_FORBIDDEN)');
  const rules = ((o.rules as unknown[] | undefined) ?? []).map((r, i) => parseRule(r, `rule ${i + 1}`, true));
  const def = o.default === undefined || o.default === null ? null : parseRule(o.default, '"default"', false);
  return { rules, default: def, unmatched };
}

function parseRule(value: unknown, where: string, needsMatch: boolean): Rule {
  const r = value as Record<string, unknown>;
  if (typeof r !== 'object' || r === null || Array.isArray(r)) throw new Error(`${where} is not an object`);
  for (const k of Object.keys(r)) if (!RULE_KEYS.has(k)) throw new Error(`${where} has an unknown key "${k}" (known: ${[...RULE_KEYS].join(', ')})`);
  const name = r.name === undefined ? where : typeof r.name === 'string' ? r.name : fail(`${where}: "name" must be a string`);
  const at = r.name === undefined ? where : `${where} ("${name}")`;
  const channel = r.channel ?? 'stable';
  if (typeof channel !== 'string' || channelProblem(channel)) throw new Error(`${at}: "channel" ${typeof channel === 'string' ? channelProblem(channel) : 'must be a string'}`);
  const version = r.version ?? null;
  if (version !== null && (typeof version !== 'string' || versionProblem(version))) throw new Error(`${at}: "version" ${typeof version === 'string' ? versionProblem(version) : 'must be a string'}`);
  let core: Profile | null = null;
  if (r.core !== undefined) {
    if (typeof r.core !== 'string') throw new Error(`${at}: "core" must be a version string such as "3.1.2"`);
    try {
      core = profileFor(r.core);
    } catch (err) {
      throw new Error(`${at}: "core" ${(err as Error).message}`);
    }
  }
  for (const k of ['gzip', 'allowDowngrade', 'atomicFs', 'unsignedFirmware']) {
    if (r[k] !== undefined && typeof r[k] !== 'boolean') throw new Error(`${at}: "${k}" must be true or false`);
  }
  if (r.gzip === true && !core) throw new Error(`${at}: "gzip": true needs "core" (which core version the devices run), because a gzip bricks or is refused by devices before 2.7.0`);
  if (r.gzip === true && core && !core.gzip) throw new Error(`${at}: "gzip": true, but core ${core.releases} devices cannot decompress updates (eboot learnt gzip in 2.7.0)`);
  // The core says what it takes; gzip may be turned off, never forced past the profile.
  const gzip = (r.gzip as boolean | undefined) ?? (core !== null && core.gzip);
  let match: Rule['match'] = null;
  if (needsMatch) {
    const m = r.match as Record<string, unknown> | undefined;
    if (typeof m !== 'object' || m === null || Object.keys(m).length === 0) throw new Error(`${at} needs a "match" with mac, chipId or currentVersion (a rule for everyone is "default")`);
    for (const k of Object.keys(m)) if (!MATCH_KEYS.has(k)) throw new Error(`${at}: "match" has an unknown key "${k}" (known: mac, chipId, currentVersion)`);
    match = {};
    if (m.mac !== undefined) {
      const macs = Array.isArray(m.mac) ? m.mac : [m.mac];
      for (const x of macs) if (typeof x !== 'string' || !MAC_RE.test(x.toUpperCase())) throw new Error(`${at}: "match.mac" has ${JSON.stringify(x)}, not a MAC like 18:FE:34:AA:BB:CC`);
      match.mac = new Set(macs.map((x) => (x as string).toUpperCase()));
    }
    if (m.chipId !== undefined) {
      const ids = Array.isArray(m.chipId) ? m.chipId : [m.chipId];
      for (const x of ids) if (!Number.isSafeInteger(x) || (x as number) < 0 || (x as number) > 0xffffffff) throw new Error(`${at}: "match.chipId" has ${JSON.stringify(x)}, not a chip id (ESP.getChipId(), a whole number)`);
      match.chipId = new Set(ids as number[]);
    }
    if (m.currentVersion !== undefined) {
      if (typeof m.currentVersion !== 'string') throw new Error(`${at}: "match.currentVersion" must be a range string such as ">=1.0.0 <2.0.0"`);
      const range = parseRange(m.currentVersion);
      if (typeof range === 'string') throw new Error(`${at}: "match.currentVersion" ${range}`);
      match.currentVersion = range;
    }
  } else if (r.match !== undefined) {
    throw new Error(`${at} cannot have a "match": it applies to every device no rule matched`);
  }
  return {
    name,
    match,
    channel,
    version: version as string | null,
    core,
    gzip,
    allowDowngrade: r.allowDowngrade === true,
    atomicFs: r.atomicFs === true,
    unsignedFirmware: r.unsignedFirmware === true,
  };
}

function fail(message: string): never {
  throw new Error(message);
}
