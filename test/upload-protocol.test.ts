/** The host half of ArduinoOTA without sockets: wire format, the session's states, the explanations, progress. */
import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { explainOutcome, type UploadFacts } from '../src/ota/espota/explain.js';
import { HostSession, type SessionAction } from '../src/ota/espota/session.js';
import { authAnswer, invitation, parseUdpReply, TcpReplyReader } from '../src/ota/espota/wire.js';
import { timeoutsFor } from '../src/ota/espota/client.js';
import { nextTry } from '../src/ota/espota/retry.js';
import { makeProgress } from '../src/ota/progress.js';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const b = (s: string) => Buffer.from(s, 'latin1');

describe('wire', () => {
  test('the invitation is decimal fields, single spaces, LF', () => {
    expect(invitation(0, 8267, 300260, 'a'.repeat(32))).toBe(`0 8267 300260 ${'a'.repeat(32)}\n`);
    expect(invitation(100, 1, 2, 'b'.repeat(32))).toMatch(/^100 1 2 b{32}\n$/);
  });

  test('the challenge answer is what the device computes from MD5(password), its nonce and our cnonce', () => {
    const nonce = md5('12345');
    const line = authAnswer('secret', nonce, 'c'.repeat(32));
    expect(line).toBe(`200 ${'c'.repeat(32)} ${md5(`${md5('secret')}:${nonce}:${'c'.repeat(32)}`)}\n`);
    const random = authAnswer('secret', nonce).split(' ');
    expect(random[1]).toMatch(/^[0-9a-f]{32}$/);
    expect(authAnswer('secret', nonce).split(' ')[1]).not.toBe(random[1]);
  });

  test('UDP replies parse into one typed result each', () => {
    expect(parseUdpReply(b('OK'))).toEqual({ kind: 'ok' });
    expect(parseUdpReply(b(`AUTH ${'F'.repeat(32)}`))).toEqual({ kind: 'auth-challenge', nonce: 'f'.repeat(32) });
    expect(parseUdpReply(b('Authentication Failed'))).toEqual({ kind: 'auth-failed' });
    expect(parseUdpReply(b('ERR: ERROR[4]: Not Enough Space\n'))).toEqual({ kind: 'begin-error', code: 4, text: 'ERROR[4]: Not Enough Space' });
    expect(parseUdpReply(b('OKAY'))).toEqual({ kind: 'garbled', text: 'OKAY' });
    const hostile = parseUdpReply(Buffer.concat([b('\x1b[2J'), Buffer.alloc(500, 0x41)]));
    expect(hostile.kind).toBe('garbled');
    expect((hostile as { text: string }).text.length).toBeLessThanOrEqual(121);
    expect((hostile as { text: string }).text).not.toContain('\x1b');
  });

  test('glued byte counts are not numbers; the result may share a segment with the last count', () => {
    const r = new TcpReplyReader();
    expect(r.feed(b('1460146014'))).toBeNull();
    expect(r.feed(b('602920'))).toBeNull();
    expect(r.feed(b('1460OK'))).toEqual({ kind: 'ok' });
    expect(r.ackDigits).toBe(20);
  });

  test('ERROR[n] is complete at its newline, even split across segments; E is tested before O', () => {
    const r = new TcpReplyReader();
    expect(r.feed(b('1460ERR'))).toBeNull();
    expect(r.feed(b('OR[12]: Signature verification failed'))).toBeNull();
    expect(r.feed(b('\n'))).toEqual({ kind: 'device-error', code: 12, text: 'ERROR[12]: Signature verification failed' });
  });

  test('a result line that never ends is cut at 256 characters, not collected forever', () => {
    const r = new TcpReplyReader();
    expect(r.feed(b('ERROR[1]: '))).toBeNull();
    const res = r.feed(b('y'.repeat(300)));
    expect(res).toMatchObject({ kind: 'device-error', code: 1 });
    expect((res as { text: string }).text.length).toBeLessThanOrEqual(121);
  });

  test('a connection that ends mid-result gives what arrived; one that ends in counts gives nothing', () => {
    const a = new TcpReplyReader();
    a.feed(b('4096ERROR[4]: Not Eno'));
    expect(a.end()).toEqual({ kind: 'device-error', code: 4, text: 'ERROR[4]: Not Eno' });
    const c = new TcpReplyReader();
    c.feed(b('4096'));
    expect(c.end()).toBeNull();
    expect(new TcpReplyReader().feed(b('12x'))).toEqual({ kind: 'garbled', text: 'x' });
  });
});

