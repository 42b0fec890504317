/** NOR flash: 4 KiB sectors erase to 0xFF, programming can only clear bits (AND), reads anywhere. */
export const SECTOR_SIZE = 0x1000;

export class Flash {
  readonly bytes: Uint8Array;
  constructor(size: number) {
    this.bytes = new Uint8Array(size).fill(0xff);
  }

  get size(): number {
    return this.bytes.length;
  }

  eraseSector(sector: number): boolean {
    const start = sector * SECTOR_SIZE;
    if (start < 0 || start + SECTOR_SIZE > this.bytes.length) return false;
    this.bytes.fill(0xff, start, start + SECTOR_SIZE);
    return true;
  }

  program(offset: number, data: Uint8Array): boolean {
    if (offset < 0 || offset + data.length > this.bytes.length) return false;
    const dst = this.bytes;
    let i = 0;
    // whole 32-bit words where both sides are aligned (Updater and eboot write 4 KiB sectors)
    if (((dst.byteOffset + offset) & 3) === 0 && (data.byteOffset & 3) === 0) {
      const words = data.length >>> 2;
      const d32 = new Uint32Array(dst.buffer, dst.byteOffset + offset, words);
      const s32 = new Uint32Array(data.buffer, data.byteOffset, words);
      for (let w = 0; w < words; w++) d32[w]! &= s32[w]!;
      i = words << 2;
    }
    for (; i < data.length; i++) dst[offset + i]! &= data[i]!;
    return true;
  }

  read(offset: number, length: number): Uint8Array | null {
    if (offset < 0 || length < 0 || offset + length > this.bytes.length) return null;
    return this.bytes.slice(offset, offset + length);
  }
}
