/**
 * The inflater eboot links (uzlib at the commit cores 3.0.0+ pin, 27e4f4c), as a state machine
 * that behaves like `uzlib_uncompress`, not like zlib: it decodes into a caller's window and
 * returns TINF_OK / TINF_DONE / an error; it pulls input one byte at a time from a source that
 * never reports an end; and after the final block it does not stop. A later call goes on decoding
 * the bytes after the stream (gzip trailer, signature, erased flash) with the last block's
 * Huffman tables (a stored final block reads a new LEN/NLEN pair), returning DONE at each
 * end-of-block code. That is what a gzip whose ISIZE promises more than the stream holds meets on
 * the device (device-behaviour.md §5.4), and it is deterministic except where noted below.
 */

export const TINF_OK = 0;
export const TINF_DONE = 1;
export const TINF_DATA_ERROR = -3;

/** Where uzlib's bytes come from; eboot's callback refills a 4 KiB buffer from flash (never EOF). */
export interface ByteSource {
  byte(): number;
  /**
   * The byte `k` places ahead in what is already read, or -1: lets the decoder look ahead without
   * reading anything sooner than uzlib would (a refill from the live flash happens when it does).
   */
  peek?(k: number): number;
}

/** Codes up to this many bits are decoded with one look-up (longer ones bit by bit, as uzlib does). */
const FAST_BITS = 10;
const FAST_MASK = (1 << FAST_BITS) - 1;

interface Tree {
  /** Number of codes of each length 0..15. */
  table: Uint16Array;
  /** Symbols sorted by code. */
  trans: Uint16Array;
  /** For each FAST_BITS-bit input, `symbol << 4 | length` where uzlib's decode ends within them, else -1. */
  fast: Int32Array;
}

const tree = (): Tree => ({ table: new Uint16Array(16), trans: new Uint16Array(288), fast: new Int32Array(1 << FAST_BITS) });

/** The look-up table, made by running tinf_decode_symbol's loop on every input, so it decodes exactly as uzlib. */
function buildFast(t: Tree): void {
  for (let pattern = 0; pattern <= FAST_MASK; pattern++) {
    let sum = 0;
    let cur = 0;
    let entry = -1;
    for (let len = 1; len <= FAST_BITS; len++) {
      cur = 2 * cur + ((pattern >> (len - 1)) & 1);
      sum += t.table[len]!;
      cur -= t.table[len]!;
      if (cur < 0) {
        entry = (t.trans[sum + cur]! << 4) | len;
        break;
      }
    }
    t.fast[pattern] = entry;
  }
}

// Built at run time in eboot (RUNTIME_BITS_TABLES); the values are DEFLATE's.
const LENGTH_BITS = Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0, 0);
const LENGTH_BASE = Uint16Array.of(3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258, 323);
const DIST_BITS = Uint8Array.of(0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13);
const DIST_BASE = Uint16Array.of(1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577);
const CODE_LENGTH_ORDER = Uint8Array.of(16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15);

function buildFixed(lt: Tree, dt: Tree): void {
  lt.table.fill(0);
  lt.table[7] = 24;
  lt.table[8] = 152;
  lt.table[9] = 112;
  for (let i = 0; i < 24; i++) lt.trans[i] = 256 + i;
  for (let i = 0; i < 144; i++) lt.trans[24 + i] = i;
  for (let i = 0; i < 8; i++) lt.trans[168 + i] = 280 + i;
  for (let i = 0; i < 112; i++) lt.trans[176 + i] = 144 + i;
  dt.table.fill(0);
  dt.table[5] = 32;
  for (let i = 0; i < 32; i++) dt.trans[i] = i;
  buildFast(lt);
  buildFast(dt);
}

/** Canonical codes from lengths; like uzlib it accepts incomplete and oversubscribed sets. */
function buildTree(t: Tree, lengths: Uint8Array, from: number, num: number): void {
  t.table.fill(0);
  for (let i = 0; i < num; i++) t.table[lengths[from + i]!]!++;
  t.table[0] = 0;
  const offs = new Uint16Array(16);
  for (let i = 0, sum = 0; i < 16; i++) {
    offs[i] = sum;
    sum += t.table[i]!;
  }
  for (let i = 0; i < num; i++) {
    const len = lengths[from + i]!;
    if (len) t.trans[offs[len]!++] = i;
  }
  buildFast(t);
}

