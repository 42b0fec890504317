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
  /** 2.7.x eboot erases the destination sector before reading or inflating the source. */
  ebootErasesFirst: boolean;
  /** Verification ran on the 4 KiB main stack and may reset instead of failing cleanly (#7145). */
  verifyOnMainStack: boolean;
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
};

const old = { noDataCheck: false, sigLenGuarded: false, trimAfterVerify: false, sigOomIsSign: true, errorTexts: 'printError', ebootSkipsSameBootSector: false } as const;

export const PROFILES: readonly Profile[] = [
  { ...base, ...old, id: '2.5', releases: '2.5.0–2.5.2', padding: 'null-oid', gzip: false, modePatch: 'every-command', strictOverrun: false, verifyOnMainStack: true },
  { ...base, ...old, id: '2.6', releases: '2.6.0–2.6.2', gzip: false, modePatch: 'every-command', strictOverrun: false, verifyOnMainStack: true },
  { ...base, ...old, id: '2.6.3', releases: '2.6.3', gzip: false, modePatch: 'sketch', strictOverrun: false, verifyOnMainStack: true },
  { ...base, ...old, id: '2.7', releases: '2.7.0–2.7.4', ebootErasesFirst: true },
  { ...base, id: '3.0', releases: '3.0.0–3.0.2', sigLenGuarded: false, sigOomIsSign: true, errorTexts: 'printError' },
  { ...base, id: '3.1', releases: '3.1.0–3.1.2', staleHashTail: true },
  { ...base, id: '3.2.0-dev', releases: 'after 3.1.2 (3.2.0-dev)', extraErrorCodes: true },
];

function byId(id: string): Profile {
  return PROFILES.find((p) => p.id === id)!;
}

/** `--core` values: `2.7.4`, `3.1.2`, `3.2.0`, `3.2.0-dev`, `latest`. */
export function profileFor(version: string): Profile {
  const v = version.trim().toLowerCase();
  if (v === 'latest' || v === 'head' || v === 'master') return byId('3.2.0-dev');
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?(?:-[\w.]+)?$/.exec(v);
  if (!m) throw new UsageError(`--core ${version} is not a core version. Use one like 2.7.4, 3.1.2 or latest.`);
  const [major, minor, patch] = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
  const key = major * 10000 + minor * 100 + patch;
  if (key < 20500) throw new UsageError(`core ${version} predates signed updates (they arrived in 2.5.0).`);
  if (key < 20600) return byId('2.5');
  if (key < 20603) return byId('2.6');
  if (key < 20700) return byId('2.6.3');
  if (key < 30000) return byId('2.7');
  if (key < 30100) return byId('3.0');
  if (key < 30200) return byId('3.1');
  return byId('3.2.0-dev');
}
