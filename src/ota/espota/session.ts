/**
 * The host half of ArduinoOTA as a state machine. The states name what the device is doing, as
 * ArduinoOTA.cpp calls it where it has a name: IDLE (nothing sent yet), INVITED (the device parses
 * the invitation), WAITAUTH (it checks our answer to its nonce), RUNUPDATE (Update.begin() passed,
 * it dials back), then TRANSFER (Update.write() of each piece), VERIFY (Update.end(): signature and
 * image checks) and DONE. The socket layer feeds events and carries out the actions; every wait is
 * one named timer whose length the caller chooses.
 */
import { authAnswer, invitation, parseUdpReply, TcpReplyReader, type TcpResult } from './wire.js';

export type SessionState = 'IDLE' | 'INVITED' | 'WAITAUTH' | 'RUNUPDATE' | 'TRANSFER' | 'VERIFY' | 'DONE';

/** The phases a user hears about; each failure names one. */
export type Phase = 'invite' | 'auth' | 'connect-back' | 'transfer' | 'verify';

export type TimerName = 'inviteReply' | 'authReply' | 'connectBack' | 'transferStall' | 'verifyResult';

export type SessionEvent =
  | { type: 'start' }
  | { type: 'udp'; data: Uint8Array }
  | { type: 'timeout' }
  | { type: 'connected' }
  | { type: 'tcp-data'; data: Uint8Array }
  | { type: 'sent-all' }
  | { type: 'tcp-closed' };

export type SessionAction =
  | { type: 'send-udp'; text: string }
  | { type: 'arm'; timer: TimerName }
  | { type: 'accept-connection' }
  | { type: 'send-file' }
  | { type: 'phase'; phase: Phase }
  | { type: 'finish'; outcome: Outcome };

/** How an attempt ended. `retry` marks network failures; what the device said is never retried. */
export type Outcome =
  | { kind: 'ok' }
  | { kind: 'no-answer'; phase: 'invite' | 'auth'; retry: true }
  | { kind: 'password-needed'; phase: 'auth'; retry: false }
  | { kind: 'auth-failed'; phase: 'auth'; retry: false }
  | { kind: 'begin-error'; phase: 'invite' | 'auth'; code: number; text: string; retry: false }
  | { kind: 'garbled'; phase: Phase; text: string; retry: false }
  | { kind: 'no-connect-back'; phase: 'connect-back'; retry: true }
  | { kind: 'dropped'; phase: 'transfer'; retry: true }
  | { kind: 'stalled'; phase: 'transfer'; retry: true }
  | { kind: 'device-error'; phase: 'transfer' | 'verify'; code: number; text: string; retry: false }
  | { kind: 'no-result'; phase: 'verify'; closed: true; retry: true }
  | { kind: 'no-result'; phase: 'verify'; closed: false; retry: false };

export interface SessionParams {
  command: number;
  hostPort: number;
  size: number;
  md5: string;
  /** null: none configured (a device that asks for one ends the attempt with `password-needed`). */
  password: string | null;
}

export class HostSession {
  state: SessionState = 'IDLE';
  private readonly reader = new TcpReplyReader();
  private allSent = false;

  constructor(private readonly p: SessionParams) {}

  step(e: SessionEvent): SessionAction[] {
    switch (this.state) {
      case 'IDLE':
        if (e.type !== 'start') return [];
        this.state = 'INVITED';
        // the listener is already open: the device dials back ~100 ms after its OK
        return [{ type: 'phase', phase: 'invite' }, { type: 'send-udp', text: invitation(this.p.command, this.p.hostPort, this.p.size, this.p.md5) }, { type: 'arm', timer: 'inviteReply' }];
      case 'INVITED':
      case 'WAITAUTH':
        return this.onUdpPhase(e);
      case 'RUNUPDATE':
        if (e.type === 'connected') {
          this.state = 'TRANSFER';
          return [{ type: 'phase', phase: 'transfer' }, { type: 'send-file' }, { type: 'arm', timer: 'transferStall' }];
        }
        if (e.type === 'timeout') return this.finish({ kind: 'no-connect-back', phase: 'connect-back', retry: true });
        return [];
      case 'TRANSFER':
      case 'VERIFY':
        return this.onTcp(e);
      case 'DONE':
        return [];
    }
  }

