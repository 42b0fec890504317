/**
 * The release folder: `RELEASES/<channel>/<version>/` holds `release.json` and the artifacts it
 * lists. publish builds a release in a dot-folder and renames it into place, so a folder under a
 * channel is complete or absent; names starting with "." are never read. A release is checked once
 * when first seen (every file's size, SHA-256 and MD5 against the manifest) and then trusted,
 * since published releases are never changed in place. The bytes read for that check are kept,
 * once for all requests, while they fit HOLD_BYTES; beyond it serve streams files from disk.
 */
import { createHash } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { errnoCode, UserError } from '../../errors.js';
import { readUserFile } from '../../io.js';
import { RELEASE_FILE, validateRelease, type ReleaseManifest } from './release.js';

export interface StoredRelease {
  /** `<channel>/<version>`, as logged. */
  id: string;
  dir: string;
  manifest: ReleaseManifest;
  /** Artifact bytes by name, as checked; sent without touching the disk again. */
  held: Map<string, Buffer>;
}

const MAX_MANIFEST_BYTES = 1 << 20;
/** Artifact bytes kept in memory across all releases (a few releases of 1 MiB images). */
export const HOLD_BYTES = 32 * 1024 * 1024;

/** A release folder checked against its manifest, or the reason it cannot be served. */
export function loadRelease(dir: string, channel: string, version: string, holdBudget = 0): StoredRelease | string {
  const manifestPath = join(dir, RELEASE_FILE);
  let text: string;
  try {
    // only regular files, size-bounded: a FIFO or /dev/zero in a release folder must not hang serve
    text = readUserFile(manifestPath, 'release manifest', '', MAX_MANIFEST_BYTES).toString('utf8');
  } catch (err) {
    return (err as Error).message;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return `${manifestPath} is not valid JSON`;
  }
  const manifest = validateRelease(parsed);
  if (typeof manifest === 'string') return `${manifestPath} ${manifest}`;
  if (manifest.channel !== channel || manifest.version !== version) {
    return `${manifestPath} is release ${manifest.channel}/${manifest.version} but sits in ${channel}/${version}; move it back or publish again`;
  }
  const held = new Map<string, Buffer>();
  let budget = holdBudget;
  for (const a of manifest.artifacts) {
    const path = join(dir, a.name);
    let bytes: Buffer;
    try {
      bytes = readUserFile(path, 'artifact');
    } catch (err) {
      return `${(err as Error).message.replace(/\.$/, '')} (listed in ${RELEASE_FILE})`;
    }
    if (bytes.length !== a.size) return `${path} has ${bytes.length} bytes, ${RELEASE_FILE} says ${a.size}`;
    if (createHash('sha256').update(bytes).digest('hex') !== a.sha256 || createHash('md5').update(bytes).digest('hex') !== a.md5) {
      return `${path} is not the file ${RELEASE_FILE} describes (its hash differs); publish the release again`;
    }
    if (bytes.length <= budget) {
      held.set(a.name, bytes);
      budget -= bytes.length;
    }
  }
  return { id: `${channel}/${version}`, dir, manifest, held };
}

function subfolders(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
}

/** Fails with a clear message when the release folder itself is missing or not a folder. */
export function assertReleaseRoot(root: string): void {
  let st;
  try {
    st = statSync(root);
  } catch {
    throw new UserError(`release folder ${root} does not exist. Create it with: esp8266-sign publish ... --to "${root}"`);
  }
  if (!st.isDirectory()) throw new UserError(`release folder ${root} is not a folder.`);
}

/** A release that failed its check is checked again after this long (say, one still being copied in by hand). */
export const PROBLEM_RECHECK_MS = 30_000;

/**
 * Every release under `root`. `known` keeps releases already checked (keyed by folder), and
 * `problems` those that failed: checked again when the manifest changes or PROBLEM_RECHECK_MS
 * has passed, and warned about again only when the reason changes.
 */
export class ReleaseStore {
  private known = new Map<string, StoredRelease>();
  private problems = new Map<string, { mtimeMs: number; reason: string; at: number }>();
  private rootProblem = false;

  constructor(
    readonly root: string,
    private readonly onProblem: (reason: string) => void = () => {},
    private readonly holdBytes = 0,
    private readonly recheckMs = PROBLEM_RECHECK_MS,
  ) {}

  /** Reads the folder again: new releases are checked and added, removed ones dropped. */
  scan(): StoredRelease[] {
    const seen = new Set<string>();
    let channels: string[];
    try {
      channels = subfolders(this.root);
    } catch (err) {
      // the folder went away or became unreadable: serve nothing rather than something stale
      if (!this.rootProblem) this.onProblem(`the release folder ${this.root} cannot be read (${errnoCode(err) ?? (err as Error).message}); no release is served until it can`);
      this.rootProblem = true;
      this.known.clear();
      return [];
    }
    this.rootProblem = false;
    for (const channel of channels) {
      let versions: string[];
      try {
        versions = subfolders(join(this.root, channel));
      } catch {
        continue; // removed while we looked
      }
      for (const version of versions) {
        const dir = join(this.root, channel, version);
        seen.add(dir);
        if (this.known.has(dir)) continue;
        const mtimeMs = statSync(join(dir, RELEASE_FILE), { throwIfNoEntry: false })?.mtimeMs ?? 0;
        const before = this.problems.get(dir);
        const now = Date.now();
        if (before && before.mtimeMs === mtimeMs && now - before.at < this.recheckMs) continue;
        const r = loadRelease(dir, channel, version, this.holdBytes - this.heldBytes());
        if (typeof r === 'string') {
          this.problems.set(dir, { mtimeMs, reason: r, at: now });
          if (before?.reason !== r) this.onProblem(`release ${channel}/${version} is not served: ${r}`);
        } else {
          this.problems.delete(dir);
          this.known.set(dir, r);
        }
      }
    }
    for (const dir of [...this.known.keys()]) if (!seen.has(dir)) this.known.delete(dir);
    return this.releases();
  }

  private heldBytes(): number {
    let n = 0;
    for (const r of this.known.values()) for (const b of r.held.values()) n += b.length;
    return n;
  }

  releases(): StoredRelease[] {
    return [...this.known.values()];
  }
}
