/**
 * A test ESP8266 polling with ESP8266httpUpdate: it sends the request the device sends (HTTPClient
 * sendHeader: request line, Host, User-Agent, Connection, then the x-ESP8266-* headers in
 * handleUpdate's order, then Content-Length: 0; HTTP/1.0), applies handleUpdate's checks to the
 * answer, feeds a 200's body to the project's emulated Updater and eboot, and afterwards reports
 * the sketch MD5 the new firmware would send (getSketchMD5 over flash [0, getSketchSize())).
 */
import { createHash } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { Device, type Verdict } from '../../src/emulator/device.js';
import { namedLayout, type Layout } from '../../src/emulator/layouts.js';
import { profileFor } from '../../src/emulator/profiles.js';
import { magicFlashChipSize, sketchSize, type FlashMode } from '../../src/image/image.js';
import { filesystemRejection } from '../../src/ota/releases/filesystem.js';

export type Outcome = 'HTTP_UPDATE_OK' | 'HTTP_UPDATE_NO_UPDATES' | 'HTTP_UPDATE_FAILED';

/** ESP8266httpUpdate.h's codes for what the device refuses itself. */
export const HTTP_UE = {
  TOO_LESS_SPACE: -100,
  SERVER_NOT_REPORT_SIZE: -101,
  SERVER_FILE_NOT_FOUND: -102,
  SERVER_FORBIDDEN: -103,
  SERVER_WRONG_HTTP_CODE: -104,
  SERVER_FAULTY_MD5: -105,
  BIN_VERIFY_HEADER_FAILED: -106,
  BIN_FOR_WRONG_FLASH: -107,
  SERVER_UNAUTHORIZED: -108,
} as const;

export interface HttpUpdateDeviceSpec {
  core: string;
  layout?: Layout | string;
  /** getFlashChipRealSize(); default the layout's flash size. */
  chipSize?: number;
  /** The flash mode the chip runs in (the Updater patches byte 2 of raw uploads to it). */
  mode: FlashMode;
  /** signing_pubkey[] compiled into the running firmware; null = built without signing. */
  key: Uint8Array | null;
  mac: string;
  chipId?: number;
  /** What the sketch passes as currentVersion; null sends no x-ESP8266-version. */
  version?: string | null;
  /** What the sketch passes to updateFS() as the filesystem's version. */
  fsVersion?: string | null;
  /** After an update, report the x-version the server sent (a sketch whose version is its release's). */
  takesServerVersion?: boolean;
  /** The firmware it was serial-flashed with. */
  running: Uint8Array;
}

export interface PollResult {
  status: number;
  headers: Record<string, string>;
  /** The request exactly as sent. */
  request: string;
  bodyLength: number;
  outcome: Outcome;
  lastError: number | null;
  verdict?: Verdict;
  availableVersion?: string;
}

export interface PollOptions {
  mode?: 'sketch' | 'spiffs' | 'version';
  method?: 'GET' | 'HEAD';
  /** The device's HTTP client timeout (setClientTimeout, 8000 ms in 3.1.x). */
  timeoutMs?: number;
  /** HTTPS: the CA (or self-signed certificate) the device trusts. */
  ca?: Buffer;
}

const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');
const SECTOR = 0x1000;

export class HttpUpdateDevice {
  readonly layout: Layout;
  sketchSize: number;
  sketchMd5: string;
  version: string | null;
  fsVersion: string | null;

  constructor(readonly spec: HttpUpdateDeviceSpec) {
    this.layout = typeof spec.layout === 'string' ? namedLayout(spec.layout) : spec.layout ?? namedLayout('4M2M');
    const size = sketchSize(spec.running);
    if (size === null) throw new Error('the running firmware has no app image');
    this.sketchSize = size;
    this.sketchMd5 = md5(spec.running.subarray(0, size));
    this.version = spec.version ?? null;
    this.fsVersion = spec.fsVersion ?? null;
  }

  get chipSize(): number {
    return this.spec.chipSize ?? this.layout.flashSize;
  }

  /** getFreeSketchSpace(): from the running sketch's end, rounded up to a sector, to FS_start. */
  get freeSpace(): number {
    return this.layout.fsStart - Math.ceil(this.sketchSize / SECTOR) * SECTOR;
  }

  requestHead(url: URL, mode: 'sketch' | 'spiffs' | 'version', method = 'GET'): string {
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    const host = port === 80 || port === 443 ? url.hostname : `${url.hostname}:${port}`;
    const lines = [
      `${method} ${url.pathname}${url.search} HTTP/1.0`,
      `Host: ${host}`,
      'User-Agent: ESP8266-http-Update',
      'Connection: close',
      `x-ESP8266-Chip-ID: ${this.spec.chipId ?? 1234567}`,
      `x-ESP8266-STA-MAC: ${this.spec.mac}`,
      `x-ESP8266-AP-MAC: ${this.spec.mac.replace(/^../, (b) => ((parseInt(b, 16) | 2).toString(16).toUpperCase().padStart(2, '0')))}`,
      `x-ESP8266-free-space: ${this.freeSpace}`,
      `x-ESP8266-sketch-size: ${this.sketchSize}`,
      `x-ESP8266-sketch-md5: ${this.sketchMd5}`,
      `x-ESP8266-chip-size: ${this.chipSize}`,
      'x-ESP8266-sdk-version: 2.2.2-dev(38a443e)',
      `x-ESP8266-mode: ${mode}`,
      ...((mode === 'spiffs' ? this.fsVersion : this.version) ? [`x-ESP8266-version: ${mode === 'spiffs' ? this.fsVersion : this.version}`] : []),
      'Content-Length: 0',
    ];
    return `${lines.join('\r\n')}\r\n\r\n`;
  }

