/**
 * The whole of serve's judgement, as one pure function: which release a device gets, and whether
 * it gets bytes (200), nothing to do (304), or a refusal with the reason. It answers 304 only when
 * the device already runs the release: the sketch MD5 it reports is one the release manifest
 * predicts for some artifact and flash mode, or it reports the release's version. It sends bytes
 * only when they fit the device's free space and chip, and are a kind its core takes.
 */
import type { ArtifactKind, ReleaseArtifact, ReleaseManifest } from '../releases/release.js';
import { installedSketchMd5s } from '../releases/release.js';
import type { Rule, Rules } from '../releases/rules.js';
import { compareVersions, parseVersion } from '../releases/version.js';
import type { DeviceRequest } from './request.js';

export interface Decision {
  status: 200 | 304 | 403 | 404 | 409;
  reason: string;
  rule?: string;
  release?: ReleaseManifest;
  artifact?: ReleaseArtifact;
  /** Something the operator should know even though the answer is right (issue 14). */
  warning?: string;
}

/** One shape for every decision: an object spread here cost more than the rest of decide(). */
function verdict(rule: Rule, status: Decision['status'], reason: string, release?: ReleaseManifest, artifact?: ReleaseArtifact, warning?: string): Decision {
  return { status, reason, rule: rule.name, release, artifact, warning };
}

const KIB = (n: number) => `${Math.round(n / 1024)} KiB`;

export function matchRule(req: DeviceRequest, rules: Rules): Rule | null {
  for (const r of rules.rules) {
    const m = r.match!;
    if (m.mac && !m.mac.has(req.staMac)) continue;
    if (m.chipId && (req.chipId === null || !m.chipId.has(req.chipId))) continue;
    if (m.currentVersion) {
      const v = req.version === null ? null : parseVersion(req.version);
      if (!v || !m.currentVersion(v)) continue;
    }
    return r;
  }
  return rules.default;
}

function byVersionDesc(a: ReleaseManifest, b: ReleaseManifest): number {
  return compareVersions(parseVersion(b.version)!, parseVersion(a.version)!);
}

/**
 * Each channel's releases, newest first. serve hands decide() the same frozen list until the
 * release folder changes, so the ordering is worked out once per list, not on every poll; a list
 * that is not frozen could change under a cache and is ordered afresh.
 */
const ordered = new WeakMap<readonly ReleaseManifest[], Map<string, ReleaseManifest[]>>();

function newestFirst(releases: readonly ReleaseManifest[], channel: string): ReleaseManifest[] {
  const pick = () => releases.filter((r) => r.channel === channel).sort(byVersionDesc);
  if (!Object.isFrozen(releases)) return pick();
  let byChannel = ordered.get(releases);
  if (!byChannel) ordered.set(releases, (byChannel = new Map()));
  let list = byChannel.get(channel);
  if (!list) byChannel.set(channel, (list = pick()));
  return list;
}

/** The artifact kinds a device under `rule` can take from `release`, best first. */
export function acceptedKinds(release: ReleaseManifest, rule: Rule): ArtifactKind[] {
  if (rule.core?.padding === 'null-oid') return ['legacy'];
  const signed = release.artifacts.some((a) => a.signature !== null);
  if (!signed) return rule.gzip ? ['gzip', 'plain'] : ['plain'];
  if (!rule.gzip) return ['signed'];
  return rule.unsignedFirmware ? ['gzip', 'signed'] : ['gzip-signed', 'signed'];
}

/** Why the device cannot take `a`, or null when it can. */
function unfit(a: ReleaseArtifact, req: DeviceRequest, rule: Rule): string | null {
  if (a.kind === 'gzip-signed' && rule.core && !rule.core.trimAfterVerify) {
    return `${a.name}: a signed gzip destroys the bootloader of core ${rule.core.releases} devices (#7570)`;
  }
  if (a.size > req.freeSpace) return `${a.name}: ${a.size} bytes do not fit the ${req.freeSpace} bytes of free sketch space`;
  if (a.imageFlashSize > req.chipSize) return `${a.name}: the image is built for a ${KIB(a.imageFlashSize)} flash, the chip has ${KIB(req.chipSize)}`;
  return null;
}

