/**
 * A build folder as postbuild leaves it (manifest v2, briefs/manifest.md): the .bin with the key
 * compiled in, core/Updater_Signing.h, the signed artifact, and {project}.manifest.json. Built by
 * hand so upload tests can also write manifests postbuild never would (a mis-signed artifact).
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderHeader } from '../../src/header-gen/header.js';
import { makeImage } from '../../src/image/image.js';
import { fingerprint } from '../../src/keys/check.js';
import { KEY2048, PUB2048, signWith } from '../device-helpers.js';
import { tempDir } from '../helpers.js';

export interface BuildDir {
  dir: string;
  project: string;
  bin: Buffer;
  signed: Buffer;
  binPath: string;
  signedPath: string;
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

export function buildDir(o: { size?: number; signWith?: KeyObject; core?: string; project?: string } = {}): BuildDir {
  const dir = join(tempDir(), 'build folder');
  const project = o.project ?? 'Blink.ino';
  mkdirSync(join(dir, 'core'), { recursive: true });
  writeFileSync(join(dir, 'core', 'Updater_Signing.h'), renderHeader(PUB2048));
  const bin = makeImage({ size: o.size ?? 120_000, flashMode: 'dio', embed: PUB2048, label: `upload ${project}` });
  const signed = signWith(bin, o.signWith ?? KEY2048);
  const binPath = join(dir, `${project}.bin`);
  const signedPath = join(dir, `${project}.bin.signed`);
  writeFileSync(binPath, bin);
  writeFileSync(signedPath, signed);
  const core = o.core ?? '3.1.2';
  const manifest = {
    tool: 'esp8266-sign',
    toolVersion: '0.2.0',
    manifestVersion: 2,
    project,
    core,
    build: { flashSize: '4M', flashSizeBytes: 4 * 1024 * 1024, flashMode: 'dio', fsStart: '0x200000', fsEnd: '0x3fa000' },
    input: { name: `${project}.bin`, path: binPath, size: bin.length, sha256: sha(bin) },
    key: { fingerprint: fingerprint(createPublicKey(KEY2048)), source: 'the sketch folder', path: join(dir, 'private.key') },
    signingEnabledInFirmware: true,
    artifacts: [{ name: `${project}.bin.signed`, kind: 'signed', path: signedPath, size: signed.length, sha256: sha(signed), ratio: 1, signature: 'digestinfo', compressed: false, verdicts: [{ core, passed: true, stage: 'done', error: null, cause: null }] }],
    targets: [{ core, artifact: `${project}.bin.signed` }],
    upload: `${project}.bin.signed`,
    warnings: [],
  };
  writeFileSync(join(dir, `${project}.manifest.json`), JSON.stringify(manifest, null, 2));
  return { dir, project, bin, signed, binPath, signedPath };
}