export class Uzlib {
  private tag = 0;
  private bitcount = 0;
  private bfinal = 0;
  private btype = -1;
  private curlen = 0;
  private lzOff = 0;
  private readonly lt = tree();
  private readonly dt = tree();
  private readonly dict = new Uint8Array(32768);
  private dictIdx = 0;
  /** How much of the dictionary ring has been written; eboot's ring starts as whatever RAM held. */
  private dictFilled = 0;
  /** Output bytes copied from ring positions never written: their values are unknown on a device. */
  unknownBytes = 0;
  /**
   * Set when uzlib's control flow leaves what the source determines: a distance code that fails to
   * decode makes uzlib index its tables with -3, reading whatever the linker put before them.
   */
  undetermined: string | null = null;
  private dest!: Uint8Array;
  private at = 0;
  private limit = 0;

  constructor(private readonly src: ByteSource) {}

  private getbit(): number {
    if (this.bitcount === 0) {
      this.tag = this.src.byte();
      this.bitcount = 7;
    } else this.bitcount--;
    const bit = this.tag & 1;
    this.tag >>>= 1;
    return bit;
  }

  private readBits(num: number, base: number): number {
    if (num <= this.bitcount) {
      const val = this.tag & ((1 << num) - 1);
      this.tag >>>= num;
      this.bitcount -= num;
      return val + base;
    }
    let val = 0;
    for (let mask = 1, limit = 1 << num; mask < limit; mask <<= 1) if (this.getbit()) val += mask;
    return val + base;
  }

  /** Takes `n` bits that peek() has shown: whole bytes through byte(), so reads happen as uzlib's would. */
  private consume(n: number): void {
    if (n <= this.bitcount) {
      this.tag >>>= n;
      this.bitcount -= n;
      return;
    }
    let need = n - this.bitcount;
    while (need > 8) {
      this.src.byte();
      need -= 8;
    }
    this.tag = this.src.byte() >>> need;
    this.bitcount = 8 - need;
  }

  /** tinf_decode_symbol: TINF_DATA_ERROR after 16 bits without a code. */
  private decodeSymbol(t: Tree): number {
    if (this.src.peek) {
      // a stored block sets bitcount to 0 and leaves old bits in tag: keep only the valid ones
      let avail = this.bitcount;
      let bits = this.tag & ((1 << avail) - 1);
      for (let k = 0; avail < FAST_BITS; k++) {
        const b = this.src.peek(k);
        if (b < 0) break;
        bits |= b << avail;
        avail += 8;
      }
      const e = t.fast[bits & FAST_MASK]!;
      if (e >= 0 && (e & 15) <= avail) {
        this.consume(e & 15);
        return e >> 4;
      }
    }
    let sum = 0;
    let cur = 0;
    let len = 0;
    do {
      cur = 2 * cur + this.getbit();
      if (++len === 16) return TINF_DATA_ERROR;
      sum += t.table[len]!;
      cur -= t.table[len]!;
    } while (cur >= 0);
    return t.trans[sum + cur]!;
  }

  private decodeTrees(): number {
    const lengths = new Uint8Array(288 + 32);
    const hlit = this.readBits(5, 257);
    const hdist = this.readBits(5, 1);
    const hclen = this.readBits(4, 4);
    for (let i = 0; i < hclen; i++) lengths[CODE_LENGTH_ORDER[i]!] = this.readBits(3, 0);
    buildTree(this.lt, lengths, 0, 19);
    const hlimit = hlit + hdist;
    for (let num = 0; num < hlimit; ) {
      const sym = this.decodeSymbol(this.lt);
      if (sym < 0) return sym;
      let fill = 0;
      let length: number;
      if (sym === 16) {
        if (num === 0) return TINF_DATA_ERROR;
        fill = lengths[num - 1]!;
        length = this.readBits(2, 3);
      } else if (sym === 17) length = this.readBits(3, 3);
      else if (sym === 18) length = this.readBits(7, 11);
      else {
        lengths[num++] = sym;
        continue;
      }
      if (num + length > hlimit) return TINF_DATA_ERROR;
      for (; length; length--) lengths[num++] = fill;
    }
    buildTree(this.lt, lengths, 0, hlit);
    buildTree(this.dt, lengths, hlit, hdist);
    return TINF_OK;
  }

