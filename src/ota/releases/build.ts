/**
 * Which artifacts of a build a release takes. The postbuild manifest (src/postbuild/manifest.ts)
 * lists every artifact with its verdicts; a release takes those the device of the build's own core
 * booted (a payload such as the `.bin.gz` inside a `.bin.gz.signed` counts with its carrier).
 */
import { createHash } from 'node:crypto';
import type { Manifest, ManifestArtifact } from '../../postbuild/manifest.js';

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function publishable(m: Manifest): ManifestArtifact[] {
  const passedOwn = (a: ManifestArtifact, depth = 0): boolean => {
    if (a.payloadOf) {
      const carrier = m.artifacts.find((x) => x.name === a.payloadOf);
      return carrier !== undefined && depth < 2 && passedOwn(carrier, depth + 1);
    }
    // a build without a key lists its .bin as `plain`; publish replays it anyway (post-install MD5)
    return a.verdicts[0]?.passed ?? a.kind === 'plain';
  };
  return m.artifacts.filter((a) => passedOwn(a));
}
