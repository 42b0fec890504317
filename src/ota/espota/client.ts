/**
 * The socket layer around HostSession: one UDP socket for the invitation and the challenge (the
 * device answers to the invitation's source port), the TCP listener the device dials back to, and
 * the file's stream. Decisions stay in the session; this file only moves bytes.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, isIPv4, type Server, type Socket } from 'node:net';
import { nowMs } from '../../lazy.js';
import { HostSession, type Outcome, type Phase, type SessionAction, type SessionParams, type TimerName } from './session.js';

/**
 * Every wait of an attempt, in milliseconds. espota waits 10 s for each UDP answer, 10 s for the
 * connect-back, 10 s per piece, and 60 s for the result (the device's signature check takes seconds).
 */
export type OtaTimeouts = Record<TimerName, number>;

/** `--timeout S`: S for every answer and for a stalled transfer, 6 × S for the result (60 s by default). */
export function timeoutsFor(seconds: number): OtaTimeouts {
  const ms = Math.round(seconds * 1000);
  return { inviteReply: ms, authReply: ms, connectBack: ms, transferStall: ms, verifyResult: ms * 6 };
}

/**
 * How much of the file one socket write hands the kernel: 16 segments of MSS 1460, so a Wi-Fi link
 * carries the same full segments as espota's 1460-byte sends. The device reads a stream
 * (`Update.write(client)` takes whatever lwIP holds and answers with the count), so write sizes
 * are invisible to it; fewer writes cut a 1 MiB transfer over loopback from about 23 ms to 4.
 */
export const PIECE = 1460 * 16;

export interface Listener {
  server: Server;
  port: number;
  close(): Promise<void>;
}

/** Opens the port the device dials back to, before any invitation goes out. Rejects with the socket error. */
export function openListener(address: string, port: number): Promise<Listener> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    // between attempts nobody is waiting for a connection: hang up on whoever dials in
    server.on('connection', (sock) => {
      if (server.listenerCount('connection') === 1) sock.destroy();
    });
    server.once('error', reject);
    server.listen({ host: address, port, exclusive: true, ipv6Only: false }, () => {
      server.off('error', reject);
      const actual = (server.address() as { port: number }).port;
      resolve({ server, port: actual, close: () => new Promise((done) => server.close(() => done())) });
    });
  });
}

export interface DeviceAddress {
  address: string;
  family: 4 | 6;
  port: number;
}

export interface AttemptOptions {
  device: DeviceAddress;
  /** Where the UDP socket binds (the --host-ip); any address of the family when undefined. */
  bindAddress?: string;
  listener: Listener;
  params: Omit<SessionParams, 'hostPort'>;
  file: Uint8Array;
  timeouts: OtaTimeouts;
  onProgress?: (sent: number, size: number) => void;
}

export interface AttemptReport {
  outcome: Outcome;
  /** Each phase and when it began, in ms since the attempt started. */
  phases: Array<{ phase: Phase; startedMs: number; ms: number }>;
}

/** `::ffff:1.2.3.4` (a v4 peer on a dual-stack listener) is 1.2.3.4. */
function plainAddress(a: string | undefined): string {
  return a && a.startsWith('::ffff:') && isIPv4(a.slice(7)) ? a.slice(7) : a ?? '';
}

export function runAttempt(o: AttemptOptions): Promise<AttemptReport> {
  return new Promise((resolve) => {
    const session = new HostSession({ ...o.params, hostPort: o.listener.port });
    const started = nowMs();
    const phases: AttemptReport['phases'] = [];
    const udp: UdpSocket = createSocket(o.device.family === 6 ? 'udp6' : 'udp4');
    let timer: NodeJS.Timeout | undefined;
    let conn: Socket | null = null;
    let early: Socket | null = null;
    let wantConnection = false;
    let done = false;

    const dispatch = (e: Parameters<HostSession['step']>[0]) => {
      if (!done) for (const a of session.step(e)) act(a);
    };

    const take = (sock: Socket) => {
      conn = sock;
      sock.setNoDelay(true);
      sock.on('data', (data) => dispatch({ type: 'tcp-data', data }));
      sock.on('close', () => dispatch({ type: 'tcp-closed' }));
      dispatch({ type: 'connected' });
    };

    const onConnection = (sock: Socket) => {
      sock.on('error', () => undefined); // a reset is seen as 'close'
      // only the device we invited, once per attempt; anyone else is hung up on
      if (conn || early || plainAddress(sock.remoteAddress) !== o.device.address) {
        sock.destroy();
        return;
      }
      // the device's SYN may overtake its UDP OK on the way here
      if (wantConnection) take(sock);
      else early = sock;
    };
    o.listener.server.on('connection', onConnection);

    const sendFile = (sock: Socket) => {
      const size = o.file.length;
      let off = 0;
      let sent = 0;
      const pump = () => {
        while (off < size && !sock.destroyed) {
          const piece = o.file.subarray(off, Math.min(off + PIECE, size));
          off += piece.length;
          const more = sock.write(piece, (err) => {
            if (err) return;
            sent += piece.length;
            o.onProgress?.(sent, size);
            if (sent === size) dispatch({ type: 'sent-all' });
          });
          if (!more) {
            sock.once('drain', pump);
            return;
          }
        }
      };
      pump();
    };

    const act = (a: SessionAction) => {
      switch (a.type) {
        case 'send-udp':
          try {
            udp.send(a.text);
          } catch {
            // not connected (no route to the address): the armed timer reports the phase
          }
          return;
        case 'arm':
          clearTimeout(timer);
          timer = setTimeout(() => dispatch({ type: 'timeout' }), o.timeouts[a.timer]);
          return;
        case 'accept-connection':
          wantConnection = true;
          if (early) {
            const sock = early;
            early = null;
            take(sock);
          }
          return;
        case 'send-file':
          sendFile(conn!);
          return;
        case 'phase': {
          const now = nowMs() - started;
          const last = phases[phases.length - 1];
          if (last) last.ms = Math.round(now - last.startedMs);
          phases.push({ phase: a.phase, startedMs: Math.round(now), ms: 0 });
          return;
        }
        case 'finish': {
          done = true;
          clearTimeout(timer);
          const last = phases[phases.length - 1];
          if (last) last.ms = Math.round(nowMs() - started - last.startedMs);
          o.listener.server.off('connection', onConnection);
          // never half-close first: the device may still be mid-update; a finished one closes itself
          (conn as Socket | null)?.destroy();
          (early as Socket | null)?.destroy();
          udp.close();
          resolve({ outcome: a.outcome, phases });
        }
      }
    };

    // ICMP "port unreachable" and friends arrive as errors; the invitation's timer tells the story
    udp.on('error', () => undefined);
    udp.on('message', (data) => dispatch({ type: 'udp', data }));
    udp.bind({ address: o.bindAddress, port: 0 }, () => {
      // a connected socket takes datagrams from the device's address and port only
      udp.connect(o.device.port, o.device.address, () => dispatch({ type: 'start' }));
    });
  });
}
