/**
 * The device's view of keys and signatures, as BearSSL (the esp8266 fork) and BearSSLHelpers decide
 * them (device-behaviour.md §4). Written from the rules, on BigInt, so it rejects what the device
 * rejects — Node's crypto.verify accepts key forms and paddings that an ESP8266 does not.
 */

export type DeviceKey =
  | { kind: 'rsa'; n: Uint8Array; e: Uint8Array }
  | { kind: 'ec'; curve: number; q: Uint8Array }
  | { kind: 'none'; reason: string };

/** BR_MAX_RSA_SIZE: the i15 public operation refuses moduli over 4096 bits on every core. */
export const MAX_RSA_BYTES = 512;

/**
 * The automatic-signing path parses `signing_pubkey[]` with strlen_P, and the array has no NUL:
 * the key ends at its first 0x00 byte (we assume a zero follows the array, the best case).
 */
export function keyAsStrlenSees(embedded: Uint8Array): Uint8Array {
  const nul = embedded.indexOf(0);
  return nul === -1 ? embedded : embedded.subarray(0, nul);
}

/** The key the running firmware parses from `signing_pubkey[]`, with a binary key's real trouble named. */
export function decodeEmbeddedKey(embedded: Uint8Array): DeviceKey {
  const key = decodeDevicePublicKey(keyAsStrlenSees(embedded));
  const nul = embedded.indexOf(0);
  if (key.kind === 'none' && nul !== -1) {
    return none(`the embedded key holds a zero byte (offset ${nul}, as DER does): the firmware reads it with strlen, which stops there, and ${key.reason}`);
  }
  return key;
}

/** `brssl::read_public_key` as BearSSLHelpers uses it: DER when it looks like DER, else PEM. */
export function decodeDevicePublicKey(buf: Uint8Array): DeviceKey {
  if (looksLikeDer(buf)) return decodePkey(buf);
  const objects = pemObjects(buf);
  if (objects === null) return none('the PEM text is malformed (no complete BEGIN/END block the device can read)');
  const found = objects.find((o) => o.label === 'RSA PUBLIC KEY' || o.label === 'EC PUBLIC KEY' || o.label === 'PUBLIC KEY');
  if (!found) {
    const labels = objects.map((o) => o.label);
    return none(labels.length
      ? `the PEM block is labelled "${labels[0]}", not "PUBLIC KEY"`
      : 'no "-----BEGIN PUBLIC KEY-----" line the device recognises (a byte-order mark, text on the BEGIN line or a key on one line hides it)');
  }
  return decodePkey(found.der);
}

function none(reason: string): DeviceKey {
  return { kind: 'none', reason };
}

function looksLikeDer(buf: Uint8Array): boolean {
  if (buf.length < 2 || buf[0] !== 0x30) return false;
  const len = readLength(buf, 1);
  return len !== null && len.next + len.value === buf.length;
}

function readLength(buf: Uint8Array, at: number): { value: number; next: number } | null {
  if (at >= buf.length) return null;
  const first = buf[at]!;
  if (first < 0x80) return { value: first, next: at + 1 };
  const count = first & 0x7f;
  if (count === 0 || count > 4 || at + 1 + count > buf.length) return null;
  let value = 0;
  for (let i = 0; i < count; i++) value = value * 256 + buf[at + 1 + i]!;
  return { value, next: at + 1 + count };
}

interface Tlv {
  tag: number;
  body: Uint8Array;
  end: number;
}

function readTlv(buf: Uint8Array, at: number, limit: number): Tlv | null {
  if (at >= limit) return null;
  const tag = buf[at]!;
  const len = readLength(buf, at + 1);
  if (!len || len.next + len.value > limit) return null;
  return { tag, body: buf.subarray(len.next, len.next + len.value), end: len.next + len.value };
}

