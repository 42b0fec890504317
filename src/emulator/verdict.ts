/**
 * Why a device said no, and what to do about it: every verdict's plain-language cause and fix is
 * decided here, from the stage that failed, the device error and the facts of the file and the
 * device — never from a guess about a different stage or core.
 */
import { count } from './words.js';
import { createHash } from 'node:crypto';
import { FLASH_MODES, magicFlashChipMode } from '../image/image.js';
import { deviceKeyProblem, deviceVerify, verifierLength, type DeviceKey } from './bearssl.js';
import type { DeviceSpec, UpdateCommand } from './device.js';
import type { EbootResult } from './eboot.js';
import type { DeviceError } from './errors.js';
import { SECTOR_SIZE } from './flash.js';
import { inflateGzip, type TrailerFacts } from './payload.js';
import { coreRange, type Profile } from './profiles.js';

interface Facts {
  stage: string;
  error: DeviceError | null;
  preError?: string;
  spec: DeviceSpec;
  key: DeviceKey | null;
  file: Uint8Array;
  trailer: TrailerFacts;
  command: UpdateCommand;
  /** The running firmware was built with ATOMIC_FS_UPDATE. */
  atomicFs: boolean;
  realFlashSize: number;
  eboot?: EbootResult;
  bootloaderIntact?: boolean;
  filesystemIntact?: boolean;
  /** What the sender meant the flash to hold (null: the gzip could not be inflated). */
  expected?: Uint8Array | null;
}

export interface Explanation {
  cause: string;
  fix: string;
}

const hex = (n: number) => `0x${n.toString(16)}`;
const bytes = (n: number) => count(n, 'byte');
const size = (n: number) => (n >= 1048576 && n % 1048576 === 0 ? `${n / 1048576} MB` : `${n / 1024} KiB`);
const isGzip = (b: Uint8Array) => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;

const ATOMIC_FIX = 'build the running firmware with -DATOMIC_FS_UPDATE (cores 2.6.0+), so a filesystem image is staged and copied only after its signature checks out';

export function explain(f: Facts): Explanation {
  const e = f.command === 'fs' ? explainFs(f) : explainSketch(f);
  // The trap of in-place filesystem updates (issue 14): the check comes after the damage.
  if (f.command === 'fs' && (f.stage === 'write' || f.stage === 'end') && f.filesystemIntact === false && !f.atomicFs && !f.eboot) {
    return { cause: `the filesystem was already overwritten: without ATOMIC_FS_UPDATE the Updater writes a filesystem image straight over the live filesystem and checks it only in end(). Then: ${e.cause}`, fix: `${e.fix}; and ${ATOMIC_FIX}` };
  }
  return e;
}

function explainCommon(f: Facts): Explanation | null {
  const p = f.spec.profile;
  const name = f.error?.name;
  if (name === 'SIZE') return { cause: 'the upload is empty: Update.begin(0) fails before anything is written', fix: 'send the real file; check the build step that produced it' };
  if (name === 'FLASH_CONFIG') {
    return {
      cause: `the running firmware's header says ${size(f.spec.layout.flashSize)} of flash but the chip has ${size(f.realFlashSize)} (ESP.checkFlashConfig fails, so every update is refused)`,
      fix: `flash a build with Flash Size ${size(f.realFlashSize)} over serial once`,
    };
  }
  if (name === 'NO_DATA') return { cause: 'no data was written before Update.end()', fix: 'check the upload path' };
  if (name === 'SIGN') return explainSign(f);
  if (name === 'SPACE' && f.stage !== 'begin') return { cause: 'more bytes arrived than the size given to Update.begin()', fix: 'send the file with its real length (Content-Length / espota size)' };
  if (name === 'ERASE' || name === 'WRITE') return { cause: `the Updater's flash ${name === 'ERASE' ? 'erase' : 'write'} failed: the update runs past the end of the ${size(f.realFlashSize)} chip`, fix: 'send a file that fits the layout' };
  if (f.stage === 'end' && !f.error) return { cause: `the upload ended before the declared size was reached (${coreRange(p)} give no error code for this)`, fix: 'send the whole file' };
  return null;
}

