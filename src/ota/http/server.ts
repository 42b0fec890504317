/**
 * The HTTP shell around decide(): parses, streams and logs, nothing else. Every wait is bounded by
 * a named timeout (ServeTimeouts); bodies are streamed from the release folder with back-pressure,
 * so memory does not grow with the number of devices downloading.
 */
import { createReadStream } from 'node:fs';
import { createServer as createHttpServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import type { Rules } from '../releases/rules.js';
import type { ReleaseStore, StoredRelease } from '../releases/store.js';
import { decide, type Decision } from './decide.js';
import { isRefusal, parseRequest, type DeviceRequest } from './request.js';

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

export async function startServer(o: ServeOptions): Promise<RunningServer> {
  const releases = new Releases(o.store, o.timeouts.rescanMs);
  releases.current();
  const httpOptions = {
    maxHeaderSize: MAX_HEADER_BYTES,
    headersTimeout: o.timeouts.headersMs,
    requestTimeout: o.timeouts.headersMs + 1000,
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(o.timeouts.headersMs / 4))),
    keepAliveTimeout: 1000,
  };
  const handler = (req: IncomingMessage, res: ServerResponse) => handle(req, res, releases, o);
  const server: Server = o.tls ? createHttpsServer({ ...httpOptions, cert: o.tls.cert, key: o.tls.key }, handler) : createHttpServer(httpOptions, handler);
  server.maxHeadersCount = 64;
  server.setTimeout(o.timeouts.idleMs, (socket: Socket) => socket.destroy());
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    if (err.code !== 'ECONNRESET' && socket.writable) {
      socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      o.log(entry({ remote: socket.remoteAddress ?? null, status, reason: `bad request: ${err.code ?? err.message}`, ms: 0 }));
    }
    socket.destroy();
  });

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
        const cut = setTimeout(() => server.closeAllConnections(), o.timeouts.drainMs);
        server.close(() => {
          clearTimeout(cut);
          resolve();
        });
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}

function entry(p: Partial<AccessLog> & Pick<AccessLog, 'status' | 'reason' | 'ms'>): AccessLog {
  return {
    time: new Date().toISOString(),
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

function handle(req: IncomingMessage, res: ServerResponse, releases: Releases, o: ServeOptions): void {
  const start = performance.now();
  const method = req.method ?? '';
  const url = req.url ?? '';
  const base = { remote: req.socket.remoteAddress ?? null, method, path: url.length > 200 ? `${url.slice(0, 200)}…` : url };
  const ms = () => Math.round((performance.now() - start) * 10) / 10;
  // a device sends no body; anything else is drained so the connection can answer
  req.resume();

  const parsed = parseRequest(method, url, req.headers);
  if (isRefusal(parsed)) {
    res.writeHead(parsed.status, { 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close', ...(parsed.status === 405 ? { Allow: 'GET, HEAD' } : {}) });
    res.end(method === 'HEAD' ? undefined : `${parsed.reason}\n`);
    o.log(entry({ ...base, status: parsed.status, reason: parsed.reason, ms: ms() }));
    return;
  }
  const device = deviceFields(parsed);
  let d: Decision;
  try {
    d = decide(parsed, releases.current().map((r) => r.manifest), o.rules);
  } catch (err) {
    res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close' });
    res.end('internal error\n');
    o.log(entry({ ...base, ...device, status: 500, reason: `internal error: ${(err as Error).message}`, ms: ms() }));
    return;
  }
  const about = {
    ...base,
    ...device,
    status: d.status,
    rule: d.rule ?? null,
    release: d.release ? `${d.release.channel}/${d.release.version}` : null,
    artifact: d.status === 200 && parsed.mode !== 'version' ? d.artifact?.name ?? null : null,
    reason: d.reason,
    warning: d.warning ?? null,
  };

  if (d.status !== 200) {
    res.writeHead(d.status, d.status === 304 ? {} : { 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close' });
    res.end(d.status === 304 || method === 'HEAD' ? undefined : `${d.reason}\n`);
    o.log(entry({ ...about, ms: ms() }));
    return;
  }
  if (parsed.mode === 'version') {
    // ESP8266httpUpdate::getAvailableVersion (after 3.1.2) reads x-version from a 200
    res.writeHead(200, { 'Content-Length': '0', 'x-version': d.release!.version, ...(d.artifact ? { 'x-MD5': d.artifact.md5 } : {}) });
    res.end();
    o.log(entry({ ...about, ms: ms() }));
    return;
  }
  const a = d.artifact!;
  // Exactly one x-MD5 (a repeated header is comma-joined by the device: -105), an exact length, never chunked.
  res.writeHead(200, {
    'Content-Type': 'application/octet-stream',
    'Content-Length': String(a.size),
    'Content-Disposition': `attachment; filename=${a.name}`,
    'x-MD5': a.md5,
    'x-version': d.release!.version,
  });
  if (method === 'HEAD') {
    res.end();
    o.log(entry({ ...about, ms: ms() }));
    return;
  }
  const stored = releases.of(d);
  const held = stored.held.get(a.name);
  if (held) {
    // one buffer for every device: the socket writes from it, nothing is copied per request
    res.on('close', () => o.log(entry({ ...about, ...(res.writableFinished ? {} : { reason: `${about.reason}; the device closed the connection early` }), bytes: res.writableFinished ? held.length : 0, ms: ms() })));
    res.end(held);
    return;
  }
  let bytes = 0;
  let logged = false;
  const done = (reason: string | null) => {
    if (logged) return;
    logged = true;
    o.log(entry({ ...about, ...(reason ? { reason: `${about.reason}; ${reason}` } : {}), bytes, ms: ms() }));
  };
  const file = createReadStream(join(stored.dir, a.name), { start: 0, end: a.size - 1, highWaterMark: 64 * 1024 });
  file.on('data', (chunk) => {
    bytes += chunk.length;
  });
  file.on('error', (err) => {
    done(`the file could not be read (${(err as NodeJS.ErrnoException).code ?? err.message}); connection cut`);
    res.destroy();
  });
  res.on('finish', () => done(bytes === a.size ? null : `only ${bytes} of ${a.size} bytes could be read`));
  res.on('close', () => {
    file.destroy();
    done(`the device closed the connection after ${bytes} bytes`);
  });
  file.pipe(res);
}

function deviceFields(r: DeviceRequest) {
  return { mode: r.mode, mac: r.staMac, chipId: r.chipId, deviceVersion: r.version, sketchMd5: r.sketchMd5 };
}
