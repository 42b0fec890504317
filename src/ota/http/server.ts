/**
 * The network shell around decide(): reads one request head per connection (wire.ts), answers,
 * streams and logs, nothing else. Every wait is bounded by a named timeout (ServeTimeouts); a body
 * is one held buffer written to the socket or a file piped with back-pressure, so memory does not
 * grow with the number of devices downloading.
 */
import { createReadStream } from 'node:fs';
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { join } from 'node:path';
import type { Rules } from '../releases/rules.js';
import type { ReleaseStore, StoredRelease } from '../releases/store.js';
import { decide, type Decision } from './decide.js';
import { isRefusal, parseRequest, type DeviceRequest } from './request.js';
import { isHead, parseHead, responseHead, type RequestHead } from './wire.js';

export interface ServeTimeouts {
  /** The whole request head must arrive within this (slowloris); the device sends it at once. */
  headersMs: number;
  /** A connection with no progress for this long is closed (the device's own stream timeout is 60 s). */
  idleMs: number;
  /** After SIGINT/SIGTERM, downloads in flight get this long to finish before they are cut. */
  drainMs: number;
  /** The release folder is read again at most this often, so new releases are served without a restart. */
  rescanMs: number;
}

export const DEFAULT_TIMEOUTS: ServeTimeouts = { headersMs: 5000, idleMs: 30_000, drainMs: 60_000, rescanMs: 2000 };

/** A device's request line is well under 1 KiB; anything near this is not a device. */
export const MAX_HEADER_BYTES = 8192;

export interface AccessLog {
  time: string;
  remote: string | null;
  method: string | null;
  path: string | null;
  mode: string | null;
  mac: string | null;
  chipId: number | null;
  deviceVersion: string | null;
  sketchMd5: string | null;
  status: number;
  rule: string | null;
  release: string | null;
  artifact: string | null;
  reason: string;
  warning: string | null;
  bytes: number;
  ms: number;
}

export interface ServeOptions {
  store: ReleaseStore;
  rules: Rules;
  host: string;
  port: number;
  tls?: { cert: Buffer; key: Buffer };
  timeouts: ServeTimeouts;
  log: (entry: AccessLog) => void;
}

export interface RunningServer {
  host: string;
  port: number;
  /** Stops accepting, lets downloads in flight finish (bounded by drainMs), resolves when all are closed. */
  close(): Promise<void>;
}

/** The releases, read again when rescanMs has passed; concurrent requests share one read. */
class Releases {
  private last = 0;
  private list: StoredRelease[] = [];
  private byManifest = new Map<object, StoredRelease>();
  constructor(private readonly store: ReleaseStore, private readonly rescanMs: number) {}

  current(): StoredRelease[] {
    const now = Date.now();
    if (now - this.last >= this.rescanMs) {
      this.last = now;
      this.list = this.store.scan();
      this.byManifest = new Map(this.list.map((r) => [r.manifest, r]));
    }
    return this.list;
  }

  of(d: Decision): StoredRelease {
    return this.byManifest.get(d.release!)!;
  }
}

/** What a connection may send after its request head before it is cut (the device sends nothing). */
const MAX_TRAILING_BYTES = 64 * 1024;
const EMPTY = Buffer.alloc(0);
/** Open connections at most; more are closed at once, so a flood cannot exhaust memory. */
export const MAX_CONNECTIONS = 4096;

export async function startServer(o: ServeOptions): Promise<RunningServer> {
  const releases = new Releases(o.store, o.timeouts.rescanMs);
  releases.current();
  /** Connections still sending their request head: nothing in flight, cut at shutdown. */
  const waiting = new Set<Socket>();
  const open = new Set<Socket>();
  const onSocket = (socket: Socket) => {
    waiting.add(socket);
    open.add(socket);
    socket.on('error', () => socket.destroy());
    socket.setTimeout(o.timeouts.idleMs, () => socket.destroy());
    const start = performance.now();
    let buf: Buffer = EMPTY;
    const headTimer = setTimeout(() => {
      socket.off('data', onData);
      answer(socket, o, { start, log: { remote: socket.remoteAddress ?? null }, status: 408, reason: `the request head did not arrive within ${o.timeouts.headersMs} ms` });
    }, o.timeouts.headersMs);
    const onData = (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      const head = parseHead(buf, MAX_HEADER_BYTES);
      if (head === null) return;
      // the closures below live as long as the connection: keep no bytes in them
      buf = EMPTY;
      clearTimeout(headTimer);
      socket.off('data', onData);
      let trailing = 0;
      socket.on('data', (c: Buffer) => {
        trailing += c.length;
        if (trailing > MAX_TRAILING_BYTES) socket.destroy();
      });
      if (!isHead(head)) return answer(socket, o, { start, log: { remote: socket.remoteAddress ?? null }, status: head.status, reason: head.reason });
      waiting.delete(socket);
      handle(socket, head, start, releases, o);
    };
    socket.on('data', onData);
    socket.on('close', () => {
      clearTimeout(headTimer);
      waiting.delete(socket);
      open.delete(socket);
    });
  };
  const server: Server = o.tls
    ? createTlsServer({ cert: o.tls.cert, key: o.tls.key, handshakeTimeout: o.timeouts.headersMs }, onSocket)
    : createNetServer(onSocket);
  // a peer that fails the TLS handshake never reaches onSocket
  server.on('tlsClientError', (_err: Error, socket: Socket) => socket.destroy());
  server.maxConnections = MAX_CONNECTIONS;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  let closing: Promise<void> | null = null;
  return {
    host: address.address,
    port: address.port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        const cut = setTimeout(() => {
          for (const s of open) s.destroy();
        }, o.timeouts.drainMs);
        server.close(() => {
          clearTimeout(cut);
          resolve();
        });
        for (const s of waiting) s.destroy();
      });
      return closing;
    },
  };
}