const OID_RSA = Uint8Array.of(0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01);
const OID_EC = Uint8Array.of(0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01);
const CURVES: Array<[Uint8Array, number]> = [
  [Uint8Array.of(0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07), 23],
  [Uint8Array.of(0x2b, 0x81, 0x04, 0x00, 0x22), 24],
  [Uint8Array.of(0x2b, 0x81, 0x04, 0x00, 0x23), 25],
];

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** BearSSL stores integers without leading zeros; a top bit set without a 0x00 pad is an overflow. */
function unsignedInteger(body: Uint8Array): Uint8Array | null {
  if (body.length === 0 || body[0]! >= 0x80) return null;
  let i = 0;
  while (i < body.length && body[i] === 0) i++;
  return body.subarray(i);
}

/** The fork-only br_pkey_decoder: SubjectPublicKeyInfo works; PKCS#1 RSAPublicKey does not. */
function decodePkey(der: Uint8Array): DeviceKey {
  const outer = readTlv(der, 0, der.length);
  if (!outer || outer.tag !== 0x30 || outer.end !== der.length) return none('the key is not a single DER SEQUENCE');
  const body = outer.body;
  const first = readTlv(body, 0, body.length);
  if (!first) return none('the key structure is truncated');
  if (first.tag === 0x02) {
    return none('the key is PKCS#1 "RSA PUBLIC KEY"; the device decoder fails on that form (BearSSL error 41)');
  }
  if (first.tag !== 0x30) return none('the key is not a SubjectPublicKeyInfo');
  const oid = readTlv(first.body, 0, first.body.length);
  if (!oid || oid.tag !== 0x06) return none('the key has no algorithm identifier');
  const bits = readTlv(body, first.end, body.length);
  if (!bits || bits.tag !== 0x03 || bits.body.length < 1 || bits.body[0] !== 0) return none('the key bit string is malformed');
  const content = bits.body.subarray(1);
  if (equalBytes(oid.body, OID_RSA)) {
    const seq = readTlv(content, 0, content.length);
    if (!seq || seq.tag !== 0x30) return none('the RSA key body is malformed');
    const n = readTlv(seq.body, 0, seq.body.length);
    const e = n && readTlv(seq.body, n.end, seq.body.length);
    if (!n || !e || n.tag !== 0x02 || e.tag !== 0x02) return none('the RSA key body is malformed');
    const nv = unsignedInteger(n.body);
    const ev = unsignedInteger(e.body);
    if (!nv || !ev) return none('the RSA key has a malformed integer');
    return { kind: 'rsa', n: nv, e: ev };
  }
  if (equalBytes(oid.body, OID_EC)) {
    const param = readTlv(first.body, oid.end, first.body.length);
    let curve = 0;
    if (param) {
      const match = CURVES.find(([c]) => param.tag === 0x06 && equalBytes(param.body, c));
      if (!match) return none('the EC key uses a curve the device does not know');
      curve = match[1];
    }
    // The decoder consumes the 0x04 "uncompressed point" marker as a tag: q lacks it (§4.2).
    return { kind: 'ec', curve, q: content.subarray(1) };
  }
  return none('the key algorithm is neither RSA nor EC');
}

/**
 * A model of br_pem_decoder over the whole buffer with one LF appended: BEGIN/END banner lines
 * (indentation allowed, nothing after the closing dashes but a CR), base64 bodies with
 * whitespace and blank lines ignored. Returns null on a malformed or unterminated object.
 */
function pemObjects(buf: Uint8Array): Array<{ label: string; der: Uint8Array }> | null {
  const text = Buffer.from(buf).toString('latin1') + '\n';
  const lines = text.split('\n');
  const objects: Array<{ label: string; der: Uint8Array }> = [];
  let label: string | null = null;
  let b64 = '';
  for (const raw of lines) {
    const line = raw.replace(/^[ \t]+/, '');
    const bare = line.endsWith('\r') ? line.slice(0, -1) : line;
    if (label === null) {
      const m = /^-----BEGIN ([^-]*)-----$/.exec(bare);
      if (m) {
        label = m[1]!;
        b64 = '';
      }
      continue;
    }
    if (bare.startsWith('-----END ')) {
      if (!/^[A-Za-z0-9+/=\s]*$/.test(b64)) return null;
      objects.push({ label, der: Buffer.from(b64.replace(/\s+/g, ''), 'base64') });
      label = null;
      continue;
    }
    if (bare.startsWith('-----')) return null;
    b64 += bare;
  }
  return label === null ? objects : null;
}

