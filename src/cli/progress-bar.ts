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
const LABEL_MAX = 20;
const TAIL_WIDTH = 22;

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
  /** When the last byte moved (the waiting note began), for the average rate. */
  let sentAt: number | undefined;
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
    const name = label.length > LABEL_MAX ? `${label.slice(0, LABEL_MAX - 1)}…` : label;
    // Fixed-width fields keep the bar from changing length from one redraw to the next.
    const amount = total !== undefined ? `${formatBytes(done).padStart(formatBytes(total).length)}/${formatBytes(total)}` : formatBytes(done).padStart(10);
    const eta = total !== undefined && speed > 0 ? `ETA ${formatDuration((total - done) / speed)}` : '';
    const tail = (note || [`${formatBytes(speed)}/s`, eta].filter(Boolean).join(' ')).padEnd(TAIL_WIDTH);
    const percent = total ? `${String(Math.floor((done / total) * 100)).padStart(3)}%` : '';
    const rest = [name, percent, amount, tail].filter(Boolean).join(' ');
    // The bar takes what the rest leaves of the line (up to 30 cells); below 8 it is left out.
    const width = Math.min(30, columns - 1 - rest.length - 3);
    const filled = total ? Math.round((done / total) * width) : 0;
    const bar = total !== undefined && width >= 8 ? `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]` : '';
    const line = [name, percent, bar, amount, tail].filter(Boolean).join(' ');
    // Cut at the terminal's width: a wrapped line could not be redrawn in place.
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
      sentAt ??= Date.now();
      note = text;
      draw(Date.now());
    },
    finish() {
      clearInterval(timer);
      const now = Date.now();
      const moving = ((sentAt ?? now) - started) / 1000;
      note = `avg ${formatBytes(moving > 0 ? done / moving : done)}/s ${formatDuration((now - started) / 1000)}`;
      draw(Date.now());
      stream.write('\n');
    },
  };
}