const params = { command: 0, hostPort: 8267, size: 3000, md5: 'd'.repeat(32), password: 'pw' as string | null };
const types = (a: SessionAction[]) => a.map((x) => (x.type === 'arm' ? `arm:${x.timer}` : x.type === 'phase' ? `phase:${x.phase}` : x.type));
const finished = (a: SessionAction[]) => (a.find((x) => x.type === 'finish') as Extract<SessionAction, { type: 'finish' }> | undefined)?.outcome;

describe('the session, state by state', () => {
  test('IDLE → INVITED → WAITAUTH → RUNUPDATE → TRANSFER → VERIFY → DONE', () => {
    const s = new HostSession(params);
    expect(types(s.step({ type: 'start' }))).toEqual(['phase:invite', 'send-udp', 'arm:inviteReply']);
    expect(s.state).toBe('INVITED');
    const auth = s.step({ type: 'udp', data: b(`AUTH ${'1'.repeat(32)}`) });
    expect(types(auth)).toEqual(['phase:auth', 'send-udp', 'arm:authReply']);
    expect(s.state).toBe('WAITAUTH');
    expect(types(s.step({ type: 'udp', data: b('OK') }))).toEqual(['phase:connect-back', 'accept-connection', 'arm:connectBack']);
    expect(s.state).toBe('RUNUPDATE');
    expect(types(s.step({ type: 'connected' }))).toEqual(['phase:transfer', 'send-file', 'arm:transferStall']);
    expect(types(s.step({ type: 'tcp-data', data: b('1460') }))).toEqual(['arm:transferStall']);
    expect(types(s.step({ type: 'sent-all' }))).toEqual(['phase:verify', 'arm:verifyResult']);
    expect(finished(s.step({ type: 'tcp-data', data: b('1540OK') }))).toEqual({ kind: 'ok' });
    expect(s.state).toBe('DONE');
    expect(s.step({ type: 'tcp-closed' })).toEqual([]);
  });

  test('timeouts name their phase; only network failures are marked for retry', () => {
    const invite = new HostSession(params);
    invite.step({ type: 'start' });
    expect(finished(invite.step({ type: 'timeout' }))).toEqual({ kind: 'no-answer', phase: 'invite', retry: true });
    const back = new HostSession({ ...params, password: null });
    back.step({ type: 'start' });
    back.step({ type: 'udp', data: b('OK') });
    expect(finished(back.step({ type: 'timeout' }))).toEqual({ kind: 'no-connect-back', phase: 'connect-back', retry: true });
    const denied = new HostSession(params);
    denied.step({ type: 'start' });
    denied.step({ type: 'udp', data: b(`AUTH ${'1'.repeat(32)}`) });
    expect(finished(denied.step({ type: 'udp', data: b('Authentication Failed') }))).toEqual({ kind: 'auth-failed', phase: 'auth', retry: false });
  });

  test('a password-protected device without a password configured ends at auth', () => {
    const s = new HostSession({ ...params, password: null });
    s.step({ type: 'start' });
    expect(finished(s.step({ type: 'udp', data: b(`AUTH ${'2'.repeat(32)}`) }))).toMatchObject({ kind: 'password-needed', retry: false });
  });

  test('a close before everything was sent is a drop (retried); ERROR during transfer is the device\'s (not retried)', () => {
    const start = () => {
      const s = new HostSession({ ...params, password: null });
      s.step({ type: 'start' });
      s.step({ type: 'udp', data: b('OK') });
      s.step({ type: 'connected' });
      return s;
    };
    expect(finished(start().step({ type: 'tcp-closed' }))).toEqual({ kind: 'dropped', phase: 'transfer', retry: true });
    const err = start();
    expect(finished(err.step({ type: 'tcp-data', data: b('ERROR[4]: Not Enough Space\n') }))).toMatchObject({ kind: 'device-error', code: 4, phase: 'transfer', retry: false });
    const early = start();
    expect(finished(early.step({ type: 'tcp-data', data: b('OK') }))).toMatchObject({ kind: 'garbled' });
    const silent = start();
    silent.step({ type: 'sent-all' });
    expect(finished(silent.step({ type: 'timeout' }))).toEqual({ kind: 'no-result', phase: 'verify', closed: false, retry: false });
  });

  test('a peer that sends more byte counts than the file has bytes is cut off, not waited on forever', () => {
    const s = new HostSession({ ...params, password: null, size: 10 });
    s.step({ type: 'start' });
    s.step({ type: 'udp', data: b('OK') });
    s.step({ type: 'connected' });
    expect(finished(s.step({ type: 'tcp-data', data: b('123456') }))).toBeUndefined();
    expect(finished(s.step({ type: 'tcp-data', data: b('12345') }))).toMatchObject({ kind: 'garbled', text: 'more byte counts than bytes sent' });
  });

  test('--timeout S: every answer S, the result 6 × S', () => {
    expect(timeoutsFor(10)).toEqual({ inviteReply: 10_000, authReply: 10_000, connectBack: 10_000, transferStall: 10_000, verifyResult: 60_000 });
  });
});

