/**
 * An ESP8266httpUpdate request, validated (ESP8266httpUpdate.cpp handleUpdate, HTTPClient
 * sendHeader): the fixed `User-Agent`, then the `x-ESP8266-*` headers. Anything else is answered
 * as the OTA documentation's sample does (403 with the reason); a value no device can send (a
 * malformed MAC, an absurd number, a path that climbs out) is a 400. Pure: header object in.
 */
import { MAC_RE } from '../releases/rules.js';
import { headerSet } from './wire.js';

export type UpdateMode = 'sketch' | 'spiffs' | 'version';

export interface DeviceRequest {
  method: 'GET' | 'HEAD';
  mode: UpdateMode;
  staMac: string;
  apMac: string;
  /** Sent since 2.6.0 (x-ESP8266-Chip-ID). */
  chipId: number | null;
  freeSpace: number;
  sketchSize: number;
  /** getSketchMD5(); null when the device sent an empty one (it could not allocate its buffer). */
  sketchMd5: string | null;
  chipSize: number;
  sdkVersion: string;
  /** The version string the sketch passed, sent only when non-empty (#4710). */
  version: string | null;
}

export type Refusal = { status: 400 | 403 | 405 | 413; reason: string };

export const USER_AGENT = 'ESP8266-http-Update';

/** Headers every release since 2.4.0 sends (2.4.x/2.5.x lack Chip-ID and Content-Length: not required). */
const REQUIRED = ['x-esp8266-mode', 'x-esp8266-sta-mac', 'x-esp8266-ap-mac', 'x-esp8266-free-space', 'x-esp8266-sketch-size', 'x-esp8266-sketch-md5', 'x-esp8266-chip-size', 'x-esp8266-sdk-version'] as const;

/** Read when present: the user agent, headers older cores lack (#4710, Chip-ID before 2.6.0), and any sign of a body. */
const OPTIONAL = ['user-agent', 'x-esp8266-chip-id', 'x-esp8266-version', 'transfer-encoding', 'content-length'] as const;
/** A header parseRequest may read: reading any other is a type error, so DEVICE_HEADERS cannot fall behind. */
type DeviceHeader = (typeof REQUIRED)[number] | (typeof OPTIONAL)[number];

/** Every header parseRequest reads: the only ones the server keeps from a request head. */
export const DEVICE_HEADERS = headerSet([...REQUIRED, ...OPTIONAL]);

/** Largest flash chip an ESP8266 addresses (16 MiB) with room for odd JEDEC ids. */
const MAX_CHIP = 128 * 1024 * 1024;
const PRINTABLE = /^[\x20-\x7e]*$/;

type Headers = Record<string, string | string[] | undefined>;

function one(h: Headers, name: DeviceHeader): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

function decimal(text: string, name: string, max: number): number | string {
  if (!/^\d{1,10}$/.test(text)) return `${name} "${clip(text)}" is not a decimal number`;
  const n = Number(text);
  return n > max ? `${name} ${n} is beyond any ESP8266 (at most ${max})` : n;
}

function clip(text: string): string {
  const t = text.replace(/[^\x20-\x7e]/g, '?');
  return t.length > 40 ? `${t.slice(0, 40)}…` : t;
}

/** Only a path that could name an update script: no climbing, no encoded separators, no NUL. */
export function pathProblem(url: string): string | null {
  if (url.length > 512) return 'the request path is longer than 512 characters';
  const query = url.indexOf('?');
  const path = query < 0 ? url : url.slice(0, query);
  if (!path.startsWith('/')) return 'the request path does not start with /';
  // a device's path (/update.php, /esp/update) has no escape, and decodes to itself
  let decoded = path;
  if (path.includes('%')) {
    try {
      decoded = decodeURIComponent(path);
    } catch {
      return 'the request path has a broken %-escape';
    }
  }
  const climbs = decoded.includes('/.') && decoded.split('/').some((s) => s === '..' || s === '.');
  if (climbs || /[\0\\]/.test(decoded) || /%2f/i.test(path)) return 'the request path climbs out of the server (.., \\, %2F or NUL)';
  return null;
}