export function decide(req: DeviceRequest, releases: readonly ReleaseManifest[], rules: Rules): Decision {
  const rule = matchRule(req, rules);
  if (!rule) {
    const who = `${req.staMac}${req.chipId !== null ? ` (chip ${req.chipId})` : ''}${req.version ? ` version ${req.version}` : ''}`;
    return { status: rules.unmatched, reason: `no rule matches ${who} and there is no default` };
  }
  const channel = newestFirst(releases, rule.channel);
  const release = rule.version ? channel.find((r) => r.version === rule.version) : channel[0];
  if (!release) {
    if (rule.version) return verdict(rule, 404, `${rule.name} pins ${rule.channel}/${rule.version}, which is not published`);
    if (req.mode === 'version') return verdict(rule, 404, `channel ${rule.channel} has no release yet`);
    return verdict(rule, 304, `channel ${rule.channel} has no release yet`);
  }
  const id = `${release.channel}/${release.version}`;
  if (req.mode === 'version') return verdict(rule, 200, `${id} is the release for this device`, release, pickArtifact(release, req, rule).artifact);

  if (req.mode === 'spiffs') return decideFilesystem(req, release, rule);

  if (req.sketchMd5 && installedSketchMd5s(release).has(req.sketchMd5)) return verdict(rule, 304, `already runs ${id} (its sketch MD5 is the one this release installs)`, release);
  if (req.version === release.version) return verdict(rule, 304, `already runs ${id} (it reports version ${req.version})`, release);

  if (!rule.allowDowngrade) {
    const running = runningVersion(req, releases);
    const offered = parseVersion(release.version)!;
    if (running && compareVersions(running.version, offered) > 0) {
      return verdict(rule, 409, `downgrade refused: the device runs ${running.how}, newer than ${id} (set "allowDowngrade": true in ${rule.name} to allow)`, release);
    }
  }
  const pick = pickArtifact(release, req, rule);
  if (!pick.artifact) return verdict(rule, 409, `nothing in ${id} can go to this device: ${pick.why}`, release);
  return verdict(rule, 200, `update to ${id}`, release, pick.artifact);
}

const NOT_ATOMIC = 'a filesystem update is not protected by signing unless the firmware is built with ATOMIC_FS_UPDATE (without it a rejected image has already overwritten the filesystem); set "atomicFs": true in the rule once it is';

/**
 * updateFS(): the device reports nothing about its filesystem, so only the version it passes
 * (x-ESP8266-version) tells whether it has this release's image; without one there is no answer
 * but a refusal, or it would download the image on every poll.
 */
function decideFilesystem(req: DeviceRequest, release: ReleaseManifest, rule: Rule): Decision {
  const id = `${release.channel}/${release.version}`;
  const w = rule.atomicFs ? undefined : NOT_ATOMIC;
  const fs = release.artifacts.find((a) => a.kind === 'filesystem');
  if (!fs) return verdict(rule, 304, `${id} has no filesystem image`, release, undefined, w);
  if (req.version === release.version) return verdict(rule, 304, `already has the filesystem of ${id} (it reports version ${req.version})`, release, undefined, w);
  if (req.version === null) return verdict(rule, 409, 'a filesystem update needs x-ESP8266-version: pass the filesystem\'s version to ESPhttpUpdate.updateFS()', release, undefined, w);
  const running = parseVersion(req.version);
  if (!rule.allowDowngrade && running && compareVersions(running, parseVersion(release.version)!) > 0) {
    return verdict(rule, 409, `downgrade refused: the filesystem is version ${req.version}, newer than ${id} (set "allowDowngrade": true in ${rule.name} to allow)`, release, undefined, w);
  }
  const room = Number(release.build.fsEnd) - Number(release.build.fsStart);
  if (!(fs.size <= room)) return verdict(rule, 409, `${fs.name}: ${fs.size} bytes do not fit the ${room}-byte filesystem of the build`, release, undefined, w);
  return verdict(rule, 200, `filesystem update to ${id}`, release, fs, w);
}

function pickArtifact(release: ReleaseManifest, req: DeviceRequest, rule: Rule): { artifact?: ReleaseArtifact; why: string } {
  const kinds = acceptedKinds(release, rule);
  const reasons: string[] = [];
  for (const kind of kinds) {
    const a = release.artifacts.find((x) => x.kind === kind);
    if (!a) continue;
    const why = unfit(a, req, rule);
    if (!why) return { artifact: a, why: '' };
    reasons.push(why);
  }
  if (reasons.length === 0) return { why: `it has no ${kinds.join(' or ')} artifact${rule.core ? ` (what core ${rule.core.releases} devices take)` : ''}` };
  return { why: reasons.join('; ') };
}

/** What the device runs, from its sketch MD5 (any published release) or else its version string. */
function runningVersion(req: DeviceRequest, releases: readonly ReleaseManifest[]): { version: NonNullable<ReturnType<typeof parseVersion>>; how: string } | null {
  if (req.sketchMd5) {
    for (const r of releases) {
      if (installedSketchMd5s(r).has(req.sketchMd5)) return { version: parseVersion(r.version)!, how: `${r.channel}/${r.version} (by its sketch MD5)` };
    }
  }
  const v = req.version === null ? null : parseVersion(req.version);
  return v ? { version: v, how: `version ${req.version}` } : null;
}