function explainSketch(f: Facts): Explanation {
  const p = f.spec.profile;
  const gzip = isGzip(f.file);
  if (f.preError) return { cause: f.preError, fix: `make the file fit the free sketch space and start with 0xE9${p.gzip ? ' (or 1F 8B for gzip)' : ''}` };
  const name = f.error?.name;
  if (name === 'SPACE' && f.stage === 'begin') {
    return {
      cause: `the update (${bytes(f.file.length)}, staged in whole 4 KiB sectors just below the filesystem at ${hex(f.spec.layout.fsStart)}) would overlap the running sketch, which ends at ${hex(f.spec.runningSketchSize)}`,
      fix: `make the sketch smaller, compress the update${p.gzip ? '' : ' (once the device runs 2.7.0+)'}, or flash a layout with a smaller filesystem over serial once`,
    };
  }
  const common = explainCommon(f);
  if (common) return common;
  if (name === 'MAGIC_BYTE') {
    if (gzip && !p.gzip) return { cause: `${coreRange(p)} cannot take gzip-compressed updates (eboot learnt gzip in 2.7.0)`, fix: 'upload the uncompressed .bin.signed; compress only for devices running 2.7.0+ (3.0.0+ when signed)' };
    return { cause: 'the staged file does not start with the image magic 0xE9', fix: 'upload a firmware .bin (or its signed form), not another file' };
  }
  if (name === 'NEW_FLASH_CONFIG') {
    const nibble = f.file[3]! >> 4;
    return { cause: `the new image header says a larger flash chip (size code ${nibble}) than the device's ${size(f.realFlashSize)}`, fix: 'build with the board\'s real Flash Size' };
  }
  if (f.stage === 'eboot' && f.eboot) return explainEboot(f, f.eboot);
  const payloadLength = f.trailer.payloadLength;
  if (f.file[0] === 0xe9 && payloadLength < 0x1010) {
    return {
      cause: `the image is only ${bytes(payloadLength)}, too short to hold a bootloader sector and an app header: the device takes it (it starts with 0xE9) and eboot copies it over ${f.bootloaderIntact === false ? 'the bootloader sector, so the next reset cannot start' : 'the start of flash'}`,
      fix: 'upload the complete firmware .bin (or its signed form) from the build folder',
    };
  }
  if (f.bootloaderIntact === false && gzip && !p.trimAfterVerify && f.trailer.sigLenTrailer !== null && f.trailer.payloadLength < f.file.length) {
    return {
      cause: `${coreRange(p)} give eboot the signed size, so it reads the signature-length trailer (${f.trailer.sigLenTrailer}) as the gzip ISIZE and overwrites the bootloader sector: the next reset hangs (#7570)`,
      fix: `never send a signed gzip to ${coreRange(p)}; send the uncompressed .bin.signed (cores 3.0.0+ handle signed gzip)`,
    };
  }
  if (f.expected === null && gzip) {
    const why = inflateGzip(f.file.subarray(0, payloadLength)).problem ?? 'its deflate stream is corrupt';
    return { cause: `the gzip cannot be what its sender meant: ${why}`, fix: 'recompress the .bin (esp8266-sign postbuild --compress)' };
  }
  if (gzip && f.eboot?.pastStreamEnd) return { cause: 'the gzip ISIZE promises more bytes than the stream holds; eboot decoded past the end of the stream and wrote what that produced after the image', fix: 'do not edit a gzip file after compressing; recompress' };
  if (gzip && f.expected && f.expected.length > 0) {
    const isize = new DataView(f.file.buffer, f.file.byteOffset).getUint32(payloadLength - 4, true);
    if (isize < f.expected.length) return { cause: `the gzip ISIZE (${isize}) is smaller than the image (${f.expected.length}): eboot stops there and the image is cut short`, fix: 'do not edit a gzip file after compressing; recompress' };
    return {
      cause: 'eboot inflated the image over compressed input it had not read yet (the staged gzip sits too close to the start of flash): the flash does not hold the new firmware',
      fix: 'leave more room between the sketch and the filesystem, or send the update uncompressed',
    };
  }
  if (f.bootloaderIntact === false) return { cause: 'after the copy, sector 0 holds no bootloader the ROM can start: the next reset hangs', fix: 'upload a complete firmware image whose first sector is eboot' };
  return { cause: 'after the copy, the flash does not hold a loadable copy of the new image', fix: 'check that the file is a complete firmware image' };
}

