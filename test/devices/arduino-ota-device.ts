/**
 * An ESP8266 running ArduinoOTA, on loopback: the device half of the protocol as ArduinoOTA.cpp
 * implements it (UDP invitation parsed field by field, nonce, constant-time password check,
 * connect-back, a byte count after every write, OK or ERROR[n]), driving the project's emulated
 * Updater, then eboot and the boot check. Faults are switched on per test. Unlike a real ESP8266
 * it also answers on ::1, so the host's IPv6 path can be exercised.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { Device } from '../../src/emulator/device.js';
import { appLoads, runEboot } from '../../src/emulator/eboot.js';
import { namedLayout, type Layout } from '../../src/emulator/layouts.js';
import { profileFor } from '../../src/emulator/profiles.js';
import { Updater } from '../../src/emulator/updater.js';
import type { FlashMode } from '../../src/image/image.js';

export interface OtaDeviceOptions {
  core?: string;
  layout?: Layout | string;
  runningSketchSize?: number;
  mode?: FlashMode;
  /** signing_pubkey[] as compiled in; null: firmware without signing. */
  key?: Uint8Array | null;
  /** ArduinoOTA.setPassword(): the device keeps its MD5. */
  password?: string;
  address?: '127.0.0.1' | '::1';
  /** delay(100) after the UDP OK, delay(1000) before the TCP OK on a real device; shortened here. */
  delayMs?: number;
  faults?: {
    /** Never answers an invitation (off, wrong port, or loop() blocked). */
    silent?: boolean;
    /** Drops the TCP connection once this many bytes arrived, on the first session only. */
    dropAfterBytes?: number;
    /** Closes the connection after the transfer without OK or ERROR. */
    closeWithoutResult?: boolean;
    /** Before dialling back, another host (127.0.0.2) connects to the host port and sends "OK". */
    intruder?: boolean;
  };
}

type State = 'IDLE' | 'WAITAUTH' | 'RUNUPDATE';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

/** ArduinoOTAClass::parseInt over a datagram: skip spaces, up to 16 digits. */
class Packet {
  private i = 0;
  constructor(private readonly b: Buffer) {}
  peek() {
    return this.i < this.b.length ? this.b[this.i]! : -1;
  }
  read() {
    return this.i < this.b.length ? this.b[this.i++]! : -1;
  }
  parseInt(): number {
    while (this.peek() === 0x20) this.read();
    let s = '';
    for (let n = 0; n < 16; n++) {
      const c = this.peek();
      if (c < 0x30 || c > 0x39) return s ? Number(s) : 0;
      s += String.fromCharCode(this.read());
    }
    return 0;
  }
  readStringUntil(end: string): string {
    let s = '';
    for (;;) {
      const c = this.read();
      if (c < 0 || c === 0 || c === end.charCodeAt(0)) return s;
      s += String.fromCharCode(c);
    }
  }
}

