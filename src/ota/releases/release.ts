/**
 * The release manifest (`release.json`), written by publish and read by serve. It records what
 * the device will see: the bytes sent (size, SHA-256, the MD5 for `x-MD5`) and the sketch MD5 it
 * reports after installing them (`ESP.getSketchMD5()`, per running flash mode), so serve can
 * answer 304 without ever comparing a device's MD5 with a file's.
 */
import { FLASH_MODES, type FlashMode } from '../../image/image.js';
import { parseVersion } from './version.js';

export const RELEASE_FILE = 'release.json';
export const RELEASE_MANIFEST_VERSION = 1;

/** The postbuild's kinds, and `filesystem`: an image for updateFS() given to publish --filesystem. */
export type ArtifactKind = 'plain' | 'signed' | 'legacy' | 'gzip' | 'gzip-signed' | 'filesystem';
export const ARTIFACT_KINDS: readonly ArtifactKind[] = ['plain', 'signed', 'legacy', 'gzip', 'gzip-signed', 'filesystem'];

export interface ReleaseArtifact {
  name: string;
  kind: ArtifactKind;
  signature: 'digestinfo' | 'legacy' | null;
  compressed: boolean;
  size: number;
  sha256: string;
  /** MD5 of the file as sent: the `x-MD5` header. */
  md5: string;
  /** The flash size in the image header (of the inflated image for a gzip); 0 for a filesystem. */
  imageFlashSize: number;
  /** The core version it was replayed on. */
  core: string;
  /** getSketchMD5() after it is installed on a device running in each flash mode; null where it does not install. */
  sketchMd5: Record<FlashMode, string | null>;
}

export interface ReleaseManifest {
  tool: 'esp8266-sign';
  releaseManifestVersion: number;
  project: string;
  version: string;
  channel: string;
  core: string;
  key: { fingerprint: string } | null;
  signingEnabledInFirmware: boolean;
  build: { flashSize: string; flashSizeBytes: number; flashMode: FlashMode; fsStart: string; fsEnd: string };
  input: { name: string; size: number; sha256: string };
  artifacts: ReleaseArtifact[];
}

/** A channel or version as a folder name: no separators, no dot files, nothing a shell or URL mangles. */
export const NAME_RE = /^[0-9A-Za-z][0-9A-Za-z._+-]{0,63}$/;

/** Why `text` cannot name a channel, or null. */
export function channelProblem(text: string): string | null {
  return NAME_RE.test(text) && !text.includes('..') ? null : 'must be 1–64 letters, digits, ".", "_", "+" or "-", starting with a letter or digit';
}

/** Why `text` cannot be a release version, or null: serve orders releases by it. */
export function versionProblem(text: string): string | null {
  if (!parseVersion(text)) return 'is not a version serve can order: use numbers like 1.4.0, optionally with -beta.2 or +build.7';
  return channelProblem(text);
}

/** A plain file name: what a release may name, never a path out of its folder. */
export function isPlainFileName(name: string): boolean {
  return name.length > 0 && name.length <= 255 && name !== '.' && name !== '..' && !/[/\\\0]/.test(name);
}

const HEX32 = /^[0-9a-f]{32}$/;
const HEX64 = /^[0-9a-f]{64}$/;

/**
 * Checks a parsed release.json: everything serve relies on has the right type and shape.
 * Returns the manifest or the first problem found, as the end of a sentence.
 */
export function validateRelease(value: unknown): ReleaseManifest | string {
  const o = value as Record<string, unknown>;
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return 'is not a JSON object';
  if (o.tool !== 'esp8266-sign' || o.releaseManifestVersion !== RELEASE_MANIFEST_VERSION) return `is not an esp8266-sign release manifest (version ${RELEASE_MANIFEST_VERSION})`;
  for (const k of ['project', 'version', 'channel', 'core'] as const) if (typeof o[k] !== 'string') return `has no "${k}" string`;
  if (versionProblem(o.version as string)) return `has version "${String(o.version)}", which ${versionProblem(o.version as string)}`;
  if (channelProblem(o.channel as string)) return `has channel "${String(o.channel)}", which ${channelProblem(o.channel as string)}`;
  const build = o.build as Record<string, unknown> | undefined;
  if (!build || !Number.isSafeInteger(build.flashSizeBytes) || !(FLASH_MODES as readonly unknown[]).includes(build.flashMode)) return 'has no valid "build" (flashSizeBytes, flashMode)';
  if (!Array.isArray(o.artifacts) || o.artifacts.length === 0) return 'lists no artifacts';
  const seen = new Set<string>();
  for (const a of o.artifacts as Array<Record<string, unknown>>) {
    const name = typeof a?.name === 'string' ? a.name : '';
    if (!isPlainFileName(name)) return `names an artifact "${name}" that is not a plain file name`;
    if (seen.has(name)) return `lists ${name} twice`;
    seen.add(name);
    if (!ARTIFACT_KINDS.includes(a.kind as ArtifactKind)) return `gives ${name} an unknown kind "${String(a.kind)}"`;
    if (!Number.isSafeInteger(a.size) || (a.size as number) <= 0) return `gives ${name} no positive size`;
    if (!Number.isSafeInteger(a.imageFlashSize)) return `gives ${name} no imageFlashSize`;
    if (typeof a.md5 !== 'string' || !HEX32.test(a.md5)) return `gives ${name} no MD5 (32 lower-case hex digits)`;
    if (typeof a.sha256 !== 'string' || !HEX64.test(a.sha256)) return `gives ${name} no SHA-256`;
    const md5s = a.sketchMd5 as Record<string, unknown> | undefined;
    if (!md5s || !FLASH_MODES.every((m) => md5s[m] === null || (typeof md5s[m] === 'string' && HEX32.test(md5s[m] as string)))) {
      return `gives ${name} no sketchMd5 per flash mode (${FLASH_MODES.join(', ')})`;
    }
  }
  return o as unknown as ReleaseManifest;
}

const installed = new WeakMap<ReleaseManifest, Set<string>>();

/** Every sketch MD5 a device reports once it runs this release, whichever artifact and flash mode. */
export function installedSketchMd5s(release: ReleaseManifest): Set<string> {
  let out = installed.get(release);
  if (!out) {
    out = new Set<string>();
    for (const a of release.artifacts) for (const m of FLASH_MODES) if (a.sketchMd5[m]) out.add(a.sketchMd5[m]!);
    installed.set(release, out);
  }
  return out;
}