function explainEboot(f: Facts, e: EbootResult): Explanation {
  if (e.result === 5) return { cause: 'eboot could not parse the gzip header (reserved flags or not deflate)', fix: 'compress with gzip, pako or esp8266-sign postbuild --compress' };
  if (e.unpredictable) return { cause: 'eboot decoded past the end of the deflate stream (ISIZE promises more than it holds) and met a code that makes uzlib read outside its tables: the result depends on the device\'s memory', fix: 'do not edit a gzip file after compressing; recompress' };
  if (e.result === 2) return { cause: `eboot's copy ran past the end of the ${size(f.realFlashSize)} chip (erase failed, result 2)${e.pastStreamEnd ? ': the gzip ISIZE promises far more than the stream holds' : ''}`, fix: 'recompress the image; check that it fits the layout' };
  if (e.result === 6) {
    return {
      cause: `eboot's inflate failed (result 6) after writing ${count(e.sectorsWritten, 'sector')}${e.pastStreamEnd ? ', decoding past the end of the stream because ISIZE promises more than it holds' : ': the deflate stream is corrupt'}`,
      fix: 'recompress the image and send it unchanged',
    };
  }
  return { cause: `eboot's copy failed with result ${e.result} after writing ${count(e.sectorsWritten, 'sector')}`, fix: 'recompress the image; check that it fits below the filesystem' };
}

function explainFs(f: Facts): Explanation {
  const p = f.spec.profile;
  const { fsStart, fsEnd } = f.spec.layout;
  const payload = f.file.subarray(0, f.trailer.payloadLength);
  if (f.preError) return { cause: f.preError, fix: 'make the filesystem image fit the layout\'s filesystem region' };
  const name = f.error?.name;
  if (name === 'SPACE' && f.stage === 'begin') {
    const rounded = Math.ceil(f.file.length / SECTOR_SIZE) * SECTOR_SIZE;
    if (fsStart + rounded > fsEnd) {
      return {
        cause: fsEnd === fsStart
          ? 'the layout has no filesystem region'
          : `the filesystem image (${bytes(f.file.length)}, ${size(rounded)} in whole sectors) is larger than the filesystem region ${hex(fsStart)}–${hex(fsEnd)} (${size(fsEnd - fsStart)})`,
        fix: 'build the filesystem image for this layout\'s size (mklittlefs -s), or choose a layout with a larger filesystem',
      };
    }
    return {
      cause: `with ATOMIC_FS_UPDATE the filesystem image is staged like a sketch, in ${size(rounded)} just below the filesystem at ${hex(fsStart)}, and that would overlap the running sketch, which ends at ${hex(f.spec.runningSketchSize)}`,
      fix: 'make the sketch or the filesystem image smaller (gzip it: eboot inflates it on 2.7.0+), or build without ATOMIC_FS_UPDATE (then the image is written in place, unprotected)',
    };
  }
  const common = explainCommon(f);
  if (common) return common;
  const e = f.eboot;
  if (e && e.result !== 0 && e.result !== null) {
    const base = explainEboot(f, e);
    return { cause: `${base.cause}; the filesystem region is partly overwritten`, fix: base.fix };
  }
  if (isGzip(payload)) {
    if (!f.atomicFs) return { cause: 'the filesystem image is gzip-compressed: without ATOMIC_FS_UPDATE the Updater writes it as it arrives, so the filesystem now holds compressed bytes and will not mount', fix: `send the uncompressed image, or ${ATOMIC_FIX} (eboot inflates it on 2.7.0+)` };
    if (!p.gzip) return { cause: `${coreRange(p)} eboot cannot inflate: it copied the compressed bytes into the filesystem, which will not mount`, fix: 'send the uncompressed filesystem image to devices before 2.7.0' };
    if (!p.trimAfterVerify && f.trailer.payloadLength < f.file.length) {
      return {
        cause: `${coreRange(p)} give eboot the signed size, so it reads the signature-length trailer (${f.trailer.sigLenTrailer}) as the gzip ISIZE and inflates only that many bytes into the filesystem`,
        fix: `send the uncompressed signed filesystem image to ${coreRange(p)}`,
      };
    }
  }
  const first = payload.subarray(0, SECTOR_SIZE);
  const device = magicFlashChipMode(FLASH_MODES.indexOf(f.spec.runningFlashMode));
  if (p.modePatch === 'every-command' && first.length > 2 && magicFlashChipMode(first[2]!) !== device) {
    return {
      cause: `${coreRange(p)} write the running flash mode into byte 2 of the first block of every update, filesystem images included: the filesystem's byte 2 became ${device} instead of ${first[2]}`,
      fix: 'update such devices to core 2.6.3+ over serial, or send filesystem images whose byte 2 equals the device\'s flash mode',
    };
  }
  if (f.expected === null) return { cause: `the filesystem image cannot be inflated: ${inflateGzip(payload).problem ?? 'its deflate stream is corrupt'}`, fix: 'recompress the filesystem image' };
  return { cause: 'after the update the filesystem region does not hold the new image', fix: 'check the filesystem image and the layout' };
}