export function parseRequest(method: string, url: string, headers: Headers): DeviceRequest | Refusal {
  if (method !== 'GET' && method !== 'HEAD') return { status: 405, reason: `method ${clip(method)} is not GET or HEAD` };
  const pp = pathProblem(url);
  if (pp) return { status: 400, reason: pp };
  const ua = one(headers, 'user-agent');
  if (ua !== USER_AGENT) return { status: 403, reason: `only for ESP8266 updater: User-Agent is ${ua === undefined ? 'missing' : `"${clip(ua)}"`}, not ${USER_AGENT}` };
  for (const name of REQUIRED) if (one(headers, name) === undefined) return { status: 403, reason: `only for ESP8266 updater: header ${name} is missing` };
  const te = one(headers, 'transfer-encoding');
  const cl = one(headers, 'content-length');
  if (te !== undefined || (cl !== undefined && cl !== '0')) return { status: 413, reason: 'an update request carries no body' };

  const get = (name: (typeof REQUIRED)[number]) => one(headers, name)!.trim();
  const mode = get('x-esp8266-mode');
  if (mode !== 'sketch' && mode !== 'spiffs' && mode !== 'version') return { status: 400, reason: `x-ESP8266-mode "${clip(mode)}" is not sketch, spiffs or version` };
  const staMac = get('x-esp8266-sta-mac');
  const apMac = get('x-esp8266-ap-mac');
  for (const [n, mac] of [['x-ESP8266-STA-MAC', staMac], ['x-ESP8266-AP-MAC', apMac]] as const) {
    if (!MAC_RE.test(mac.toUpperCase())) return { status: 400, reason: `${n} "${clip(mac)}" is not a MAC like 18:FE:34:AA:BB:CC` };
  }
  const chipSize = decimal(get('x-esp8266-chip-size'), 'x-ESP8266-chip-size', MAX_CHIP);
  if (typeof chipSize === 'string') return { status: 400, reason: chipSize };
  const freeSpace = decimal(get('x-esp8266-free-space'), 'x-ESP8266-free-space', chipSize);
  if (typeof freeSpace === 'string') return { status: 400, reason: freeSpace };
  const sketchSize = decimal(get('x-esp8266-sketch-size'), 'x-ESP8266-sketch-size', chipSize);
  if (typeof sketchSize === 'string') return { status: 400, reason: sketchSize };
  const md5 = get('x-esp8266-sketch-md5').toLowerCase();
  if (md5 !== '' && !/^[0-9a-f]{32}$/.test(md5)) return { status: 400, reason: `x-ESP8266-sketch-md5 "${clip(md5)}" is not 32 hex digits` };
  const sdkVersion = get('x-esp8266-sdk-version');
  if (sdkVersion.length > 64 || !PRINTABLE.test(sdkVersion)) return { status: 400, reason: 'x-ESP8266-sdk-version is not a short printable string' };
  const chipIdText = one(headers, 'x-esp8266-chip-id');
  let chipId: number | null = null;
  if (chipIdText !== undefined) {
    const c = decimal(chipIdText.trim(), 'x-ESP8266-Chip-ID', 0xffffffff);
    if (typeof c === 'string') return { status: 400, reason: c };
    chipId = c;
  }
  const versionText = one(headers, 'x-esp8266-version');
  if (versionText !== undefined && (versionText.length > 64 || !PRINTABLE.test(versionText))) return { status: 400, reason: 'x-ESP8266-version is longer than 64 characters or not printable' };
  return {
    method,
    mode,
    staMac: staMac.toUpperCase(),
    apMac: apMac.toUpperCase(),
    chipId,
    freeSpace,
    sketchSize,
    sketchMd5: md5 === '' ? null : md5,
    chipSize,
    sdkVersion,
    version: versionText === undefined || versionText.trim() === '' ? null : versionText.trim(),
  };
}

export function isRefusal(r: DeviceRequest | Refusal): r is Refusal {
  return 'status' in r;
}
