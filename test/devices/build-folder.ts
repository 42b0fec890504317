/**
 * A build folder as a successful postbuild leaves it (manifest v2, see /work/briefs/manifest.md's
 * contract in README "manifest"): the .bin, core/Updater_Signing.h, the signed, legacy and gzip
 * artifacts and `{project}.manifest.json`, made with the project's own signer and gzip.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipForDevice } from '../../src/compress/gzip.js';
import { parseHeader, renderHeader } from '../../src/header-gen/header.js';
import { makeImage, type FlashMode } from '../../src/image/image.js';
import { fingerprint } from '../../src/keys/check.js';
import { appendSignature, sha256, signDigestInfo, signLegacy } from '../../src/signing/sign.js';
import { KEY2048, PUB2048 } from '../device-helpers.js';

export interface BuildSpec {
  project?: string;
  core?: string;
  mode?: FlashMode;
  flashSize?: string;
  size?: number;
  label?: string;
  signed?: boolean;
  compress?: boolean;
  legacy?: boolean;
  /** The key the artifacts are signed with (default the pair's own): another makes a build whose device rejects them. */
  signWith?: KeyObject;
}

export interface Build {
  dir: string;
  project: string;
  bin: Buffer;
  files: Record<string, Buffer>;
}

const FLASH_BYTES: Record<string, number> = { '1M': 1 << 20, '2M': 2 << 20, '4M': 4 << 20 };
const FS: Record<string, [string, string]> = { '1M': ['0xeb000', '0xfb000'], '2M': ['0x100000', '0x1fa000'], '4M': ['0x200000', '0x3fa000'] };

export function writeBuild(dir: string, spec: BuildSpec = {}): Build {
  const project = spec.project ?? 'sketch.ino';
  const core = spec.core ?? '3.1.2';
  const flashSize = spec.flashSize ?? '4M';
  const signed = spec.signed ?? true;
  mkdirSync(join(dir, 'core'), { recursive: true });
  writeFileSync(join(dir, 'core', 'Updater_Signing.h'), signed ? renderHeader(PUB2048) : '#define ARDUINO_SIGNING 0\n');
  const embed = signed ? parseHeader(renderHeader(PUB2048))! : undefined;
  const bin = makeImage({ flashMode: spec.mode ?? 'dio', flashSize, size: spec.size ?? 250_000, label: spec.label ?? 'serve test', embed });
  const files: Record<string, Buffer> = { [`${project}.bin`]: bin };
  const artifacts: object[] = [];
  const verdict = (c: string) => [{ core: c, passed: true, stage: 'done', error: null, cause: null }];
  const add = (name: string, kind: string, bytes: Buffer, signature: string | null, compressed: boolean, extra: object = {}) => {
    files[name] = bytes;
    artifacts.push({ name, kind, path: join(dir, name), size: bytes.length, sha256: sha256(bytes).toString('hex'), ratio: Number((bytes.length / bin.length).toFixed(4)), signature, compressed, ...extra });
  };
  if (signed) {
    add(`${project}.bin.signed`, 'signed', appendSignature(bin, signDigestInfo(sha256(bin), spec.signWith ?? KEY2048)), 'digestinfo', false, { verdicts: verdict(core) });
    if (spec.legacy ?? true) add(`${project}.bin.legacy_sig`, 'legacy', appendSignature(bin, signLegacy(sha256(bin), spec.signWith ?? KEY2048)), 'legacy', false, { verdicts: verdict('2.5.2') });
  } else {
    add(`${project}.bin`, 'plain', bin, null, false, { verdicts: verdict(core) });
  }
  if (spec.compress) {
    const gz = gzipForDevice(bin, { alignTo4: true });
    if (signed) {
      add(`${project}.bin.gz.signed`, 'gzip-signed', appendSignature(gz, signDigestInfo(sha256(gz), spec.signWith ?? KEY2048)), 'digestinfo', true, { verdicts: verdict(core) });
      add(`${project}.bin.gz`, 'gzip', gz, null, true, { payloadOf: `${project}.bin.gz.signed`, verdicts: [] });
    } else {
      add(`${project}.bin.gz`, 'gzip', gz, null, true, { verdicts: verdict(core) });
    }
  }
  const [fsStart, fsEnd] = FS[flashSize]!;
  const manifest = {
    tool: 'esp8266-sign',
    toolVersion: '0.2.0',
    manifestVersion: 2,
    project,
    core,
    build: { flashSize, flashSizeBytes: FLASH_BYTES[flashSize], flashMode: spec.mode ?? 'dio', fsStart, fsEnd },
    input: { name: `${project}.bin`, path: join(dir, `${project}.bin`), size: bin.length, sha256: sha256(bin).toString('hex') },
    key: signed ? { fingerprint: fingerprint(createPublicKey(KEY2048)), source: 'the sketch folder', path: '/elsewhere/private.key' } : null,
    signingEnabledInFirmware: signed,
    artifacts,
    targets: [{ core, artifact: artifacts[0] && (artifacts[0] as { name: string }).name }],
    upload: (artifacts[0] as { name: string }).name,
    warnings: [],
  };
  for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, name), bytes);
  writeFileSync(join(dir, `${project}.manifest.json`), JSON.stringify(manifest, null, 2));
  return { dir, project, bin, files };
}
