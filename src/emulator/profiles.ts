/**
 * One row per range of core releases whose device behaviour differs (device-behaviour.md §0, §3.9,
 * §5.8). Everything version-dependent in the emulator reads this table.
 */
import { UsageError } from '../errors.js';
import type { PaddingMode } from './bearssl.js';

export interface Profile {
  id: string;
  releases: string;
  /** What the RSA verifier unpads: the bare digest (2.5.x) or the SHA-256 DigestInfo. */
  padding: PaddingMode;
  /** The Updater accepts 1F 8B and eboot inflates (2.7.0+). */
  gzip: boolean;
  /** Which uploads get the first-sector flash-mode patch. */
  modePatch: 'every-command' | 'sketch' | 'sketch-not-gzip';
  /** write() refuses data past the declared size before buffering it (#6954, 2.7.0). */
  strictOverrun: boolean;
  /** end() fails with NO_DATA when nothing was written (3.0.0). */
  noDataCheck: boolean;
  /** The trailer is read only when the key expects a signature; binSize underflow is SIGN (3.1.0). */
  sigLenGuarded: boolean;
  /** 3.1.0–3.1.2 read the hash tail with the word API: a length not a multiple of 4 hashes stale bytes. */
  staleHashTail: boolean;
  /** `_size` is trimmed to the payload after verification, so eboot gets the real length (#7577, 3.0.0). */
  trimAfterVerify: boolean;
  /** The error code used when the signature buffer cannot be allocated. */
  sigOomIsSign: boolean;
  /** getErrorString (3.1.0+) or the older printError texts. */
  errorTexts: 'printError' | 'getErrorString';
  /** Codes 15 (RUNNING_ALREADY) and 16 (UNKNOWN_COMMAND) exist. */
  extraErrorCodes: boolean;
  /** eboot leaves sector 0 alone when the new bootloader is byte-identical (3.0.0). */
  ebootSkipsSameBootSector: boolean;
  /** eboot up to 2.7.4 erases the destination sector before reading or inflating the source (2.5.2, 2.6.3 and 2.7.4 source alike). */
  ebootErasesFirst: boolean;
  /** Verification ran on the 4 KiB main stack and may reset instead of failing cleanly (#7145). */
  verifyOnMainStack: boolean;
  /** begin(U_FS) refuses an image whose rounded size passes the filesystem end (2.6.0; 2.5.x writes on). */
  fsEndCheck: boolean;
  /** The Updater has the ATOMIC_FS_UPDATE branch: stage below the sketch space, eboot copies (#6505, 2.6.0). */
  atomicFs: boolean;
}

const base: Profile = {
  id: '',
  releases: '',
  padding: 'digestinfo',
  gzip: true,
  modePatch: 'sketch-not-gzip',
  strictOverrun: true,
  noDataCheck: true,
  sigLenGuarded: true,
  staleHashTail: false,
  trimAfterVerify: true,
  sigOomIsSign: false,
  errorTexts: 'getErrorString',
  extraErrorCodes: false,
  ebootSkipsSameBootSector: true,
  ebootErasesFirst: false,
  verifyOnMainStack: false,
  fsEndCheck: true,
  atomicFs: true,
};

const old = { ebootErasesFirst: true, noDataCheck: false, sigLenGuarded: false, trimAfterVerify: false, sigOomIsSign: true, errorTexts: 'printError', ebootSkipsSameBootSector: false } as const;