  async poll(urlText: string, o: PollOptions = {}): Promise<PollResult> {
    const url = new URL(urlText);
    const mode = o.mode ?? 'sketch';
    const request = this.requestHead(url, mode, o.method);
    const raw = await exchange(url, request, o.timeoutMs ?? 8000, o.ca);
    const { status, headers, body } = parseResponse(raw);
    const base = { status, headers, request, bodyLength: body.length };
    const fail = (code: number, verdict?: Verdict): PollResult => ({ ...base, outcome: 'HTTP_UPDATE_FAILED', lastError: code, ...(verdict ? { verdict } : {}) });
    if (mode === 'version') {
      if (status !== 200) return fail(codeFor(status));
      return headers['x-version'] !== undefined ? { ...base, outcome: 'HTTP_UPDATE_OK', lastError: null, availableVersion: headers['x-version'] } : fail(-109);
    }
    if (status === 304) return { ...base, outcome: 'HTTP_UPDATE_NO_UPDATES', lastError: null };
    if (status !== 200) return fail(codeFor(status));
    const len = Number(headers['content-length'] ?? 0);
    if (!(len > 0) || headers['transfer-encoding'] !== undefined) return fail(HTTP_UE.SERVER_NOT_REPORT_SIZE);
    const room = mode === 'spiffs' ? this.layout.fsEnd - this.layout.fsStart : this.freeSpace;
    if (len > room) return fail(HTTP_UE.TOO_LESS_SPACE);
    if (o.method === 'HEAD') return { ...base, outcome: 'HTTP_UPDATE_FAILED', lastError: null };
    if (mode === 'sketch') {
      if (body.length < 4 || (body[0] !== 0xe9 && body[0] !== 0x1f)) return fail(HTTP_UE.BIN_VERIFY_HEADER_FAILED);
      if (body[0] === 0xe9 && magicFlashChipSize(body[3]! >> 4) > this.chipSize) return fail(HTTP_UE.BIN_FOR_WRONG_FLASH);
    }
    const xmd5 = headers['x-md5'];
    if (xmd5 !== undefined && xmd5.length !== 32) return fail(HTTP_UE.SERVER_FAULTY_MD5);
    // writeStream must deliver exactly len bytes (UPDATE_ERROR_STREAM = 6 otherwise)
    if (body.length !== len) return fail(6);
    // Updater.cpp checks the MD5 only when no signature verifier is installed
    if (!this.spec.key && xmd5 !== undefined && md5(body) !== xmd5.toLowerCase()) return fail(7);
    if (mode === 'spiffs') {
      // Update.begin(len, U_FS): written over the filesystem, the signature checked at end()
      const rejection = filesystemRejection(body, { core: this.spec.core, layout: this.layout, runningSketchSize: this.sketchSize, embeddedKey: this.spec.key });
      if (rejection) return fail(Number(/ERROR\[(\d+)\]/.exec(rejection)?.[1] ?? -1));
      if (this.spec.takesServerVersion && headers['x-version']) this.fsVersion = headers['x-version'];
      return { ...base, outcome: 'HTTP_UPDATE_OK', lastError: null };
    }
    const device = new Device({ profile: profileFor(this.spec.core), layout: this.layout, runningSketchSize: this.sketchSize, runningFlashMode: this.spec.mode, embeddedKey: this.spec.key });
    const verdict = device.replay(body, { path: 'httpupdate' });
    if (!verdict.accepted || !verdict.boots) return fail(verdict.updaterError?.code ?? -1, verdict);
    const size = sketchSize(device.flash.bytes)!;
    this.sketchSize = size;
    this.sketchMd5 = md5(device.flash.bytes.subarray(0, size));
    if (this.spec.takesServerVersion && headers['x-version']) this.version = headers['x-version'];
    return { ...base, outcome: 'HTTP_UPDATE_OK', lastError: null, verdict };
  }
}

function codeFor(status: number): number {
  if (status === 404) return HTTP_UE.SERVER_FILE_NOT_FOUND;
  if (status === 403) return HTTP_UE.SERVER_FORBIDDEN;
  if (status === 401) return HTTP_UE.SERVER_UNAUTHORIZED;
  return HTTP_UE.SERVER_WRONG_HTTP_CODE;
}

/** Sends `request` and reads to the end of the connection (HTTP/1.0, Connection: close). */
export function exchange(url: URL, request: string | Buffer, timeoutMs: number, ca?: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    const socket: Socket = url.protocol === 'https:' ? tlsConnect({ host, port, ca, servername: 'localhost' }) : netConnect({ host, port });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', () => socket.write(request));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('end', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
      socket.destroy();
    });
  });
}

/** Status, headers (lower-case names, repeats comma-joined as HTTPClient does) and body. */
export function parseResponse(raw: Buffer): { status: number; headers: Record<string, string>; body: Buffer } {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) throw new Error(`no complete response head in ${raw.length} bytes`);
  const [statusLine, ...lines] = raw.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine!)?.[1] ?? NaN);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const i = line.indexOf(':');
    const name = line.slice(0, i).trim().toLowerCase();
    const value = line.slice(i + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }
  return { status, headers, body: raw.subarray(end + 4) };
}
