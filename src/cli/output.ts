/**
 * How a command answers: for a person at a terminal, readable text on stdout and progress on
 * stderr; otherwise (stdout piped or redirected, or --json) exactly one JSON line on stdout and
 * nothing on stderr unless something failed.
 */
export interface Output {
  /** stdout is a terminal and --json was not given. */
  interactive: boolean;
  /** Progress bars may be drawn on stderr (interactive and stderr is a terminal). */
  progress: boolean;
  /** Prints the result: `human()` for a person, else `json` as one line. */
  result(json: unknown, human: () => string): void;
}

export function output(options: { json: boolean }): Output {
  const interactive = !options.json && process.stdout.isTTY === true;
  return {
    interactive,
    progress: interactive && process.stderr.isTTY === true,
    result(json, human) {
      process.stdout.write(interactive ? `${human()}\n` : `${JSON.stringify(json)}\n`);
    },
  };
}

/** Seconds since the epoch → `YYYY-MM-DD HH:MM` UTC; null → `-`. */
export function formatTime(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return '-';
  return new Date(seconds * 1000).toISOString().slice(0, 16).replace('T', ' ');
}

/** Rows as left-aligned columns separated by two spaces. */
export function columns(rows: string[][]): string {
  const widths = rows[0]!.map((_, index) => Math.max(...rows.map((row) => row[index]!.length)));
  return rows.map((row) => row.map((cell, index) => (index === row.length - 1 ? cell : cell.padEnd(widths[index]!))).join('  ')).join('\n');
}
