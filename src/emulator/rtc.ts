/**
 * The eboot command block the Updater leaves in RTC user memory (device-behaviour.md §5.1): 33
 * little-endian words, magic, action, args, and a CRC-32/MPEG-2 over the first 124 bytes.
 */
import { crc32Mpeg2 } from '../image/image.js';

export const EBOOT_MAGIC = 0xeb001000;
export const ACTION_COPY_RAW = 0x00000001;
export const ACTION_LOAD_APP = 0xffffffff;

export interface EbootCommand {
  action: number;
  args: number[];
}

export function encodeCommand(cmd: EbootCommand): Uint8Array {
  const block = new DataView(new ArrayBuffer(132));
  block.setUint32(0, EBOOT_MAGIC, true);
  block.setUint32(4, cmd.action, true);
  cmd.args.slice(0, 29).forEach((a, i) => block.setUint32(8 + 4 * i, a >>> 0, true));
  const bytes = new Uint8Array(block.buffer);
  block.setUint32(124, crc32Mpeg2(bytes.subarray(0, 124)), true);
  return bytes;
}

/** eboot_command_read: only the magic's top 20 bits and the CRC are checked. */
export function decodeCommand(bytes: Uint8Array | null): EbootCommand | null {
  if (!bytes || bytes.length < 132) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, 132);
  if ((view.getUint32(0, true) & 0xfffff000) >>> 0 !== EBOOT_MAGIC) return null;
  if (view.getUint32(124, true) !== crc32Mpeg2(bytes.subarray(0, 124))) return null;
  const args = Array.from({ length: 29 }, (_, i) => view.getUint32(8 + 4 * i, true));
  return { action: view.getUint32(4, true), args };
}
