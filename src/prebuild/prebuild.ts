/**
 * The prebuild hook: `{build.path}/core/Updater_Signing.h` before anything is compiled. It also
 * runs for IDE 2's language-server builds, so it is quick and never fails when there are no keys.
 */
import { join } from 'node:path';
import { chooseEmbeddedKey, DISABLED_HEADER, renderHeader } from '../header-gen/header.js';
import { writeHeaderIfChanged } from '../header-gen/write.js';
import { resolveFrom, type Io } from '../io.js';
import { checkDeviceKey, spkiPem } from '../keys/check.js';
import { findKey } from '../keys/find.js';
import { parsePrivateKey } from '../keys/load.js';
import { readPassphrase } from '../keys/passphrase.js';
import { readSettings } from '../settings.js';

export interface PrebuildOptions {
  sketchDir: string;
  buildDir: string;
  coreVersion?: string;
  publicKey?: string;
  privateKey?: string;
  passphraseFile?: string;
}

export const headerPath = (buildDir: string) => join(buildDir, 'core', 'Updater_Signing.h');

export function runPrebuild(opts: PrebuildOptions, io: Io): number {
  const sketchDir = resolveFrom(io, opts.sketchDir);
  const out = headerPath(resolveFrom(io, opts.buildDir));
  const settings = readSettings(sketchDir);
  const lookup = { sketchDir, env: io.env, cwd: io.cwd };
  const pub = findKey('public', { ...lookup, option: opts.publicKey, settings: settings.publicKey }).found;
  let content = DISABLED_HEADER;
  if (pub) {
    const chosen = chooseEmbeddedKey(pub.bytes, pub.path ?? pub.source);
    for (const w of chosen.warnings) io.stderr(`esp8266-sign: warning: ${w}\n`);
    content = renderHeader(chosen.bytes);
    io.stderr(`esp8266-sign: public key from ${pub.source}${pub.path ? ` (${pub.path})` : ''}\n`);
  } else {
    const priv = findKey('private', { ...lookup, option: opts.privateKey, settings: settings.privateKey }).found;
    if (priv) {
      const key = parsePrivateKey(priv.bytes, priv.path ?? priv.source, readPassphrase(io.env, opts.passphraseFile));
      checkDeviceKey(key.key, priv.path ?? priv.source);
      content = renderHeader(spkiPem(key.publicKey));
      io.stderr(`esp8266-sign: no public key found; using the public half of the private key from ${priv.source}${priv.path ? ` (${priv.path})` : ''}\n`);
    }
  }
  writeHeaderIfChanged(out, content);
  if (content !== DISABLED_HEADER) io.stderr('Enabling binary signing\n');
  return 0;
}
