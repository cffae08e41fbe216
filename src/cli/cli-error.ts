/** A failure the CLI reports as one line on stderr (no stack) with its exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    /** 1: the gateway refused or could not be reached; 2: the command line was wrong. */
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export const usageError = (message: string): CliError => new CliError(message, 2);