/** Whether the Updater's first-block flash-mode patch touches this upload on this core (§3.4). */
function patchApplies(p: Profile, command: UpdateCommand, payload: Uint8Array, mode: number): boolean {
  if (payload.length <= 2 || magicFlashChipMode(payload[2]!) === mode) return false;
  if (p.modePatch === 'every-command') return true;
  if (command !== 'sketch') return false;
  return p.modePatch === 'sketch' || !isGzip(payload);
}

function explainSign(f: Facts): Explanation {
  const p = f.spec.profile;
  const key = f.key;
  if (!key) return { cause: 'unexpected: SIGN without a verifier', fix: '' };
  const problem = deviceKeyProblem(key);
  const expected = verifierLength(key);
  if (problem) {
    return { cause: `the firmware's compiled-in public key cannot verify anything, so every signed update fails: ${problem}`, fix: 'rebuild with public.key as an RSA SubjectPublicKeyInfo PEM (esp8266-sign header converts it) and flash it over serial once' };
  }
  const t = f.trailer.sigLenTrailer;
  const payload = f.file.subarray(0, f.trailer.payloadLength);
  if (f.command === 'sketch' && isGzip(payload) && !p.gzip) {
    return {
      cause: `${coreRange(p)} cannot take gzip-compressed updates (eboot learnt gzip in 2.7.0): the Updater treats the file as a raw image${patchApplies(p, f.command, payload, magicFlashChipMode(FLASH_MODES.indexOf(f.spec.runningFlashMode))) ? ', writes its flash mode into byte 2 (the gzip method byte), so the signature over the flash no longer matches' : ''}, and would refuse it as not starting with 0xE9`,
      fix: 'upload the uncompressed .bin.signed; compress only for devices running 2.7.0+ (3.0.0+ when signed)',
    };
  }
  if (t !== expected) {
    if (t === null) return { cause: `the file is only ${bytes(f.file.length)}: too short to carry a signature (the device key needs ${expected} bytes and a 4-byte length)`, fix: 'upload the .bin.signed file, not the .bin' };
    if (t > 4096) return { cause: `the file is not signed: its last 4 bytes read as a signature length of ${t}, the device key needs ${expected}`, fix: f.command === 'fs' ? 'sign the filesystem image (esp8266-sign sign --filesystem) and upload the signed file' : 'upload the .bin.signed file, not the .bin' };
    return { cause: `the file's trailer says ${t}-byte signature but the device's key is ${expected * 8}-bit (${expected} bytes): signed with a different key`, fix: 'sign with the private key whose public key is compiled into the running firmware' };
  }
  const sig = f.file.subarray(f.trailer.payloadLength, f.trailer.payloadLength + expected);
  if (p.staleHashTail && payload.length % 4 !== 0) {
    return {
      cause: `${coreRange(p)} hash stale bytes when the signed payload's length (${payload.length}) is not a multiple of 4, so a correct signature fails`,
      fix: f.command === 'fs' ? 'pad the filesystem image to a multiple of 4 bytes before signing' : 'pad the payload to a multiple of 4 (esp8266-sign postbuild --compress pads the gzip header) or send an uncompressed image',
    };
  }
  const digest = createHash('sha256').update(payload).digest();
  const mode = FLASH_MODES.indexOf(f.spec.runningFlashMode);
  if (patchApplies(p, f.command, payload, magicFlashChipMode(mode)) && deviceVerify(key, digest, sig, p.padding)) {
    const what = f.command === 'fs' ? `the filesystem image's byte 2 is ${payload[2]}` : `the image was built for flash mode ${FLASH_MODES[payload[2]!] ?? `code ${payload[2]}`}`;
    return {
      cause: `${what} but the device runs ${f.spec.runningFlashMode}: the Updater writes the device's mode into byte 2 and then hashes the flash, so the signature no longer matches`,
      fix: f.command === 'fs' ? 'update such devices to core 2.6.3+ over serial (which leave filesystem images alone)' : `build with Flash Mode ${f.spec.runningFlashMode.toUpperCase()} (the mode the device was flashed with)`,
    };
  }
  const other = p.padding === 'null-oid' ? 'digestinfo' : 'null-oid';
  if (deviceVerify(key, digest, sig, other)) {
    return p.padding === 'null-oid'
      ? { cause: 'a 2.5.x device verifies the legacy signature format, and this file carries the 2.6.0+ DigestInfo signature', fix: 'upload the .bin.legacy_sig file to 2.5.x devices' }
      : { cause: `the file carries a legacy (2.5.x) signature; ${coreRange(p)} verify the DigestInfo format`, fix: 'upload the .bin.signed file' };
  }
  return { cause: 'the signature does not match: the file was signed with another key or changed after signing', fix: 'sign the unmodified file with the private key matching the public key in the running firmware' };
}
