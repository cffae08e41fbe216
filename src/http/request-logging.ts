/**
 * The cost of logging on the request path, kept small (issue 10's profile):
 * - one line per request: fastify's "incoming request" line is dropped, and "request completed"
 *   carries the method and the (redacted) URL itself;
 * - no child logger per request unless a line is actually written: `request.log` is a thin
 *   wrapper that makes pino's child (with the `reqId` binding) on the first enabled call, so at
 *   level `warn` a successful request never builds one;
 * - stdout written once per event-loop turn rather than once per line (one write syscall for
 *   all the lines of a busy turn), flushed when the process exits.
 * Hooks into fastify's documented `logController` and `childLoggerFactory` options
 * (https://fastify.dev/docs/latest/Reference/Server/#logcontroller,
 *  https://fastify.dev/docs/latest/Reference/Server/#childloggerfactory).
 */
import { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyRequest } from 'fastify';
import type { FastifyChildLoggerFactory } from 'fastify/types/logger.js';

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
type LogArguments = [object: unknown, message?: string, ...rest: unknown[]];
type PinoLike = FastifyBaseLogger & { isLevelEnabled?: (level: string) => boolean };

/** fastify's per-request lines, reduced to the completion line. */
export class OneLineLogController extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error) {
      reply.log.error({ req: request, res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored');
      return;
    }
    if (!enabled(reply.log as PinoLike, 'info')) return;
    reply.log.info({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed');
  }
}

function enabled(logger: PinoLike, level: Level): boolean {
  return logger.isLevelEnabled ? logger.isLevelEnabled(level) : true;
}

/** A request's logger that becomes pino's child only when a line at an enabled level is written. */
class LazyChildLogger {
  private made: FastifyBaseLogger | undefined;

  constructor(
    private readonly parent: PinoLike,
    private readonly bindings: Record<string, unknown>,
    private readonly options: Record<string, unknown>,
  ) {}

  private real(): FastifyBaseLogger {
    this.made ??= this.parent.child(this.bindings, this.options);
    return this.made;
  }

  private write(level: Level, args: LogArguments): void {
    if (this.made) {
      (this.made[level] as (...values: unknown[]) => void)(...args);
      return;
    }
    // A per-route level (options.level) needs the real child to judge; otherwise the parent's.
    if (this.options.level === undefined && !enabled(this.parent, level)) return;
    (this.real()[level] as (...values: unknown[]) => void)(...args);
  }

  get level(): string {
    return this.made?.level ?? (this.options.level as string | undefined) ?? this.parent.level;
  }

  set level(value: string) {
    this.real().level = value;
  }

  isLevelEnabled(level: string): boolean {
    const logger = (this.made ?? (this.options.level === undefined ? this.parent : this.real())) as PinoLike;
    return enabled(logger, level as Level);
  }

  fatal(...args: LogArguments): void {
    this.write('fatal', args);
  }
  error(...args: LogArguments): void {
    this.write('error', args);
  }
  warn(...args: LogArguments): void {
    this.write('warn', args);
  }
  info(...args: LogArguments): void {
    this.write('info', args);
  }
  debug(...args: LogArguments): void {
    this.write('debug', args);
  }
  trace(...args: LogArguments): void {
    this.write('trace', args);
  }
  silent(): void {}

  child(bindings: Record<string, unknown>, options?: Record<string, unknown>): FastifyBaseLogger {
    return this.real().child(bindings, options);
  }
}

/** fastify's `childLoggerFactory`: the request logger, made lazily. */
export const lazyChildLogger: FastifyChildLoggerFactory = (logger, bindings, options) =>
  new LazyChildLogger(logger as PinoLike, bindings, options as Record<string, unknown>) as unknown as FastifyBaseLogger;

/** Log lines for stdout, written once per event-loop turn (and at exit). One per process. */
let stdoutLines: { write(line: string): void } | undefined;

export function batchedStdout(): { write(line: string): void } {
  if (stdoutLines) return stdoutLines;
  let pending = '';
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending === '') return;
    const text = pending;
    pending = '';
    process.stdout.write(text);
  };
  // stdout to a file or a pipe is written synchronously on Linux, so the last lines make it out.
  process.on('exit', flush);
  stdoutLines = {
    write(line: string) {
      pending += line;
      if (pending.length >= 65_536) flush();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
  };
  return stdoutLines;
}