type Who = Partial<AccessLog> & { remote: string | null };

interface Answer {
  start: number;
  /** What the access log says besides status, reason and time. */
  log: Who;
  status: number;
  reason: string;
  headers?: Record<string, string>;
  /** A HEAD request: headers only. */
  headOnly?: boolean;
}

/** A short answer without a body the device would install: a refusal, 304, or version mode. */
function answer(socket: Socket, o: ServeOptions, a: Answer): void {
  const { status } = a;
  const body = status === 304 || status === 200 || a.headOnly ? '' : `${a.reason}\n`;
  const headers = status === 304 || status === 200
    ? a.headers ?? {}
    : { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(Buffer.byteLength(body)), ...(status === 405 ? { Allow: 'GET, HEAD' } : {}), ...a.headers };
  if (socket.writable) socket.end(responseHead(status, headers) + body, 'latin1');
  else socket.destroy();
  o.log(entry({ ...a.log, status, reason: a.reason, ms: elapsed(a.start) }));
}

function elapsed(start: number): number {
  return Math.round((performance.now() - start) * 10) / 10;
}

let stampMs = 0;
let stamp = '';

/** The log's ISO time, formatted once per millisecond. */
function now(): string {
  const t = Date.now();
  if (t !== stampMs) {
    stampMs = t;
    stamp = new Date(t).toISOString();
  }
  return stamp;
}

function entry(p: Partial<AccessLog> & Pick<AccessLog, 'status' | 'reason' | 'ms'>): AccessLog {
  return {
    time: now(),
    remote: null,
    method: null,
    path: null,
    mode: null,
    mac: null,
    chipId: null,
    deviceVersion: null,
    sketchMd5: null,
    rule: null,
    release: null,
    artifact: null,
    warning: null,
    bytes: 0,
    ...p,
  };
}

function handle(socket: Socket, req: RequestHead, start: number, releases: Releases, o: ServeOptions): void {
  const who: Who = { remote: socket.remoteAddress ?? null, method: req.method, path: req.url.length > 200 ? `${req.url.slice(0, 200)}…` : req.url };
  const headOnly = req.method === 'HEAD';
  const parsed = parseRequest(req.method, req.url, req.headers);
  if (isRefusal(parsed)) return answer(socket, o, { start, log: who, status: parsed.status, reason: parsed.reason, headOnly });
  const device = { ...who, ...deviceFields(parsed) };
  let d: Decision;
  try {
    d = decide(parsed, releases.current().map((r) => r.manifest), o.rules);
  } catch (err) {
    return answer(socket, o, { start, log: device, status: 500, reason: `internal error: ${(err as Error).message}`, headOnly });
  }
  const about: Partial<AccessLog> = {
    rule: d.rule ?? null,
    release: d.release ? `${d.release.channel}/${d.release.version}` : null,
    warning: d.warning ?? null,
  };
  if (d.status !== 200) return answer(socket, o, { start, log: { ...device, ...about }, status: d.status, reason: d.reason, headOnly });
  if (parsed.mode === 'version') {
    // ESP8266httpUpdate::getAvailableVersion (after 3.1.2) reads x-version from a 200
    return answer(socket, o, { start, log: { ...device, ...about }, status: 200, reason: d.reason, headers: { 'Content-Length': '0', 'x-version': d.release!.version, ...(d.artifact ? { 'x-MD5': d.artifact.md5 } : {}) } });
  }
  const a = d.artifact!;
  // Exactly one x-MD5 (a repeated header is comma-joined by the device: -105), an exact length, never chunked.
  const head = responseHead(200, {
    'Content-Type': 'application/octet-stream',
    'Content-Length': String(a.size),
    'Content-Disposition': `attachment; filename=${a.name}`,
    'x-MD5': a.md5,
    'x-version': d.release!.version,
  });
  const sent = { ...device, ...about, status: 200, artifact: a.name, reason: d.reason };
  if (headOnly) {
    socket.end(head, 'latin1');
    o.log(entry({ ...sent, ms: elapsed(start) }));
    return;
  }
  const headBytes = Buffer.byteLength(head, 'latin1');
  let logged = false;
  const done = (finished: boolean, why?: string) => {
    if (logged) return;
    logged = true;
    const bytes = finished ? a.size : Math.max(0, Math.min(a.size, socket.bytesWritten - headBytes));
    o.log(entry({ ...sent, ...(finished ? {} : { reason: `${d.reason}; ${why ?? `the connection closed after ${bytes} of ${a.size} bytes`}` }), bytes, ms: elapsed(start) }));
  };
  socket.on('finish', () => done(true));
  socket.on('close', () => done(false));
  const held = releases.of(d).held.get(a.name);
  socket.cork();
  socket.write(head, 'latin1');
  if (held) {
    // one buffer for every device: the socket writes from it, nothing is copied per request
    socket.end(held);
    return;
  }
  socket.uncork();
  const file = createReadStream(join(releases.of(d).dir, a.name), { start: 0, end: a.size - 1, highWaterMark: 64 * 1024 });
  file.on('error', (err) => {
    done(false, `the file could not be read (${(err as NodeJS.ErrnoException).code ?? err.message}); connection cut`);
    socket.destroy();
  });
  socket.on('close', () => file.destroy());
  file.pipe(socket);
}

function deviceFields(r: DeviceRequest) {
  return { mode: r.mode, mac: r.staMac, chipId: r.chipId, deviceVersion: r.version, sketchMd5: r.sketchMd5 };
}
