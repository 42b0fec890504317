/**
 * Filesystem images in a release. ESP8266httpUpdate's updateFS() writes the image straight over
 * the filesystem (Updater U_FS: staged at FS_start, not below it) and checks the signature only at
 * end(); without ATOMIC_FS_UPDATE a rejected image has already replaced the filesystem. So publish
 * proves, on the emulated Updater with the key the firmware embeds, that the image is accepted.
 */
import { Device } from '../../emulator/device.js';
import { profileFor } from '../../emulator/profiles.js';
import { Updater, U_FS } from '../../emulator/updater.js';
import type { InstallDevice } from './post-install.js';

/** The device's answer to an `updateFS()` with `image`: null when it is accepted, else its error. */
export function filesystemRejection(image: Uint8Array, dev: InstallDevice, chunk = 1460): string | null {
  const profile = profileFor(dev.core);
  const device = new Device({ profile, layout: dev.layout, runningSketchSize: dev.runningSketchSize, runningFlashMode: 'dio', embeddedKey: dev.embeddedKey });
  const updater = new Updater(profile, device.flash, {
    sketchSize: dev.runningSketchSize,
    fsStart: dev.layout.fsStart,
    fsEnd: dev.layout.fsEnd,
    realFlashSize: dev.layout.flashSize,
    key: device.key,
  });
  const error = () => (updater.error ? (updater.error.text.startsWith('ERROR[') ? updater.error.text : `ERROR[${updater.error.code}]: ${updater.error.text}`) : 'the Updater refused it');
  if (!updater.begin(image.length, U_FS)) return error();
  for (let off = 0; off < image.length; off += chunk) {
    const piece = image.subarray(off, Math.min(off + chunk, image.length));
    if (updater.write(piece) !== piece.length) return error();
  }
  return updater.end() ? null : error();
}
