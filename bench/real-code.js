// Real-code firmware images for the compression benchmark, built at run time from an esp8266/Arduino
// checkout the user names (BENCH_CORE_DIR; nothing derived from upstream binaries is committed).
// Laid out as tools/elf2bin.py writes a build: eboot.elf's .text and .rodata as the image in sector 0
// (padded with 0xAA to 4 KiB), then the application image at 0x1000 whose segments are the allocated
// PROGBITS sections of the core's own SDK archives: code into .irom0.text up to the wanted size, then
// .text (IRAM), .data and .rodata, each checksummed and padded as elf2bin does, and the CRC words at
// 0x1010. Object files are not linked, so call targets hold zeros where the linker would put
// addresses; everything else is the bytes a device runs.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32Mpeg2, imageBytes } from '../dist/image/image.js';

/** Archives a typical build links: the default NONOS SDK, libhal, one lwIP and the C library. */
const ARCHIVES = ['tools/sdk/lib/NONOSDK22x_190703', 'tools/sdk/lib/libhal.a', 'tools/sdk/lib/liblwip2-536-feat.a', 'tools/sdk/lib/liblwip6-1460-feat.a', 'tools/sdk/lib/libc_orig.a', 'tools/sdk/lib/NONOSDK305'];

/** Why no real-code image can be built from `coreDir`, or null. */
export function realCodeProblem(coreDir) {
  if (!coreDir) return 'BENCH_CORE_DIR is not set (an esp8266/Arduino checkout with bootloaders/eboot/eboot.elf and tools/sdk/lib)';
  if (!existsSync(join(coreDir, 'bootloaders', 'eboot', 'eboot.elf'))) return `${coreDir} has no bootloaders/eboot/eboot.elf`;
  if (!archivesIn(coreDir).length) return `${coreDir} has no tools/sdk/lib archives`;
  return null;
}

function archivesIn(coreDir) {
  const out = [];
  for (const a of ARCHIVES) {
    const p = join(coreDir, a);
    if (!existsSync(p)) continue;
    if (p.endsWith('.a')) out.push(p);
    else for (const f of readdirSync(p).sort()) if (f.endsWith('.a')) out.push(join(p, f));
  }
  return out;
}

/**
 * A firmware file of about `size` bytes made of real Xtensa code and data; `embed` (a public key)
 * is placed in .irom0.text as a compiled Updater_Signing.h would put it.
 */
export function realCodeImage(coreDir, size, embed) {
  const eboot = sections(readFileSync(join(coreDir, 'bootloaders', 'eboot', 'eboot.elf')));
  const boot = imageBytes(0x02, 0x40, 0x4010f000, ['.text', '.rodata'].map((n) => eboot.find((s) => s.name === n)).filter(Boolean).map((s) => ({ address: s.address ?? 0, data: s.bytes })));
  const sector0 = Buffer.alloc(0x1000, 0xaa);
  boot.copy(sector0);
  const code = [];
  const iram = [];
  const data = [];
  const rodata = [];
  for (const path of archivesIn(coreDir)) {
    for (const member of members(readFileSync(path))) {
      for (const s of sections(member)) {
        if (s.name.startsWith('.rodata')) rodata.push(s.bytes);
        else if (s.name.startsWith('.data')) data.push(s.bytes);
        else if (s.name.startsWith('.iram') || s.name.startsWith('.text.iram')) iram.push(s.bytes);
        else code.push(s.bytes);
      }
    }
  }
  const take = (list, limit) => {
    const out = [];
    let n = 0;
    for (const b of list) {
      if (n + b.length > limit) break;
      out.push(b);
      n += b.length;
    }
    return pad4(Buffer.concat(out));
  };
  const small = [
    { address: 0x40100000, bytes: take([...iram, ...code.slice(-200)], 0x7000) },
    { address: 0x3ffe8000, bytes: take(data, 0x800) },
    { address: 0x3ffe8800, bytes: take(rodata, 0x6000) },
  ];
  const fixed = 0x1000 + 8 + 4 * 8 + small.reduce((n, s) => n + s.bytes.length, 0) + 16;
  const irom = take([...code, ...rodata], size - fixed);
  if (embed) Buffer.from(embed).copy(irom, 4096);
  const app = imageBytes(0x02, 0x40, 0x40100004, [{ address: 0x40201010, bytes: irom }, ...small].map((s) => ({ address: s.address ?? 0, data: s.bytes })));
  const file = Buffer.concat([sector0, app]);
  file.fill(0, 0x1010, 0x1018);
  file.writeUInt32LE(file.length, 0x1010);
  file.writeUInt32LE(crc32Mpeg2(file), 0x1014);
  return file;
}

function pad4(b) {
  return b.length % 4 ? Buffer.concat([b, Buffer.alloc(4 - (b.length % 4))]) : b;
}

/** The ELF members of a System V / GNU `ar` archive. */
function members(ar) {
  const out = [];
  if (ar.toString('latin1', 0, 8) !== '!<arch>\n') return out;
  for (let at = 8; at + 60 <= ar.length;) {
    const size = Number.parseInt(ar.toString('latin1', at + 48, at + 58).trim(), 10);
    const body = ar.subarray(at + 60, at + 60 + size);
    if (body.length >= 4 && body.readUInt32BE(0) === 0x7f454c46) out.push(body);
    at += 60 + size + (size & 1);
  }
  return out;
}

/** Allocated PROGBITS sections of a 32-bit little-endian ELF file, with their names. */
function sections(elf) {
  const shoff = elf.readUInt32LE(0x20);
  const shentsize = elf.readUInt16LE(0x2e);
  const shnum = elf.readUInt16LE(0x30);
  const shstrndx = elf.readUInt16LE(0x32);
  const header = (i) => {
    const o = shoff + i * shentsize;
    return { name: elf.readUInt32LE(o), type: elf.readUInt32LE(o + 4), flags: elf.readUInt32LE(o + 8), address: elf.readUInt32LE(o + 12), offset: elf.readUInt32LE(o + 16), size: elf.readUInt32LE(o + 20) };
  };
  const strtab = header(shstrndx);
  const nameAt = (n) => {
    const from = strtab.offset + n;
    return elf.toString('latin1', from, elf.indexOf(0, from));
  };
  const out = [];
  for (let i = 1; i < shnum; i++) {
    const h = header(i);
    if (h.type !== 1 || !(h.flags & 2) || h.size === 0) continue;
    out.push({ name: nameAt(h.name), address: h.address, bytes: elf.subarray(h.offset, h.offset + h.size) });
  }
  return out;
}

