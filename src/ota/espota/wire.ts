/**
 * The bytes of the ArduinoOTA exchange as the device side reads and writes them
 * (libraries/ArduinoOTA/ArduinoOTA.cpp, unchanged in what it parses from 2.5.0 to HEAD): the UDP
 * invitation and challenge answer it parses, the UDP lines it answers with, and the TCP stream of
 * glued byte counts that ends in `OK` or `ERROR[n]: text`. Pure functions; no sockets.
 */
import { createHash, randomBytes } from 'node:crypto';

/** Update commands the device's `_onRx` accepts in state IDLE (U_FLASH, U_FS), and the answer code U_AUTH. */
export const OTA_COMMAND = { flash: 0, filesystem: 100, auth: 200 } as const;

export const md5Hex = (data: string | Uint8Array): string => createHash('md5').update(data).digest('hex');

/** `cmd hostPort size md5\n`: decimal, single spaces, LF; the device drops anything else silently. */
export function invitation(command: number, hostPort: number, size: number, md5: string): string {
  return `${command} ${hostPort} ${size} ${md5}\n`;
}

/**
 * The answer to `AUTH <nonce>`: the device compares MD5(MD5(password) ":" nonce ":" cnonce) in
 * constant time, lower-case hex. The cnonce is ours to choose (the device only needs 32 characters);
 * espota derives it from the file, we draw it at random so no two answers repeat.
 */
export function authAnswer(password: string, nonce: string, cnonce = randomBytes(16).toString('hex')): string {
  const response = md5Hex(`${md5Hex(password)}:${nonce}:${cnonce}`);
  return `${OTA_COMMAND.auth} ${cnonce} ${response}\n`;
}

/** What the device can say over UDP, parsed in one place. */
export type UdpReply =
  | { kind: 'ok' }
  | { kind: 'auth-challenge'; nonce: string }
  | { kind: 'auth-failed' }
  | { kind: 'begin-error'; code: number; text: string }
  | { kind: 'garbled'; text: string };

const ERROR_LINE = /^ERROR\[(\d{1,3})\]:?\s?(.*)$/s;

/** Longest reply worth quoting back to a user: a hostile peer's datagram is not echoed whole. */
const QUOTE_LIMIT = 120;

export function quote(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > QUOTE_LIMIT ? `${clean.slice(0, QUOTE_LIMIT)}…` : clean;
}

export function parseUdpReply(data: Uint8Array): UdpReply {
  const text = Buffer.from(data).toString('latin1');
  if (text === 'OK') return { kind: 'ok' };
  const auth = /^AUTH ([0-9a-f]{32})$/i.exec(text.trim());
  if (auth) return { kind: 'auth-challenge', nonce: auth[1]!.toLowerCase() };
  if (text.startsWith('Authentication Failed')) return { kind: 'auth-failed' };
  // `Update.begin()` failed: "ERR: " + printError's "ERROR[n]: text\n"
  const err = text.startsWith('ERR: ') ? ERROR_LINE.exec(text.slice(5).trim()) : null;
  if (err) return { kind: 'begin-error', code: Number(err[1]), text: quote(`ERROR[${err[1]}]: ${err[2]!.trim()}`) };
  return { kind: 'garbled', text: quote(text) };
}

/** The device's final word on the TCP connection. */
export type TcpResult = { kind: 'ok' } | { kind: 'device-error'; code: number; text: string } | { kind: 'garbled'; text: string };

/** A result line longer than this is not the device's: stop collecting and call it garbled. */
const RESULT_LIMIT = 256;

/**
 * Reads the device's TCP stream: byte counts glued together without separators (so they are not
 * parsed as numbers), then the result. The first non-digit starts the result, which may share a
 * segment with the last count; `ERROR[n]: …` ends at its newline, `OK` needs none.
 */
export class TcpReplyReader {
  private text: string | null = null;
  /** Characters of byte counts seen: the device is reading. */
  ackDigits = 0;

  /** Feeds received bytes; returns the result once it is complete. */
  feed(data: Uint8Array): TcpResult | null {
    let i = 0;
    if (this.text === null) {
      while (i < data.length && data[i]! >= 0x30 && data[i]! <= 0x39) i++;
      this.ackDigits += i;
      if (i === data.length) return null;
      this.text = '';
    }
    this.text += Buffer.from(data.subarray(i)).toString('latin1');
    if (this.text.startsWith('OK')) return { kind: 'ok' };
    const nl = this.text.indexOf('\n');
    if (nl >= 0 || this.text.length > RESULT_LIMIT) return classify(nl >= 0 ? this.text.slice(0, nl) : this.text);
    // a device prints nothing but E… or O… here: anything else is complete as it stands
    if (!'ERROR'.startsWith(this.text.slice(0, 5)) && !'OK'.startsWith(this.text.slice(0, 2))) return classify(this.text);
    return null;
  }

  /** The connection ended: what arrived so far is all there is (null: no result started). */
  end(): TcpResult | null {
    return this.text === null || this.text === '' ? null : classify(this.text);
  }

  get started(): boolean {
    return this.text !== null;
  }
}

function classify(line: string): TcpResult {
  const trimmed = line.replace(/\r$/, '').trim();
  if (trimmed.startsWith('OK')) return { kind: 'ok' };
  const m = ERROR_LINE.exec(trimmed);
  if (m) return { kind: 'device-error', code: Number(m[1]), text: quote(`ERROR[${m[1]}]: ${m[2]!.trim()}`) };
  return { kind: 'garbled', text: quote(trimmed) };
}
