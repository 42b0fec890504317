/**
 * `serve`: an ESP8266httpUpdate server over a release folder. Stateless (everything it knows is in
 * the folder and the rules file), so several instances can serve one folder behind a proxy.
 * Runs until SIGINT or SIGTERM, then lets downloads in flight finish.
 */
import { setFlagsFromString } from 'node:v8';
import { UsageError, UserError } from '../errors.js';
import { readUserFile, resolveFrom, type Io } from '../io.js';
import { DEFAULT_RULES, parseRules, type Rules } from '../ota/releases/rules.js';
import { assertReleaseRoot, HOLD_BYTES, ReleaseStore } from '../ota/releases/store.js';
import { DEFAULT_TIMEOUTS, startServer, type AccessLog, type ServeTimeouts } from '../ota/http/server.js';

export interface ServeOptions {
  releases: string;
  listen?: string;
  rules?: string;
  json?: boolean;
  cert?: string;
  key?: string;
  headerTimeout?: number;
  idleTimeout?: number;
  drainTimeout?: number;
  rescan?: number;
}

/** `127.0.0.1:8266`, `[::1]:8266`, `:8266` (all interfaces) or a bare port. */
export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*))?:?(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 0 && port <= 65535)) throw new UsageError(`--listen "${text}" is not host:port (for example 127.0.0.1:8266 or [::1]:8266).`);
  const host = m[1] ?? (m[2] || '0.0.0.0');
  return { host, port };
}

function loadRules(path: string): Rules {
  const bytes = readUserFile(path, 'rules file');
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new UserError(`rules file ${path} is not valid JSON (${(err as Error).message}). Fix it; README "The rules file" shows the format.`);
  }
  try {
    return parseRules(parsed);
  } catch (err) {
    throw new UserError(`rules file ${path}: ${(err as Error).message}.`);
  }
}

/**
 * V8 grows its young generation (up to 2 × 16 MiB) when many objects survive a scavenge, as the
 * few kilobytes of each of 500 connections in flight do, and keeps it. Left at its first size,
 * serve's peak under 500 concurrent polls was 80 MiB instead of 97 (Node 20) for about 9% more
 * CPU per request. V8 reads the factor at each growth decision, so setting it at run time works.
 */
const YOUNG_GENERATION = '--semi-space-growth-factor=1';

export function formatAccess(e: AccessLog): string {
  const who = [e.remote ?? '-', e.mac ?? '-', e.deviceVersion ? `v${e.deviceVersion}` : '-'].join(' ');
  const what = e.artifact ? ` ${e.release}/${e.artifact} ${e.bytes} bytes` : e.release ? ` ${e.release}` : '';
  const warn = e.warning ? `\nesp8266-sign: warning: ${e.warning}` : '';
  return `esp8266-sign: ${who} ${e.method ?? '-'} ${e.mode ?? '-'} -> ${e.status}${what} (${e.ms} ms): ${e.reason}${warn}\n`;
}

export async function runServe(opts: ServeOptions, io: Io, signals: NodeJS.EventEmitter = process): Promise<number> {
  const root = resolveFrom(io, opts.releases);
  assertReleaseRoot(root);
  const { host, port } = parseListen(opts.listen ?? '127.0.0.1:8266');
  const rules = opts.rules ? loadRules(resolveFrom(io, opts.rules)) : DEFAULT_RULES;
  if ((opts.cert === undefined) !== (opts.key === undefined)) throw new UsageError('HTTPS needs both --cert and --key.');
  const tls = opts.cert && opts.key
    ? { cert: readUserFile(resolveFrom(io, opts.cert), 'certificate'), key: readUserFile(resolveFrom(io, opts.key), 'TLS key') }
    : undefined;
  const timeouts: ServeTimeouts = {
    headersMs: opts.headerTimeout ?? DEFAULT_TIMEOUTS.headersMs,
    idleMs: opts.idleTimeout ?? DEFAULT_TIMEOUTS.idleMs,
    drainMs: opts.drainTimeout ?? DEFAULT_TIMEOUTS.drainMs,
    rescanMs: opts.rescan ?? DEFAULT_TIMEOUTS.rescanMs,
  };
  setFlagsFromString(YOUNG_GENERATION);
  const store = new ReleaseStore(root, (p) => io.stderr(`esp8266-sign: warning: ${p}\n`), HOLD_BYTES);
  // one write per turn of the event loop, not one per request: under load that is most of them
  let human: string[] = [];
  let machine: string[] = [];
  const flush = () => {
    if (machine.length) io.stdout(machine.join(''));
    if (human.length) io.stderr(human.join(''));
    human = [];
    machine = [];
  };
  const log = (e: AccessLog) => {
    if (human.length === 0) setImmediate(flush);
    if (opts.json) machine.push(JSON.stringify(e) + '\n');
    human.push(formatAccess(e));
  };
  let server;
  try {
    server = await startServer({ store, rules, host, port, tls, timeouts, log });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new UserError(`cannot listen on ${host}:${port}: the port is in use (another serve?). Choose another with --listen.`);
    if (code === 'EACCES') throw new UserError(`cannot listen on ${host}:${port}: permission denied (ports below 1024 need privileges). Choose another with --listen.`);
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new UserError(`cannot listen on ${host}:${port}: no such address on this machine.`);
    if (tls && /key|cert|PEM|asn1/i.test((err as Error).message)) throw new UserError(`--cert/--key cannot be used for HTTPS: ${(err as Error).message}`);
    throw err;
  }
  const count = store.releases().length;
  const shown = server.host.includes(':') ? `[${server.host}]` : server.host;
  io.stderr(`esp8266-sign: serving ${root} on ${tls ? 'https' : 'http'}://${shown}:${server.port}/ (${count} release${count === 1 ? '' : 's'}); stop with Ctrl+C\n`);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      io.stderr(`esp8266-sign: ${signal}: no new requests; letting downloads in flight finish\n`);
      signals.off('SIGINT', onInt);
      signals.off('SIGTERM', onTerm);
      void server.close().then(resolve);
    };
    const onInt = () => stop('SIGINT');
    const onTerm = () => stop('SIGTERM');
    signals.on('SIGINT', onInt);
    signals.on('SIGTERM', onTerm);
  });
  flush();
  io.stderr('esp8266-sign: stopped\n');
  return 0;
}
