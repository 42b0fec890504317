/**
 * Every way an ArduinoOTA attempt can end, mapped to what happened, why, and what to do: the one
 * table users read when an upload fails (README "upload: errors"). Device error codes are the
 * Updater's (cores/esp8266/Updater.h, 2.5.0–HEAD; 15 and 16 exist after 3.1.2 only).
 */
import type { Outcome } from './session.js';

export interface UploadFacts {
  host: string;
  port: number;
  hostPort: number;
  size: number;
  /** The key the file was signed with (manifest), for ERROR[12]. */
  fingerprint: string | null;
  /** Staging facts the build knows, for ERROR[4]. */
  layout: { fsStart: number; runningSketchSize: number } | null;
}

export interface Explanation {
  /** One line: the phase and what the device (or the network) did. */
  what: string;
  cause: string;
  fix: string;
}

const hex = (n: number) => `0x${n.toString(16)}`;
const sectors = (n: number) => Math.ceil(n / 4096) * 4096;

type DeviceErrorExplainer = (f: UploadFacts) => Omit<Explanation, 'what'>;

const DEVICE_ERRORS: Record<number, DeviceErrorExplainer> = {
  1: () => ({ cause: 'the device could not write its flash', fix: 'power-cycle the device and upload again; if it repeats, the flash chip is failing' }),
  2: () => ({ cause: 'the device could not erase a flash sector', fix: 'power-cycle the device and upload again; if it repeats, the flash chip is failing' }),
  3: () => ({ cause: 'the device could not read back its flash', fix: 'power-cycle the device and upload again' }),
  4: (f) => ({
    cause: `the update needs ${f.size} bytes (${sectors(f.size)} in whole sectors) between the end of the running sketch and the filesystem${f.layout ? `; with this build's layout that space is ${hex(f.layout.fsStart)} − ${hex(sectors(f.layout.runningSketchSize))} = ${Math.max(0, f.layout.fsStart - sectors(f.layout.runningSketchSize))} bytes, and the device's running sketch may be larger` : ''}`,
    fix: 'upload a smaller (compressed: postbuild --compress) artifact, or flash a layout with a smaller filesystem over serial once',
  }),
  5: () => ({ cause: 'the device was told a size it cannot take (0, or larger than its flash)', fix: 'upload a non-empty firmware file' }),
  6: () => ({ cause: 'the device timed out reading the stream', fix: 'upload again from a host closer to the access point' }),
  7: () => ({ cause: 'the MD5 of what arrived differs from the invitation\'s (the bytes were damaged on the way)', fix: 'upload again; if it repeats, check the Wi-Fi link' }),
  8: () => ({ cause: 'the running firmware was built for a larger flash chip than the device has', fix: 'flash a build with the board\'s real Flash Size over serial once' }),
  9: () => ({ cause: 'the new image was built for a larger flash chip than the device has', fix: 'choose the board\'s real Flash Size in the IDE (build.flash_size) and rebuild' }),
  10: () => ({ cause: 'the staged file is not a firmware image (no 0xE9 magic), or a gzip sent to a core older than 2.7.0', fix: 'upload the build\'s .bin.signed (or .bin); send .gz files only to devices running 2.7.0 or later' }),
  11: () => ({ cause: 'the device was flashed over serial and has not been reset since: the boot ROM left it in a state where updates are refused', fix: 'reset the device once (button or power), then upload again' }),
  12: (f) => ({
    cause: `the device runs another key or another signature format: we signed with ${f.fingerprint ?? 'a key this upload does not know'}`,
    fix: 'upload the artifact made with the key the device runs (2.5.x devices need .bin.legacy_sig), or flash this build over serial once so the device takes this key',
  }),
  13: () => ({ cause: 'the device received no data before Update.end()', fix: 'upload again' }),
  14: () => ({ cause: 'the device ran out of memory for the signature check', fix: 'free heap in the sketch (fewer buffers while updating) and upload again' }),
  15: () => ({ cause: 'another update is already running on the device', fix: 'wait for it to finish or reset the device, then upload again' }),
  16: () => ({ cause: 'the device does not know this update command', fix: 'upload firmware without --filesystem, or update the core on the device' }),
};

function deviceError(code: number, text: string, f: UploadFacts, when: string): Explanation {
  const known = DEVICE_ERRORS[code];
  const body = known ? known(f) : { cause: 'an Updater error this tool does not know', fix: 'see the device\'s serial log' };
  return { what: `${when}: the device said ${text}`, ...body };
}

export function explainOutcome(o: Outcome, f: UploadFacts): Explanation {
  const device = `${f.host}:${f.port}`;
  switch (o.kind) {
    case 'ok':
      return { what: 'the device said OK and reboots into the new firmware', cause: '', fix: '' };
    case 'no-answer':
      return o.phase === 'invite'
        ? { what: `invite: no answer from ${device} over UDP`, cause: 'the device is off, not on this network, not running ArduinoOTA.handle() in loop(), or listens on another port', fix: 'check the address and --port (ArduinoOTA.setPort), that the device is on, and that loop() calls ArduinoOTA.handle() without long blocking' }
        : { what: `auth: no answer from ${device} to our password answer`, cause: 'the reply was lost, or the device reset', fix: 'upload again' };
    case 'password-needed':
      return { what: 'auth: the device asks for a password', cause: 'its sketch calls ArduinoOTA.setPassword() and none was given', fix: 'set ESP8266_SIGN_OTA_PASSWORD, or pass --password-file FILE (first line)' };
    case 'auth-failed':
      return { what: 'auth: the device said Authentication Failed', cause: 'the password differs from the one the sketch sets (setPasswordHash needs the lower-case MD5)', fix: 'use the password from ArduinoOTA.setPassword() in ESP8266_SIGN_OTA_PASSWORD or --password-file' };
    case 'begin-error':
      return deviceError(o.code, o.text, f, `${o.phase}: Update.begin() failed`);
    case 'garbled':
      return { what: `${o.phase}: an answer that is not the ArduinoOTA protocol: "${o.text}"`, cause: 'another program answers on that address and port, or the device runs an incompatible OTA library', fix: 'check the address and --port' };
    case 'no-connect-back':
      return {
        what: `connect-back: the device accepted the update but never connected to this computer's port ${f.hostPort}`,
        cause: 'a firewall on this computer, NAT, a VPN or a routed subnet blocks the device\'s connection to us',
        fix: `allow inbound TCP port ${f.hostPort} from the device (README: "upload: firewall"), or choose an open one with --host-port; pass --host-ip with this computer's address on the device's network`,
      };
    case 'dropped':
      return { what: 'transfer: the connection dropped before the whole file was sent', cause: 'Wi-Fi loss or a device reset during the upload', fix: 'upload again from closer to the access point' };
    case 'stalled':
      return { what: 'transfer: the device stopped reading', cause: 'the device hung or lost Wi-Fi mid-upload', fix: 'reset the device and upload again' };
    case 'device-error':
      return deviceError(o.code, o.text, f, o.phase === 'verify' ? 'verify: Update.end() refused the update' : 'transfer: the device refused the data');
    case 'no-result':
      return o.closed
        ? { what: 'verify: the device closed the connection without OK or ERROR', cause: 'the device reset during its checks, or an old ArduinoOTA that reports nothing', fix: 'check on the device (serial log, version) whether the new firmware runs before uploading again' }
        : { what: 'verify: no OK or ERROR from the device in time', cause: 'the device is still checking, or hung after the transfer', fix: 'check on the device whether the new firmware runs; raise --timeout for slow checks' };
  }
}
