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
  /** Lower-case names; a repeated header is comma-joined, as the device's HTTPClient joins them. */
  headers: Record<string, string>;
}

export type HeadResult = RequestHead | { status: 400 | 431; reason: string } | null;

/** At most this many header lines (the device sends 15). */
export const MAX_HEADER_LINES = 64;

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** The request head in `buf`, a refusal, or null while the head is still incomplete. */
export function parseHead(buf: Buffer, maxBytes: number): HeadResult {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return buf.length > maxBytes ? { status: 431, reason: `the request head is larger than ${maxBytes} bytes` } : null;
  if (end > maxBytes) return { status: 431, reason: `the request head is larger than ${maxBytes} bytes` };
  const lines = buf.toString('latin1', 0, end).split('\r\n');
  const m = /^([A-Z]{1,16}) (\S{1,4096}) HTTP\/1\.[01]$/.exec(lines[0]!);
  if (!m) return { status: 400, reason: 'the request line is not HTTP/1.0 or HTTP/1.1' };
  if (lines.length - 1 > MAX_HEADER_LINES) return { status: 431, reason: `more than ${MAX_HEADER_LINES} header lines` };
  const headers: Record<string, string> = {};
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon) : '';
    if (!TOKEN.test(name)) return { status: 400, reason: 'a header line is not "name: value"' };
    const key = name.toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[key] = headers[key] === undefined ? value : `${headers[key]}, ${value}`;
  }
  return { method: m[1]!, url: m[2]!, headers };
}

export function isHead(r: HeadResult): r is RequestHead {
  return r !== null && 'method' in r;
}

let dateSecond = 0;
let dateText = '';

/** Status line and headers; every answer closes the connection (the device asks for that). */
export function responseHead(status: number, headers: Record<string, string>): string {
  const now = Date.now();
  if (now - dateSecond >= 1000) {
    dateSecond = now - (now % 1000);
    dateText = new Date(dateSecond).toUTCString();
  }
  let text = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\nDate: ${dateText}\r\nConnection: close\r\n`;
  for (const [k, v] of Object.entries(headers)) text += `${k}: ${v}\r\n`;
  return `${text}\r\n`;
}
