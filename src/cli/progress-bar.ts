/**
 * A one-line progress bar on a terminal: percent, bar, bytes done of total, rate over the last
 * few seconds, and ETA. Redrawn in place (`\r` + erase to end of line) at most every 100 ms.
 */
import type { WriteStream } from 'node:tty';

export interface Progress {
  /** `bytes` more were sent or received. */
  advance(bytes: number): void;
  /** Every byte moved; the gateway is still working (e.g. copying to providers): say so. */
  waiting(note: string): void;
  /** Draws the final state and ends the line. */
  finish(): void;
}

const silent: Progress = { advance: () => {}, waiting: () => {}, finish: () => {} };
const REDRAW_MS = 100;
const RATE_WINDOW_MS = 3000;

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const whole = Math.max(0, Math.round(seconds));
  const pad = (value: number) => String(value).padStart(2, '0');
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  return hours > 0 ? `${hours}:${pad(minutes)}:${pad(whole % 60)}` : `${pad(minutes)}:${pad(whole % 60)}`;
}

/** A bar on `stream` when it is a terminal and `enabled`; otherwise nothing is ever written. */
export function progressBar(options: { stream: NodeJS.WriteStream; total: number | undefined; label: string; enabled: boolean }): Progress {
  const { stream, total, label } = options;
  if (!options.enabled || !stream.isTTY) return silent;
  const terminal = stream as WriteStream;
  const started = Date.now();
  let done = 0;
  let note = '';
  let lastDraw = 0;
  // Samples of (time, bytes done) over the last RATE_WINDOW_MS: the rate follows the current speed.
  const samples: Array<[number, number]> = [[started, 0]];

  const rate = (now: number): number => {
    while (samples.length > 2 && now - samples[1]![0] > RATE_WINDOW_MS) samples.shift();
    const [since, bytesThen] = samples[0]!;
    return now > since ? ((done - bytesThen) * 1000) / (now - since) : 0;
  };

  const draw = (now: number) => {
    lastDraw = now;
    const speed = rate(now);
    const columns = terminal.columns || 80;
    const amount = total !== undefined ? `${formatBytes(done)} / ${formatBytes(total)}` : formatBytes(done);
    const eta = total !== undefined && speed > 0 ? `ETA ${formatDuration((total - done) / speed)}` : '';
    const tail = note || [`${formatBytes(speed)}/s`, eta].filter(Boolean).join('  ');
    const percent = total ? `${String(Math.floor((done / total) * 100)).padStart(3)}%` : '';
    const fixed = [label, percent, '[]', amount, tail].filter(Boolean).join('  ');
    const width = Math.max(0, Math.min(30, columns - fixed.length - 1));
    const filled = total ? Math.round((done / total) * width) : 0;
    const bar = width > 0 && total !== undefined ? `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]` : '';
    const line = [label, percent, bar, amount, tail].filter(Boolean).join('  ');
    stream.write(`\r${line.slice(0, columns - 1)}\x1b[K`);
  };

  // Redraws while nothing moves too, so rate and ETA do not freeze on a stalled transfer.
  const timer = setInterval(() => draw(Date.now()), 500);
  timer.unref();

  return {
    advance(bytes) {
      done += bytes;
      const now = Date.now();
      if (now - samples[samples.length - 1]![0] >= 250) samples.push([now, done]);
      if (now - lastDraw >= REDRAW_MS) draw(now);
    },
    waiting(text) {
      note = text;
      draw(Date.now());
    },
    finish() {
      clearInterval(timer);
      const seconds = (Date.now() - started) / 1000;
      note = `${formatBytes(seconds > 0 ? done / seconds : done)}/s average, ${formatDuration(seconds)}`;
      draw(Date.now());
      stream.write('\n');
    },
  };
}