export const PROFILES: readonly Profile[] = [
  { ...base, ...old, id: '2.5', releases: '2.5.0–2.5.2', padding: 'null-oid', gzip: false, modePatch: 'every-command', strictOverrun: false, verifyOnMainStack: true, fsEndCheck: false, atomicFs: false },
  { ...base, ...old, id: '2.6', releases: '2.6.0–2.6.2', gzip: false, modePatch: 'every-command', strictOverrun: false, verifyOnMainStack: true },
  { ...base, ...old, id: '2.6.3', releases: '2.6.3', gzip: false, modePatch: 'sketch', strictOverrun: false, verifyOnMainStack: true },
  { ...base, ...old, id: '2.7', releases: '2.7.0–2.7.4' },
  { ...base, id: '3.0', releases: '3.0.0–3.0.2', sigLenGuarded: false, sigOomIsSign: true, errorTexts: 'printError' },
  { ...base, id: '3.1', releases: '3.1.0–3.1.2', staleHashTail: true },
  { ...base, id: '3.2.0-dev', releases: 'after 3.1.2 (3.2.0-dev)', extraErrorCodes: true },
];

/** The profile's releases as a phrase: "core 2.6.3", "cores 2.7.0–2.7.4", "cores after 3.1.2 (3.2.0-dev)". */
export function coreRange(p: Profile): string {
  // \u2013 is the en dash of "2.5.0–2.5.2", escaped: one non-ASCII character in a bundle makes V8
  // hold its whole source as two-byte text (twice the memory, and a slower parse)
  return /\u2013|^after/.test(p.releases) ? `cores ${p.releases}` : `core ${p.releases}`;
}

function byId(id: string): Profile {
  return PROFILES.find((p) => p.id === id)!;
}

const NEWEST = PROFILES[PROFILES.length - 1]!;
/** The newest release line the table models: 3.2.x is what the master branch after 3.1.2 becomes. */
const NEWEST_MODELLED = { major: 3, minor: 2 };
const KNOWN = '2.5.0–2.7.4, 3.0.0–3.1.2, 3.2.x (or latest)';

export interface ResolvedCore {
  profile: Profile;
  /** Set when the version is newer than anything modelled and the newest profile stands in for it. */
  warning: string | null;
}

/**
 * A core version as the user names it (`2.7.4`, `3.1.2`, `3.2.0-dev`, `latest`). A 3.x newer than
 * the table is answered with the newest profile and a warning (its Updater and eboot are most
 * likely unchanged); an unknown major or minor is a usage error, never a guess.
 */
export function resolveCore(version: string): ResolvedCore {
  const v = version.trim().toLowerCase();
  if (v === 'latest' || v === 'head' || v === 'master') return { profile: NEWEST, warning: null };
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?(?:-[\w.]+)?$/.exec(v);
  if (!m) throw new UsageError(`--core ${version} is not a core version. Use one like 2.7.4, 3.1.2 or latest (known: ${KNOWN}).`);
  const [major, minor, patch] = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
  const key = major * 10000 + minor * 100 + patch;
  if (major === 3 && minor > NEWEST_MODELLED.minor) {
    return { profile: NEWEST, warning: `core ${version} is newer than the newest modelled (${NEWEST.releases}); using the ${NEWEST.id} profile` };
  }
  if (major === 2 && minor < 5) throw new UsageError(`core ${version} predates signed updates (they arrived in 2.5.0). Known: ${KNOWN}.`);
  if (major !== 2 && major !== 3) throw new UsageError(`core ${version} is not a release of the ESP8266 Arduino core this tool knows. Known: ${KNOWN}.`);
  if (major === 2 && minor > 7) throw new UsageError(`core ${version} does not exist (2.7.4 was the last 2.x release). Known: ${KNOWN}.`);
  if (key < 20600) return { profile: byId('2.5'), warning: null };
  if (key < 20603) return { profile: byId('2.6'), warning: null };
  if (key < 20700) return { profile: byId('2.6.3'), warning: null };
  if (key < 30000) return { profile: byId('2.7'), warning: null };
  if (key < 30100) return { profile: byId('3.0'), warning: null };
  if (key < 30200) return { profile: byId('3.1'), warning: null };
  return { profile: NEWEST, warning: null };
}

/** The profile for a core version; throws UsageError as resolveCore does and drops the warning. */
export function profileFor(version: string): Profile {
  return resolveCore(version).profile;
}