export class ArduinoOtaDevice {
  readonly device: Device;
  state: State = 'IDLE';
  port = 0;
  /** What happened, in the order it happened (for test failure messages). */
  readonly log: string[] = [];
  invitations = 0;
  sessions = 0;
  /** After a successful update and reboot: eboot's result and whether the app header loads. */
  booted: { ebootResult: number | null; appLoads: boolean } | null = null;
  private udp: UdpSocket | null = null;
  private readonly passwordMd5: string | null;
  private nonce = '';
  private cmd = 0;
  private hostPort = 0;
  private size = 0;
  private peer: RemoteInfo | null = null;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly o: OtaDeviceOptions = {}) {
    const layout = typeof o.layout === 'string' ? namedLayout(o.layout) : o.layout ?? namedLayout('4M2M');
    this.device = new Device({
      profile: profileFor(o.core ?? '3.1.2'),
      layout,
      runningSketchSize: o.runningSketchSize ?? 200_000,
      runningFlashMode: o.mode ?? 'dio',
      embeddedKey: o.key ?? null,
    });
    this.passwordMd5 = o.password === undefined ? null : md5(o.password);
  }

  start(): Promise<number> {
    const address = this.o.address ?? '127.0.0.1';
    this.udp = createSocket(address === '::1' ? 'udp6' : 'udp4');
    this.udp.on('message', (msg, rinfo) => this.onRx(msg, rinfo));
    return new Promise((resolve) => {
      this.udp!.bind({ address, port: 0 }, () => {
        this.port = this.udp!.address().port;
        resolve(this.port);
      });
    });
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.udp ? this.udp.close(() => r()) : r()));
  }

  private send(text: string): void {
    this.udp!.send(text, this.peer!.port, this.peer!.address);
  }

  private onRx(msg: Buffer, rinfo: RemoteInfo): void {
    if (this.o.faults?.silent) return;
    const p = new Packet(msg);
    if (this.state === 'IDLE') {
      const cmd = p.parseInt();
      if (cmd !== 0 && cmd !== 100) return;
      this.peer = rinfo;
      this.cmd = cmd;
      this.hostPort = p.parseInt();
      this.size = p.parseInt();
      p.read();
      const fileMd5 = p.readStringUntil('\n').trim();
      if (fileMd5.length !== 32) return;
      this.invitations++;
      this.log.push(`invitation: cmd ${cmd}, port ${this.hostPort}, size ${this.size}`);
      if (this.passwordMd5) {
        this.nonce = md5(String(process.hrtime.bigint() / 1000n));
        this.send(`AUTH ${this.nonce}`);
        this.state = 'WAITAUTH';
        return;
      }
      this.state = 'RUNUPDATE';
    } else if (this.state === 'WAITAUTH') {
      if (p.parseInt() !== 200) {
        this.state = 'IDLE';
        return;
      }
      p.read();
      const cnonce = p.readStringUntil(' ');
      const response = p.readStringUntil('\n');
      if (cnonce.length !== 32 || response.length !== 32) {
        this.state = 'IDLE';
        return;
      }
      const expected = Buffer.from(md5(`${this.passwordMd5}:${this.nonce}:${cnonce}`));
      const given = Buffer.from(response);
      if (given.length === expected.length && timingSafeEqual(given, expected)) {
        this.state = 'RUNUPDATE';
      } else {
        this.log.push('auth: failed');
        this.send('Authentication Failed');
        this.state = 'IDLE';
        return;
      }
    } else {
      return;
    }
    // ArduinoOTA.handle() from loop() runs the update
    setImmediate(() => this.runUpdate());
  }

  private runUpdate(): void {
    const d = this.device;
    const updater = new Updater(d.spec.profile, d.flash, {
      sketchSize: d.spec.runningSketchSize,
      fsStart: d.spec.layout.fsStart,
      fsEnd: d.spec.layout.fsEnd,
      realFlashSize: d.spec.layout.flashSize,
      key: d.key,
    });
    if (!updater.begin(this.size, this.cmd)) {
      this.log.push(`begin: ${updater.error?.text}`);
      this.send(`ERR: ${updater.error?.text ?? 'ERROR[0]: No Error'}\n`);
      this.state = 'IDLE';
      return;
    }
    this.send('OK');
    this.sessions++;
    const session = this.sessions;
    const delay = this.o.delayMs ?? 5;
    const dial = () => {
      const sock = connect({ host: this.peer!.address, port: this.hostPort });
      this.sockets.add(sock);
      sock.setNoDelay(true);
      let received = 0;
      let finished = false;
      sock.on('error', () => undefined);
      sock.on('connect', () => this.log.push('connected back'));
      sock.on('data', (data) => {
        if (finished) return;
        const drop = this.o.faults?.dropAfterBytes;
        if (drop !== undefined && session === 1 && received + data.length >= drop) {
          this.log.push(`fault: dropping the connection after ${received} bytes`);
          finished = true;
          sock.destroy();
          return;
        }
        const written = updater.write(data);
        received += written;
        if (written > 0) sock.write(String(written));
        if (written < data.length || received < this.size) return;
        finished = true;
        setTimeout(() => this.finish(updater, sock), delay);
      });
      sock.on('close', () => {
        this.sockets.delete(sock);
        if (!finished) {
          // the receive loop ends; Update.end() of an incomplete upload fails; back to IDLE
          updater.end();
          this.log.push(`connection closed after ${received} of ${this.size} bytes`);
        }
        this.state = 'IDLE';
      });
    };
    if (!this.o.faults?.intruder) {
      setTimeout(dial, delay);
      return;
    }
    const intruder = connect({ host: this.peer!.address, port: this.hostPort, localAddress: '127.0.0.2' });
    intruder.on('error', () => undefined);
    intruder.on('connect', () => intruder.write('OK'));
    intruder.on('close', () => {
      this.log.push('intruder: hung up on');
      setTimeout(dial, delay);
    });
  }

  private finish(updater: Updater, sock: Socket): void {
    if (this.o.faults?.closeWithoutResult) {
      this.log.push('fault: closing without a result');
      sock.end();
      return;
    }
    if (!updater.end()) {
      this.log.push(`end: ${updater.error?.text}`);
      sock.end(`${updater.error?.text ?? 'ERROR[0]: No Error'}\n`);
      return;
    }
    this.log.push('end: OK');
    sock.end('OK');
    // ESP.restart(): eboot acts on the RTC command, then the app at 0x1000 is loaded
    const e = runEboot(this.device.flash, this.device.spec.profile, updater.rtc);
    this.booted = { ebootResult: e.result, appLoads: appLoads(this.device.flash) };
    this.log.push(`reboot: eboot ${e.result}, app ${this.booted.appLoads ? 'loads' : 'does not load'}`);
  }

  /** Flash from 0, as long as `image`: what the device boots after the update. */
  flashHead(length: number): Buffer {
    return Buffer.from(this.device.flash.bytes.subarray(0, length));
  }
}
