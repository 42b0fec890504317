/**
 * The key a build compiled in, read back from its header: postbuild checks the .bin against it,
 * upload and publish hand it to the emulated device. Kept apart from postbuild's stages so that
 * those commands do not load the compressor.
 */
import { MAX_KEY_BYTES, readOptionalFile } from '../io.js';
import { headerPath } from '../prebuild/prebuild.js';
import { parseHeader } from './header.js';

/** The key bytes of the header the build compiled, or null when it says ARDUINO_SIGNING 0 / is missing. */
export function readEmbeddedKey(buildDir: string): Buffer | null {
  const bytes = readOptionalFile(headerPath(buildDir), 'header', MAX_KEY_BYTES);
  return bytes === undefined ? null : parseHeader(bytes.toString('latin1'));
}
