/**
 * Upload progress on stderr: a redrawn bar on a terminal (percentage, rate, time left), one plain
 * line per 10 % elsewhere (the IDE's upload pane shows stderr line by line), nothing when quiet.
 */
import { nowMs } from '../lazy.js';

export type ProgressStyle = 'bar' | 'lines' | 'none';

export interface Progress {
  update(sent: number, size: number): void;
  /** Ends the bar's line (a later message starts on a fresh one). */
  end(): void;
}

const BAR_WIDTH = 30;
/** Redraw at most this often: a 1 MiB upload is ~700 pieces. */
const REDRAW_MS = 100;

const kib = (n: number) => `${(n / 1024).toFixed(0)} KiB`;

function duration(s: number): string {
  if (!Number.isFinite(s)) return '--:--';
  const t = Math.max(0, Math.round(s));
  return `${Math.floor(t / 60)}:${String(t % 60).padStart(2, '0')}`;
}

export function makeProgress(style: ProgressStyle, write: (text: string) => void, now: () => number = nowMs): Progress {
  const start = now();
  let lastDraw = -Infinity;
  let lastStep = 0;
  let drawn = false;
  return {
    update(sent, size) {
      if (style === 'none' || size === 0) return;
      const fraction = sent / size;
      const t = now();
      if (style === 'lines') {
        const step = Math.floor(fraction * 10);
        if (step > lastStep) {
          lastStep = step;
          write(`esp8266-sign: uploading ${step * 10}% (${sent} of ${size} bytes)\n`);
        }
        return;
      }
      if (t - lastDraw < REDRAW_MS && sent < size) return;
      lastDraw = t;
      const secs = (t - start) / 1000;
      const rate = secs > 0 ? sent / secs : 0;
      const filled = Math.round(fraction * BAR_WIDTH);
      const left = rate > 0 ? (size - sent) / rate : Infinity;
      write(`\r[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}%  ${kib(rate)}/s  ${duration(left)} left `);
      drawn = true;
    },
    end() {
      if (drawn) write('\n');
      drawn = false;
    },
  };
}
