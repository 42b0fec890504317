/** DEFLATE's bit stream: bits fill each byte from its least significant end (RFC 1951 §3.1.1). */
export class BitWriter {
  private out: Uint8Array;
  private pos = 0;
  private acc = 0;
  private count = 0;

  constructor(expected: number) {
    this.out = new Uint8Array(Math.max(1024, expected));
  }

  /** Makes room for `bytes` more bytes, so put() itself never checks. */
  reserve(bytes: number): void {
    if (this.pos + bytes + 8 <= this.out.length) return;
    const bigger = new Uint8Array(Math.max(this.out.length * 2, this.pos + bytes + 1024));
    bigger.set(this.out.subarray(0, this.pos));
    this.out = bigger;
  }

  /** Appends the low `n` (≤ 16) bits of `bits`. */
  put(bits: number, n: number): void {
    this.acc |= bits << this.count;
    this.count += n;
    while (this.count >= 8) {
      this.out[this.pos++] = this.acc & 0xff;
      this.acc >>>= 8;
      this.count -= 8;
    }
  }

  /** Pads to a byte boundary with zero bits (stored blocks' data starts there). */
  alignToByte(): void {
    if (this.count > 0) this.put(0, 8 - this.count);
  }

  /** Appends whole bytes; the stream must be byte-aligned. */
  bytes(data: Uint8Array): void {
    this.reserve(data.length);
    this.out.set(data, this.pos);
    this.pos += data.length;
  }

  /** Bits written so far. */
  get bitLength(): number {
    return this.pos * 8 + this.count;
  }

  /** The stream, its last byte padded with zero bits. */
  finish(): Uint8Array {
    this.alignToByte();
    return this.out.subarray(0, this.pos);
  }
}
