/**
 * HTTP/1.x as an ESP8266httpUpdate client speaks it: one request head (no body) per connection,
 * answered and closed. Parsing is pure (bytes in, request or refusal out); `responseHead` writes
 * the status line and headers. Node's general HTTP server costs several times more per request
 * than the decision it wraps; devices need none of what it adds (keep-alive, bodies, upgrades).
 */
import { STATUS_CODES } from 'node:http';

export interface RequestHead {
  method: string;
  url: string;
  /** Lower-case names, only those asked for; a repeated header is comma-joined, as the device's HTTPClient joins them. */
  headers: Record<string, string>;
}

export type HeadResult = RequestHead | { status: 400 | 431; reason: string } | null;

/** At most this many header lines (the device sends 15). */
export const MAX_HEADER_LINES = 64;

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const REQUEST_LINE = /^([A-Z]{1,16}) (\S{1,4096}) HTTP\/1\.[01]$/;
const END_OF_HEAD = Buffer.from('\r\n\r\n', 'latin1');

/**
 * The header names a caller reads, lower case, by length. parseHead keeps only these: making a
 * property of every name a client sends (interning a fresh string each time) cost more than the
 * rest of the answer; the other lines are still checked to be well-formed, then dropped.
 */
export interface HeaderSet {
  byLength: (readonly string[] | undefined)[];
}

export function headerSet(names: readonly string[]): HeaderSet {
  const byLength: string[][] = [];
  for (const n of names) {
    if (n !== n.toLowerCase() || !TOKEN.test(n)) throw new Error(`header name ${n} is not a lower-case token`);
    (byLength[n.length] ??= []).push(n);
  }
  return { byLength };
}

/** The name of `keep` that `name` spells in any letter case (that very string, already interned), or null. */
function keptName(name: string, keep: HeaderSet): string | null {
  const candidates = keep.byLength[name.length];
  if (candidates === undefined) return null;
  const lower = name.toLowerCase();
  for (const k of candidates) if (k === lower) return k;
  return null;
}

/** The request head in `buf` with the headers of `keep`, a refusal, or null while the head is still incomplete. */
export function parseHead(buf: Buffer, maxBytes: number, keep: HeaderSet): HeadResult {
  const end = buf.indexOf(END_OF_HEAD);
  if (end < 0) return buf.length > maxBytes ? { status: 431, reason: `the request head is larger than ${maxBytes} bytes` } : null;
  if (end > maxBytes) return { status: 431, reason: `the request head is larger than ${maxBytes} bytes` };
  // one string for the whole head; lines are walked by index, never split into an array
  const text = buf.toString('latin1', 0, end);
  let eol = text.indexOf('\r\n');
  if (eol < 0) eol = end;
  const m = REQUEST_LINE.exec(eol === end ? text : text.slice(0, eol));
  if (!m) return { status: 400, reason: 'the request line is not HTTP/1.0 or HTTP/1.1' };
  const headers: Record<string, string> = {};
  let lines = 0;
  for (let at = eol + 2; at < end + 2; at = eol + 2) {
    eol = text.indexOf('\r\n', at);
    if (eol < 0) eol = end;
    if (++lines > MAX_HEADER_LINES) return { status: 431, reason: `more than ${MAX_HEADER_LINES} header lines` };
    const colon = text.indexOf(':', at);
    const name = colon < 0 || colon > eol ? '' : text.slice(at, colon);
    // a name that lower-cases to a kept one is a token already (only A-Z lower-case to ASCII in Latin-1)
    const key = keptName(name, keep);
    if (key === null) {
      if (!TOKEN.test(name)) return { status: 400, reason: 'a header line is not "name: value"' };
      continue;
    }
    const value = text.slice(colon + 1, eol).trim();
    const before = headers[key];
    headers[key] = before === undefined ? value : `${before}, ${value}`;
  }
  return { method: m[1]!, url: m[2]!, headers };
}

export function isHead(r: HeadResult): r is RequestHead {
  return r !== null && 'method' in r;
}

let dateSecond = 0;
let dateText = '';

function date(): string {
  const now = Date.now();
  if (now - dateSecond >= 1000) {
    dateSecond = now - (now % 1000);
    dateText = new Date(dateSecond).toUTCString();
  }
  return dateText;
}

/** Status line and headers; every answer closes the connection (the device asks for that). */
export function responseHead(status: number, headers: Record<string, string>): string {
  let text = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\nDate: ${date()}\r\nConnection: close\r\n`;
  for (const k in headers) text += `${k}: ${headers[k]}\r\n`;
  return `${text}\r\n`;
}

let notModified = { date: '', bytes: Buffer.alloc(0) };

/**
 * The answer most polls get (a device that runs its release), as bytes made once per second:
 * only its Date changes, and writing one buffer to every socket costs less than a string each.
 */
export function notModifiedHead(): Buffer {
  const d = date();
  if (notModified.date !== d) notModified = { date: d, bytes: Buffer.from(responseHead(304, {}), 'latin1') };
  return notModified.bytes;
}
