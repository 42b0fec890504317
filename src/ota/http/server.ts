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
import type { ReleaseManifest } from '../releases/release.js';
import type { ReleaseStore, StoredRelease } from '../releases/store.js';
import { decide, type Decision } from './decide.js';
import { DEVICE_HEADERS, isRefusal, parseRequest } from './request.js';
import { isHead, notModifiedHead, parseHead, responseHead, type RequestHead } from './wire.js';

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
  private byManifest = new Map<object, StoredRelease>();
  /** Frozen, and the same array until the folder changes: decide() orders it once (decide.ts). */
  manifests: readonly ReleaseManifest[] = Object.freeze([]);
  constructor(private readonly store: ReleaseStore, private readonly rescanMs: number) {}

  current(): readonly ReleaseManifest[] {
    const now = Date.now();
    if (now - this.last >= this.rescanMs) {
      this.last = now;
      const list = this.store.scan();
      if (list.length !== this.byManifest.size || list.some((r) => !this.byManifest.has(r.manifest))) {
        this.byManifest = new Map(list.map((r) => [r.manifest, r]));
        this.manifests = Object.freeze(list.map((r) => r.manifest));
      }
    }
    return this.manifests;
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
/**
 * The deadlines of all connections are checked by one timer, this many times per the shortest
 * timeout (and at least every 125 ms): two timers per connection cost more than the answer. A
 * slowloris is therefore cut between headersMs and headersMs + an eighth of it.
 */
const SWEEPS_PER_TIMEOUT = 8;

const enum Phase {
  /** Reading the request head: cut with 408 at headBy, silently at idleBy. */
  Head,
  /** A short answer was written; waiting for the device to close (cut at idleBy). */
  Answered,
  /** A body is being sent; socket.setTimeout(idleMs) watches its progress. */
  Sending,
}

interface Connection {
  socket: Socket;
  /** performance.now() when the connection was accepted. */
  start: number;
  phase: Phase;
  /** The request head so far (the device sends it in one segment, so usually one chunk). */
  buf: Buffer;
  headBy: number;
  idleBy: number;
  trailing: number;
  /** This request's access-log line, filled in as the request is understood. */
  log: AccessLog;
}

export async function startServer(o: ServeOptions): Promise<RunningServer> {
  const releases = new Releases(o.store, o.timeouts.rescanMs);
  releases.current();
  const { headersMs, idleMs } = o.timeouts;
  const open = new Map<Socket, Connection>();

  function onData(this: Socket, chunk: Buffer): void {
    const c = open.get(this);
    if (!c) return;
    if (c.phase !== Phase.Head) {
      c.trailing += chunk.length;
      if (c.trailing > MAX_TRAILING_BYTES) this.destroy();
      return;
    }
    c.idleBy = performance.now() + idleMs;
    c.buf = c.buf.length === 0 ? chunk : Buffer.concat([c.buf, chunk]);
    const head = parseHead(c.buf, MAX_HEADER_BYTES, DEVICE_HEADERS);
    if (head === null) return;
    c.buf = EMPTY;
    if (!isHead(head)) return answer(c, o, head.status, head.reason);
    handle(c, head, releases, o);
  }
  function onClose(this: Socket): void {
    open.delete(this);
  }
  function onError(this: Socket): void {
    this.destroy();
  }
  const onSocket = (socket: Socket) => {
    const start = performance.now();
    open.set(socket, { socket, start, phase: Phase.Head, buf: EMPTY, headBy: start + headersMs, idleBy: start + idleMs, trailing: 0, log: blankLog(socket.remoteAddress ?? null) });
    socket.on('error', onError);
    socket.on('data', onData);
    socket.on('close', onClose);
  };
  const sweep = () => {
    const now = performance.now();
    for (const c of open.values()) {
      if (c.phase === Phase.Head && now >= c.headBy) {
        answer(c, o, 408, `the request head did not arrive within ${headersMs} ms`);
      } else if (c.phase !== Phase.Sending && now >= c.idleBy) {
        c.socket.destroy();
      }
    }
  };
  const sweeper = setInterval(sweep, Math.max(5, Math.min(headersMs, idleMs, 1000) / SWEEPS_PER_TIMEOUT));
  sweeper.unref();
  const server: Server = o.tls
    ? createTlsServer({ cert: o.tls.cert, key: o.tls.key, handshakeTimeout: o.timeouts.headersMs }, onSocket)
    : createNetServer(onSocket);
  // a peer that fails the TLS handshake never reaches onSocket
  server.on('tlsClientError', (_err: Error, socket: Socket) => socket.destroy());
  server.maxConnections = MAX_CONNECTIONS;

  await new Promise<void>((resolve, reject) => {
    const failed = (err: Error) => {
      clearInterval(sweeper);
      reject(err);
    };
    server.once('error', failed);
    server.listen(o.port, o.host, () => {
      server.off('error', failed);
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
          for (const s of open.keys()) s.destroy();
        }, o.timeouts.drainMs);
        server.close(() => {
          clearTimeout(cut);
          clearInterval(sweeper);
          resolve();
        });
        // nothing is in flight on a connection still sending its request head, nor on one whose
        // short answer is out and that only waits for the peer to close
        for (const c of open.values()) if (c.phase === Phase.Head || (c.phase === Phase.Answered && c.socket.writableFinished)) c.socket.destroy();
      });
      return closing;
    },
  };
}