describe('retries', () => {
  test('network failures wait base, then twice as long, up to --retries; device replies and OK stop at once', () => {
    const dropped = { kind: 'dropped', phase: 'transfer', retry: true } as const;
    expect([1, 2, 3].map((n) => nextTry(dropped, n, 2, 1000))).toEqual([1000, 2000, null]);
    expect(nextTry(dropped, 1, 0, 1000)).toBeNull();
    expect(nextTry({ kind: 'auth-failed', phase: 'auth', retry: false }, 1, 2, 1000)).toBeNull();
    expect(nextTry({ kind: 'device-error', phase: 'verify', code: 12, text: 'ERROR[12]: x', retry: false }, 1, 2, 1000)).toBeNull();
    expect(nextTry({ kind: 'ok' }, 1, 2, 1000)).toBeNull();
  });
});

describe('explanations', () => {
  const facts: UploadFacts = { host: '192.168.1.50', port: 8266, hostPort: 8267, size: 1_200_000, fingerprint: 'SHA256:abc', layout: { fsStart: 0x200000, runningSketchSize: 900_000 } };
  test('ERROR[12] names the key we signed with; ERROR[4] gives the numbers; ERROR[11] says reset once', () => {
    expect(explainOutcome({ kind: 'device-error', phase: 'verify', code: 12, text: 'ERROR[12]: Signature verification failed', retry: false }, facts).cause).toContain('SHA256:abc');
    const space = explainOutcome({ kind: 'begin-error', phase: 'invite', code: 4, text: 'ERROR[4]: Not Enough Space', retry: false }, facts);
    expect(space.cause).toContain('1200000 bytes (1200128 in whole sectors)');
    expect(space.cause).toContain(`0x200000 − 0xdc000 = ${0x200000 - 0xdc000} bytes`);
    expect(explainOutcome({ kind: 'device-error', phase: 'verify', code: 11, text: 'ERROR[11]: Invalid bootstrapping state, reset ESP8266 before updating', retry: false }, facts).fix).toMatch(/^reset the device once/);
  });
  test('no connect-back names the fixed port and the firewall', () => {
    const e = explainOutcome({ kind: 'no-connect-back', phase: 'connect-back', retry: true }, facts);
    expect(e.what).toContain('port 8267');
    expect(e.fix).toContain('allow inbound TCP port 8267');
  });
  test('every device error code 1–16 has its own cause', () => {
    const causes = new Set<string>();
    for (let code = 1; code <= 16; code++) causes.add(explainOutcome({ kind: 'device-error', phase: 'verify', code, text: `ERROR[${code}]: x`, retry: false }, facts).cause);
    expect(causes.size).toBeGreaterThanOrEqual(14);
    expect(explainOutcome({ kind: 'device-error', phase: 'verify', code: 99, text: 'ERROR[99]: ?', retry: false }, facts).cause).toContain('does not know');
  });
});

describe('progress', () => {
  test('plain lines: one per 10 % step, none repeated', () => {
    let out = '';
    const p = makeProgress('lines', (t) => (out += t));
    for (let sent = 0; sent <= 1000; sent += 73) p.update(sent, 1000);
    p.update(1000, 1000);
    expect(out.trim().split('\n').map((l) => /(\d+)%/.exec(l)![1])).toEqual(['10', '20', '30', '40', '50', '60', '70', '80', '90', '100']);
  });
  test('the bar shows percentage, rate and time left, redrawn in place; none prints nothing', () => {
    let t = 0;
    let out = '';
    const p = makeProgress('bar', (s) => (out += s), () => t);
    t = 1000;
    p.update(512 * 1024, 1024 * 1024);
    p.end();
    expect(out).toMatch(/^\r\[#{15}-{15}\] {2}50% {2}512 KiB\/s {2}0:01 left \n$/);
    let none = '';
    makeProgress('none', (s) => (none += s)).update(1, 2);
    expect(none).toBe('');
  });
});
