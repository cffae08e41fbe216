/**
 * The cost of logging on the request path, kept small (issue 10's profile):
 * - one line per request: fastify's "incoming request" line is dropped, and "request completed"
 *   carries the method and the (redacted) URL itself;
 * - no child logger per request unless a line needs pino itself: `request.log` is a thin wrapper
 *   that writes the common lines (an object of plain values and a message, like "upstream call",
 *   and the completion line) as pino would, without pino's serializers, redaction or child, and
 *   makes pino's child (with the `reqId` binding) for anything else;
 * - stdout written in batches rather than once per line (one write syscall for the lines of
 *   many requests), flushed when the process exits.
 * Hooks into fastify's documented `logController` and `childLoggerFactory` options
 * (https://fastify.dev/docs/latest/Reference/Server/#logcontroller,
 *  https://fastify.dev/docs/latest/Reference/Server/#childloggerfactory).
 */
import { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyRequest } from 'fastify';
import type { FastifyChildLoggerFactory } from 'fastify/types/logger.js';
import { serializeRequest } from './log-redaction.ts';

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
type LogArguments = [object: unknown, message?: string, ...rest: unknown[]];
type PinoLike = FastifyBaseLogger & { isLevelEnabled?: (level: string) => boolean };

/** pino's numbers for its standard levels (https://getpino.io/#/docs/api?id=loggerlevels-object). */
const LEVEL_NUMBERS: Record<Level, number> = { fatal: 60, error: 50, warn: 40, info: 30, debug: 20, trace: 10 };

/**
 * Writes request lines byte for byte as the app's pino logger would (its standard levels, epoch
 * `time`, the `base` fields given here, then the bindings, the fields and `msg`), straight to its
 * stream. Only for lines whose fields need none of pino's serializers or redaction paths: those
 * go through pino.
 */
export class RequestLines {
  private root: FastifyBaseLogger | undefined;
  private readonly baseJson: string;

  constructor(
    private readonly stream: { write(line: string): void },
    /** pino's `base` option of the app's logger. */
    readonly base: { pid: number; hostname: string },
    /** Field names pino must handle: its serializers' and the first segments of redaction paths. */
    private readonly reserved: ReadonlySet<string>,
  ) {
    this.baseJson = JSON.stringify(base).slice(1, -1);
  }

  /** The app's root logger (fastify makes it from the options): only its requests' lines are written here. */
  attach(root: FastifyBaseLogger): void {
    this.root = root;
  }

  handles(parent: FastifyBaseLogger): boolean {
    return parent === this.root;
  }

  /** A field object made only of plain values, none of them reserved: its JSON members, else undefined. */
  plainFields(fields: unknown): string | undefined {
    if (fields === null || typeof fields !== 'object' || Object.getPrototypeOf(fields) !== Object.prototype) return undefined;
    for (const key in fields) {
      if (this.reserved.has(key)) return undefined;
      const value = (fields as Record<string, unknown>)[key];
      if (value !== null && typeof value === 'object') return undefined;
      if (typeof value === 'bigint' || typeof value === 'function' || typeof value === 'symbol') return undefined;
    }
    return JSON.stringify(fields).slice(1, -1);
  }

  /** One line: `bindings` and `fields` are JSON members (`"name":value,…`), possibly empty. */
  write(level: Level, bindings: string, fields: string, message: string): void {
    let line = `{"level":${LEVEL_NUMBERS[level]},"time":${Date.now()},${this.baseJson}`;
    if (bindings !== '') line += `,${bindings}`;
    if (fields !== '') line += `,${fields}`;
    this.stream.write(`${line},"msg":${JSON.stringify(message)}}\n`);
  }
}

/** fastify's per-request lines, reduced to the completion line. */
export class OneLineLogController extends LogController {
  constructor(private readonly lines?: RequestLines) {
    super();
  }

  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error) {
      reply.log.error({ req: request, res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored');
      return;
    }
    const log = reply.log as PinoLike;
    if (!enabled(log, 'info')) return;
    // The fields pino's serializers make of them (serializeRequest; fastify's `res` serializer).
    if (log instanceof LazyChildLogger && log.writesDirectly(this.lines)) {
      const fields = `"req":${JSON.stringify(serializeRequest(request))},"res":{"statusCode":${reply.statusCode}},"responseTime":${reply.elapsedTime}`;
      this.lines!.write('info', log.bindingsJson(), fields, 'request completed');
      return;
    }
    reply.log.info({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed');
  }
}

function enabled(logger: PinoLike, level: Level): boolean {
  return logger.isLevelEnabled ? logger.isLevelEnabled(level) : true;
}

/** A request's logger that becomes pino's child only when a line at an enabled level is written. */
class LazyChildLogger {
  private made: FastifyBaseLogger | undefined;
  private bindingsText: string | undefined;

  constructor(
    private readonly parent: PinoLike,
    private readonly bindings: Record<string, unknown>,
    private readonly options: Record<string, unknown>,
    private readonly lines: RequestLines | undefined,
  ) {}

  private real(): FastifyBaseLogger {
    this.made ??= this.parent.child(this.bindings, this.options);
    return this.made;
  }

  /**
   * Lines of this request may skip pino: no child was made (its level or bindings could have
   * changed), no per-route level or serializers, the app's root logger as parent.
   */
  writesDirectly(lines: RequestLines | undefined): boolean {
    return lines !== undefined && lines === this.lines && this.made === undefined && Object.keys(this.options).length === 0 && lines.handles(this.parent);
  }

  /** The child's bindings as JSON members (fastify's are `{ reqId }`). */
  bindingsJson(): string {
    this.bindingsText ??= JSON.stringify(this.bindings).slice(1, -1);
    return this.bindingsText;
  }

  private write(level: Level, args: LogArguments): void {
    if (this.made) {
      (this.made[level] as (...values: unknown[]) => void)(...args);
      return;
    }
    // A per-route level (options.level) needs the real child to judge; otherwise the parent's.
    if (this.options.level === undefined && !enabled(this.parent, level)) return;
    if (args.length === 2 && typeof args[1] === 'string' && this.writesDirectly(this.lines)) {
      const fields = this.lines!.plainFields(args[0]);
      if (fields !== undefined) return this.lines!.write(level, this.bindingsJson(), fields, args[1]);
    }
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

/** fastify's `childLoggerFactory`: the request logger, made lazily; `lines` writes its common lines. */
export function lazyChildLoggers(lines?: RequestLines): FastifyChildLoggerFactory {
  return (logger, bindings, options) =>
    new LazyChildLogger(logger as PinoLike, bindings, options as Record<string, unknown>, lines) as unknown as FastifyBaseLogger;
}

/**
 * How long a log line may wait for others before stdout is written: under load, one write
 * syscall carries the lines of many requests instead of those of one event-loop turn.
 */
const STDOUT_BATCH_MS = 20;

/** Log lines for stdout, written every STDOUT_BATCH_MS, at 64 KiB and at exit. One per process. */
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
        // unref: a pending batch never holds the process open; 'exit' writes it.
        setTimeout(flush, STDOUT_BATCH_MS).unref();
      }
    },
  };
  return stdoutLines;
}