  private put(c: number): void {
    this.dest[this.at++] = c;
    this.dict[this.dictIdx++] = c;
    if (this.dictIdx === 32768) this.dictIdx = 0;
    if (this.dictFilled < 32768) this.dictFilled++;
  }

  private blockData(): number {
    if (this.curlen === 0) {
      const sym = this.decodeSymbol(this.lt);
      // uzlib tests `sym < 256` before looking at errors: a failed decode is written as the byte 0xFD.
      if (sym < 256) {
        this.put(sym & 0xff);
        return TINF_OK;
      }
      if (sym === 256) return TINF_DONE;
      const l = sym - 257;
      if (l >= 29) return TINF_DATA_ERROR;
      this.curlen = this.readBits(LENGTH_BITS[l]!, LENGTH_BASE[l]!);
      const dist = this.decodeSymbol(this.dt);
      if (dist < 0) {
        this.undetermined = 'a distance code failed to decode, and uzlib then reads its tables out of bounds';
        return TINF_DATA_ERROR;
      }
      if (dist >= 30) return TINF_DATA_ERROR;
      const offs = this.readBits(DIST_BITS[dist]!, DIST_BASE[dist]!);
      // offs is at most 32768, the ring size, so TINF_DICT_ERROR cannot happen with eboot's ring.
      this.lzOff = this.dictIdx - offs;
      if (this.lzOff < 0) this.lzOff += 32768;
      if (offs > this.dictFilled) this.unknownBytes += this.curlen;
    }
    // uzlib copies one byte per call until the window is full; copying them in one loop gives the same bytes.
    const n = Math.min(this.curlen, this.limit - this.at);
    for (let i = 0; i < n; i++) {
      this.put(this.dict[this.lzOff]!);
      if (++this.lzOff === 32768) this.lzOff = 0;
    }
    this.curlen -= n;
    return TINF_OK;
  }

  private storedBlock(): number {
    if (this.curlen === 0) {
      const length = this.src.byte() | (this.src.byte() << 8);
      const inv = this.src.byte() | (this.src.byte() << 8);
      if (length !== (~inv & 0xffff)) return TINF_DATA_ERROR;
      this.curlen = length + 1;
      this.bitcount = 0;
    }
    if (--this.curlen === 0) return TINF_DONE;
    this.put(this.src.byte());
    return TINF_OK;
  }

  /** uzlib_uncompress into dest[from, limit): the code and where the output stopped. */
  uncompress(dest: Uint8Array, from: number, limit: number): { res: number; end: number } {
    this.dest = dest;
    this.at = from;
    this.limit = limit;
    let res: number;
    do {
      if (this.btype === -1 && (res = this.startBlock()) !== TINF_OK) return { res, end: this.at };
      if (this.btype === 0) res = this.storedBlock();
      else if (this.btype === 1 || this.btype === 2) res = this.blockData();
      else return { res: TINF_DATA_ERROR, end: this.at };
      // A non-final block ended: start the next one without returning (uzlib's `goto next_blk`;
      // an end-of-block wrote nothing, so the window still has room).
      if (res === TINF_DONE && !this.bfinal) {
        if ((res = this.startBlock()) !== TINF_OK) return { res, end: this.at };
        continue;
      }
      if (res !== TINF_OK) return { res, end: this.at };
    } while (this.at < limit);
    return { res: TINF_OK, end: this.at };
  }

  private startBlock(): number {
    const old = this.btype;
    this.bfinal = this.getbit();
    this.btype = this.readBits(2, 0);
    if (this.btype === 1 && old !== 1) buildFixed(this.lt, this.dt);
    else if (this.btype === 2) return this.decodeTrees();
    return TINF_OK;
  }
}

/** uzlib_gzip_parse_header: consumes the header from the source; false where uzlib says DATA_ERROR. */
export function parseGzipHeader(src: ByteSource): boolean {
  if (src.byte() !== 0x1f || src.byte() !== 0x8b || src.byte() !== 8) return false;
  const flg = src.byte();
  if (flg & 0xe0) return false;
  for (let i = 0; i < 6; i++) src.byte();
  if (flg & 0x04) {
    const xlen = src.byte() | (src.byte() << 8);
    for (let i = 0; i < xlen; i++) src.byte();
  }
  if (flg & 0x08) while (src.byte() !== 0);
  if (flg & 0x10) while (src.byte() !== 0);
  // FHCRC is read and never checked
  if (flg & 0x02) src.byte(), src.byte();
  return true;
}