/** Every field of the log line in one fixed shape, filled in as the request is understood. */
function blankLog(remote: string | null): AccessLog {
  return { time: '', remote, method: null, path: null, mode: null, mac: null, chipId: null, deviceVersion: null, sketchMd5: null, status: 0, rule: null, release: null, artifact: null, reason: '', warning: null, bytes: 0, ms: 0 };
}

function logDone(o: ServeOptions, c: Connection, status: number, reason: string, bytes = 0): void {
  const e = c.log;
  e.time = now();
  e.status = status;
  e.reason = reason;
  e.bytes = bytes;
  e.ms = Math.round((performance.now() - c.start) * 10) / 10;
  o.log(e);
}

/** A short answer without a body the device would install: a refusal, 304, or version mode. */
function answer(c: Connection, o: ServeOptions, status: number, reason: string, headers?: Record<string, string>, headOnly = false): void {
  c.phase = Phase.Answered;
  c.idleBy = performance.now() + o.timeouts.idleMs;
  const { socket } = c;
  if (!socket.writable) socket.destroy();
  else if (status === 304 && headers === undefined) socket.end(notModifiedHead());
  else if (status === 304 || status === 200) socket.end(responseHead(status, headers ?? {}), 'latin1');
  else {
    // the reason may quote what the client sent (clipped with "…"): the body is UTF-8, the head ASCII
    const body = headOnly ? '' : `${reason}\n`;
    const refusal: Record<string, string> = { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(Buffer.byteLength(body)) };
    if (status === 405) refusal.Allow = 'GET, HEAD';
    socket.end(responseHead(status, refusal) + body, 'utf8');
  }
  logDone(o, c, status, reason);
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

function handle(c: Connection, req: RequestHead, releases: Releases, o: ServeOptions): void {
  const e = c.log;
  e.method = req.method;
  e.path = req.url.length > 200 ? `${req.url.slice(0, 200)}…` : req.url;
  const headOnly = req.method === 'HEAD';
  const parsed = parseRequest(req.method, req.url, req.headers);
  if (isRefusal(parsed)) return answer(c, o, parsed.status, parsed.reason, undefined, headOnly);
  e.mode = parsed.mode;
  e.mac = parsed.staMac;
  e.chipId = parsed.chipId;
  e.deviceVersion = parsed.version;
  e.sketchMd5 = parsed.sketchMd5;
  let d: Decision;
  try {
    d = decide(parsed, releases.current(), o.rules);
  } catch (err) {
    return answer(c, o, 500, `internal error: ${(err as Error).message}`, undefined, headOnly);
  }
  e.rule = d.rule ?? null;
  e.release = d.release ? `${d.release.channel}/${d.release.version}` : null;
  e.warning = d.warning ?? null;
  if (d.status !== 200) return answer(c, o, d.status, d.reason, undefined, headOnly);
  if (parsed.mode === 'version') {
    // ESP8266httpUpdate::getAvailableVersion (after 3.1.2) reads x-version from a 200
    const version: Record<string, string> = { 'Content-Length': '0', 'x-version': d.release!.version };
    if (d.artifact) version['x-MD5'] = d.artifact.md5;
    return answer(c, o, 200, d.reason, version);
  }
  const a = d.artifact!;
  e.artifact = a.name;
  // Exactly one x-MD5 (a repeated header is comma-joined by the device: -105), an exact length, never chunked.
  const head = responseHead(200, {
    'Content-Type': 'application/octet-stream',
    'Content-Length': String(a.size),
    'Content-Disposition': `attachment; filename=${a.name}`,
    'x-MD5': a.md5,
    'x-version': d.release!.version,
  });
  const { socket } = c;
  if (headOnly) {
    c.phase = Phase.Answered;
    c.idleBy = performance.now() + o.timeouts.idleMs;
    socket.end(head, 'latin1');
    logDone(o, c, 200, d.reason);
    return;
  }
  // a download can take long; its progress, not a deadline, decides when it is stalled
  c.phase = Phase.Sending;
  socket.setTimeout(o.timeouts.idleMs, () => socket.destroy());
  const headBytes = Buffer.byteLength(head, 'latin1');
  let logged = false;
  const done = (finished: boolean, why?: string) => {
    if (logged) return;
    logged = true;
    const bytes = finished ? a.size : Math.max(0, Math.min(a.size, socket.bytesWritten - headBytes));
    logDone(o, c, 200, finished ? d.reason : `${d.reason}; ${why ?? `the connection closed after ${bytes} of ${a.size} bytes`}`, bytes);
  };
  socket.on('finish', () => done(true));
  socket.on('close', () => done(false));
  const held = releases.of(d).held.get(a.name);
  if (held) {
    // one buffer for every device: the socket writes from it, nothing is copied per request
    socket.cork();
    socket.write(head, 'latin1');
    socket.end(held);
    return;
  }
  socket.write(head, 'latin1');
  const file = createReadStream(join(releases.of(d).dir, a.name), { start: 0, end: a.size - 1, highWaterMark: 64 * 1024 });
  file.on('error', (err) => {
    done(false, `the file could not be read (${(err as NodeJS.ErrnoException).code ?? err.message}); connection cut`);
    socket.destroy();
  });
  socket.on('close', () => file.destroy());
  file.pipe(socket);
}