  private onUdpPhase(e: SessionEvent): SessionAction[] {
    const phase = this.state === 'INVITED' ? 'invite' : 'auth';
    if (e.type === 'timeout') return this.finish({ kind: 'no-answer', phase, retry: true });
    if (e.type !== 'udp') return [];
    const reply = parseUdpReply(e.data);
    switch (reply.kind) {
      case 'ok':
        this.state = 'RUNUPDATE';
        return [{ type: 'phase', phase: 'connect-back' }, { type: 'accept-connection' }, { type: 'arm', timer: 'connectBack' }];
      case 'auth-challenge':
        // a second challenge while we wait for the verdict on the first is not the device's
        if (phase !== 'invite') return this.finish({ kind: 'garbled', phase, text: `AUTH ${reply.nonce}`, retry: false });
        if (this.p.password === null) return this.finish({ kind: 'password-needed', phase: 'auth', retry: false });
        this.state = 'WAITAUTH';
        return [{ type: 'phase', phase: 'auth' }, { type: 'send-udp', text: authAnswer(this.p.password, reply.nonce) }, { type: 'arm', timer: 'authReply' }];
      case 'auth-failed':
        return this.finish({ kind: 'auth-failed', phase: 'auth', retry: false });
      case 'begin-error':
        return this.finish({ kind: 'begin-error', phase, code: reply.code, text: reply.text, retry: false });
      case 'garbled':
        return this.finish({ kind: 'garbled', phase, text: reply.text, retry: false });
    }
  }

  private onTcp(e: SessionEvent): SessionAction[] {
    const phase = this.state === 'TRANSFER' ? 'transfer' : 'verify';
    switch (e.type) {
      case 'tcp-data': {
        const result = this.reader.feed(e.data);
        if (result) return this.result(result, phase);
        // every count stands for at least one byte received: a peer that sends more digits than
        // the file has bytes is not counting, and must not hold the connection open forever
        if (this.reader.ackDigits > this.p.size) return this.finish({ kind: 'garbled', phase, text: 'more byte counts than bytes sent', retry: false });
        // a count means the device is still reading: the stall clock starts again
        return [{ type: 'arm', timer: this.state === 'TRANSFER' ? 'transferStall' : 'verifyResult' }];
      }
      case 'sent-all':
        this.allSent = true;
        if (this.state !== 'TRANSFER') return [];
        this.state = 'VERIFY';
        return [{ type: 'phase', phase: 'verify' }, { type: 'arm', timer: 'verifyResult' }];
      case 'tcp-closed': {
        const partial = this.reader.end();
        if (partial) return this.result(partial, phase);
        if (this.state === 'TRANSFER' && !this.allSent) return this.finish({ kind: 'dropped', phase: 'transfer', retry: true });
        // Sent is not received: what the network took may still have been lost with the connection,
        // and a device whose Update.end() never ran is back in IDLE, so another attempt is safe.
        return this.finish({ kind: 'no-result', phase: 'verify', closed: true, retry: true });
      }
      case 'timeout':
        if (this.state === 'TRANSFER') return this.finish({ kind: 'stalled', phase: 'transfer', retry: true });
        return this.finish({ kind: 'no-result', phase: 'verify', closed: false, retry: false });
      default:
        return [];
    }
  }

  private result(r: TcpResult, phase: 'transfer' | 'verify'): SessionAction[] {
    if (r.kind === 'ok') {
      // OK before every byte left us cannot be the device's Update.end()
      if (!this.allSent) return this.finish({ kind: 'garbled', phase, text: 'OK before the whole file was sent', retry: false });
      return this.finish({ kind: 'ok' });
    }
    if (r.kind === 'device-error') return this.finish({ kind: 'device-error', phase, code: r.code, text: r.text, retry: false });
    return this.finish({ kind: 'garbled', phase, text: r.text, retry: false });
  }

  private finish(outcome: Outcome): SessionAction[] {
    this.state = 'DONE';
    return [{ type: 'finish', outcome }];
  }
}