/** `SigningVerifier::length()`: the signature length the device expects (0 = no usable key). */
export function verifierLength(key: DeviceKey): number {
  if (key.kind === 'rsa') return key.n.length;
  if (key.kind === 'ec') return key.q.length;
  return 0;
}

/** Why a decoded key can or cannot verify anything, in one place for every caller. */
export function deviceKeyProblem(key: DeviceKey): string | null {
  if (key.kind === 'none') return key.reason;
  if (key.kind === 'ec') return 'it is an EC key; every ESP8266 core rejects EC signatures (the decoder drops the point prefix)';
  if (key.n.length > MAX_RSA_BYTES) return `it is a ${key.n.length * 8}-bit RSA key; BearSSL on the ESP8266 verifies at most 4096 bits`;
  if (key.n.length < 62) return `its ${key.n.length * 8}-bit modulus cannot hold a PKCS#1 SHA-256 signature`;
  return null;
}

export type PaddingMode = 'null-oid' | 'digestinfo';

const SHA256_OID = Uint8Array.of(0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01);

function toBigInt(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt('0x' + Buffer.from(bytes).toString('hex'));
}

function modPow(base: bigint, exp: bigint, mod: bigint): bigint {
  let result = 1n;
  let b = base % mod;
  let e = exp;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % mod;
    b = (b * b) % mod;
    e >>= 1n;
  }
  return result;
}

/** br_rsa_i15_public: s^e mod n as exactly k bytes, or null where BearSSL refuses. */
export function rsaPublic(key: { n: Uint8Array; e: Uint8Array }, sig: Uint8Array): Uint8Array | null {
  const k = key.n.length;
  if (k === 0 || k > MAX_RSA_BYTES || sig.length !== k) return null;
  const n = toBigInt(key.n);
  if ((n & 1n) === 0n) return null;
  const s = toBigInt(sig);
  if (s >= n) return null;
  const m = modPow(s, toBigInt(key.e), n);
  return Buffer.from(m.toString(16).padStart(k * 2, '0'), 'hex');
}

/**
 * br_rsa_pkcs1_sig_unpad followed by SigningVerifier's compare: NULL-OID mode on 2.5.x (bare
 * digest), DigestInfo mode (with or without the NULL parameters) from 2.6.0 (§4.4).
 */
export function pkcs1Unpad(em: Uint8Array, mode: PaddingMode, hashLen = 32): Uint8Array | null {
  const k = em.length;
  if (k < 11) return null;
  if (em[0] !== 0x00 || em[1] !== 0x01) return null;
  for (let i = 2; i < 10; i++) if (em[i] !== 0xff) return null;
  let u = 10;
  while (u < k && em[u] === 0xff) u++;
  if (mode === 'null-oid') {
    if (k - u !== hashLen + 1 || em[u] !== 0x00) return null;
    return em.subarray(k - hashLen);
  }
  const z = k - u - hashLen;
  let prefix: number[];
  if (z === 18) prefix = [0x00, 0x30, 0x2f, 0x30, 0x0b, 0x06, 0x09, ...SHA256_OID, 0x04, 0x20];
  else if (z === 20) prefix = [0x00, 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, ...SHA256_OID, 0x05, 0x00, 0x04, 0x20];
  else return null;
  for (let i = 0; i < z; i++) if (em[u + i] !== prefix[i]) return null;
  return em.subarray(k - hashLen);
}

/** The whole device decision for one signature over a SHA-256 digest. */
export function deviceVerify(key: DeviceKey, digest: Uint8Array, sig: Uint8Array, mode: PaddingMode): boolean {
  if (key.kind !== 'rsa') return false;
  if (sig.length !== key.n.length) return false;
  const em = rsaPublic(key, sig);
  if (!em) return false;
  const recovered = pkcs1Unpad(em, mode, digest.length);
  return recovered !== null && equalBytes(recovered, digest);
}
