// The release archives, written by our own code so that the same executable always gives the same
// archive bytes: fixed times and owners, and deflate from pako (pure JavaScript, so the output does
// not depend on which zlib the host's Node carries or on its CPU). A tar.gz for Linux and macOS
// (keeps the executable bit), a zip for Windows (what Explorer and the Boards Manager unpack).
import { gunzipSync } from 'node:zlib';
import { deflateRaw, gzip } from 'pako';
import { crc32 } from '../../dist/compress/gzip.js';

/** @typedef {{ name: string, data?: Uint8Array, mode: number }} Entry  a folder when data is absent */

const enc = new TextEncoder();

function octal(buf, offset, length, value) {
  buf.set(enc.encode(value.toString(8).padStart(length - 1, '0') + '\0'), offset);
}

/** ustar header of one entry; names stay within the 100-byte name field. */
function tarHeader(entry, mtime) {
  const h = new Uint8Array(512);
  const name = enc.encode(entry.name);
  if (name.length > 100) throw new Error(`tar entry name too long: ${entry.name}`);
  h.set(name, 0);
  octal(h, 100, 8, entry.mode);
  octal(h, 108, 8, 0);
  octal(h, 116, 8, 0);
  octal(h, 124, 12, entry.data ? entry.data.length : 0);
  octal(h, 136, 12, mtime);
  h.fill(0x20, 148, 156);
  h[156] = entry.data ? 0x30 : 0x35;
  h.set(enc.encode('ustar\u000000'), 257);
  h.set(enc.encode('root'), 265);
  h.set(enc.encode('root'), 297);
  let sum = 0;
  for (const b of h) sum += b;
  h.set(enc.encode(sum.toString(8).padStart(6, '0') + '\0 '), 148);
  return h;
}

/** A gzip'd ustar archive of `entries` in the given order. */
export function tarGz(entries, mtime) {
  const parts = [];
  for (const e of entries) {
    parts.push(tarHeader(e, mtime));
    if (e.data) {
      parts.push(e.data);
      const pad = (512 - (e.data.length % 512)) % 512;
      if (pad) parts.push(new Uint8Array(pad));
    }
  }
  parts.push(new Uint8Array(1024));
  return Buffer.from(gzip(Buffer.concat(parts), { level: 6 }));
}

/** The bytes of one regular file inside a .tgz (an npm package tarball); throws when absent. */
export function fileFromTgz(tgz, wanted) {
  const tar = gunzipSync(tgz);
  let longName = null;
  for (let at = 0; at + 512 <= tar.length; ) {
    const header = tar.subarray(at, at + 512);
    if (header.every((b) => b === 0)) break;
    const field = (o, n) => header.subarray(o, o + n).toString('latin1').replace(/\0.*$/s, '');
    const size = parseInt(field(124, 12).trim() || '0', 8);
    const type = String.fromCharCode(header[156] || 0x30);
    const prefix = field(345, 155);
    const name = longName ?? (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100));
    const body = tar.subarray(at + 512, at + 512 + size);
    at += 512 + Math.ceil(size / 512) * 512;
    longName = type === 'L' ? body.toString('utf8').replace(/\0.*$/s, '') : null;
    if ((type === '0' || type === '\0') && name === wanted) return Buffer.from(body);
  }
  throw new Error(`${wanted} is not in the tarball`);
}

/** MS-DOS date and time fields of a Unix time (zip has no time zone; UTC is used). */
function dosTime(unixSeconds) {
  const d = new Date(Math.max(unixSeconds, 315532800) * 1000);
  return {
    time: (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | (d.getUTCSeconds() >> 1),
    date: ((d.getUTCFullYear() - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate(),
  };
}

/** A zip of `entries` (files deflated, folders stored), UTF-8 names, no extra fields. */
export function zip(entries, mtime) {
  const { time, date } = dosTime(mtime);
  const local = [];
  const central = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.data ? e.name : e.name.replace(/\/?$/, '/'), 'utf8');
    const raw = e.data ?? new Uint8Array(0);
    const packed = e.data ? Buffer.from(deflateRaw(raw, { level: 6 })) : Buffer.alloc(0);
    const crc = crc32(raw);
    const method = e.data ? 8 : 0;
    const head = Buffer.alloc(30);
    head.writeUInt32LE(0x04034b50, 0);
    head.writeUInt16LE(20, 4);
    head.writeUInt16LE(0x0800, 6);
    head.writeUInt16LE(method, 8);
    head.writeUInt16LE(time, 10);
    head.writeUInt16LE(date, 12);
    head.writeUInt32LE(crc, 14);
    head.writeUInt32LE(packed.length, 18);
    head.writeUInt32LE(raw.length, 22);
    head.writeUInt16LE(name.length, 26);
    local.push(head, name, packed);
    const dir = Buffer.alloc(46);
    dir.writeUInt32LE(0x02014b50, 0);
    dir.writeUInt16LE((3 << 8) | 20, 4); // made by Unix, so the mode below is read
    dir.writeUInt16LE(20, 6);
    dir.writeUInt16LE(0x0800, 8);
    dir.writeUInt16LE(method, 10);
    dir.writeUInt16LE(time, 12);
    dir.writeUInt16LE(date, 14);
    dir.writeUInt32LE(crc, 16);
    dir.writeUInt32LE(packed.length, 20);
    dir.writeUInt32LE(raw.length, 24);
    dir.writeUInt16LE(name.length, 28);
    dir.writeUInt32LE((((e.data ? 0o100000 : 0o40000) | e.mode) << 16 | (e.data ? 0 : 0x10)) >>> 0, 38);
    dir.writeUInt32LE(offset, 42);
    central.push(dir, name);
    offset += head.length + name.length + packed.length;
  }
  const dirBytes = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(dirBytes.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...local, dirBytes, end]);
}
