/**
 * Scripted failures for the emulators: "answer 500 to the 2nd upload", "drop the connection",
 * "wait 3 s before answering". Rules are checked in order before the normal handler runs.
 */

export type FaultAction =
  /**
   * Answer with this status instead of handling the call. `body`: an object is sent as JSON,
   * a string verbatim as text/plain (a non-JSON error body); absent → empty body.
   * The request body is read fully first so the client sees the status, not a reset.
   */
  | { kind: 'status'; status: number; body?: unknown; headers?: Record<string, string> }
  /** Destroy the socket without answering, once (part of) the request body was read. */
  | { kind: 'drop' }
  /** Wait `ms` milliseconds (before any response header), then handle the call normally. */
  | { kind: 'delay'; ms: number };

export interface FaultRule {
  /** HTTP method, case-insensitive; absent = any. */
  method?: string;
  /** Exact pathname, a prefix when the string ends with '*', or a RegExp tested on the pathname. */
  path?: string | RegExp;
  /**
   * The rule starts firing on the nth matching call (1-based) and then fires `times` times.
   * Absent = from the first matching call. Every call whose method and path match counts,
   * even when an earlier rule fired for it.
   */
  nth?: number;
  /** How many times the rule fires; default 1; `Infinity` allowed. */
  times?: number;
  action: FaultAction;
}

export interface FaultController {
  add(rule: FaultRule): void;
  clear(): void;
  /** The rules currently installed, in checking order. */
  readonly rules: readonly FaultRule[];
}

interface RuleState {
  rule: FaultRule;
  matched: number;
  fired: number;
}

export class FaultList implements FaultController {
  #states: RuleState[] = [];

  get rules(): readonly FaultRule[] {
    return this.#states.map((state) => state.rule);
  }

  add(rule: FaultRule): void {
    validateRule(rule);
    this.#states.push({ rule, matched: 0, fired: 0 });
  }

  clear(): void {
    this.#states = [];
  }

  /** Counts the call against every matching rule and returns the action of the first that fires. */
  take(method: string, path: string): FaultAction | undefined {
    let chosen: FaultAction | undefined;
    for (const state of this.#states) {
      if (!matches(state.rule, method, path)) continue;
      state.matched += 1;
      const start = state.rule.nth ?? 1;
      const times = state.rule.times ?? 1;
      if (chosen === undefined && state.matched >= start && state.fired < times) {
        state.fired += 1;
        chosen = state.rule.action;
      }
    }
    return chosen;
  }
}

function matches(rule: FaultRule, method: string, path: string): boolean {
  if (rule.method !== undefined && rule.method.toUpperCase() !== method.toUpperCase()) return false;
  const pattern = rule.path;
  if (pattern === undefined) return true;
  if (pattern instanceof RegExp) {
    pattern.lastIndex = 0; // a /g or /y regex would otherwise remember where it stopped
    return pattern.test(path);
  }
  if (pattern.endsWith('*')) return path.startsWith(pattern.slice(0, -1));
  return path === pattern;
}

function validateRule(rule: FaultRule): void {
  const action = rule.action;
  if (action === null || typeof action !== 'object') throw new TypeError('fault rule needs an action');
  if (action.kind === 'status') {
    if (!Number.isInteger(action.status) || action.status < 100 || action.status > 599) {
      throw new TypeError('status fault needs an integer status 100..599');
    }
  } else if (action.kind === 'delay') {
    if (!(typeof action.ms === 'number' && action.ms >= 0 && Number.isFinite(action.ms))) {
      throw new TypeError('delay fault needs ms >= 0');
    }
  } else if (action.kind !== 'drop') {
    throw new TypeError(`unknown fault kind: ${String((action as { kind?: unknown }).kind)}`);
  }
  if (rule.nth !== undefined && !(Number.isInteger(rule.nth) && rule.nth >= 1)) {
    throw new TypeError('nth must be an integer >= 1');
  }
  if (rule.times !== undefined && !(rule.times === Infinity || (Number.isInteger(rule.times) && rule.times >= 1))) {
    throw new TypeError('times must be an integer >= 1 or Infinity');
  }
}

/**
 * Turns the JSON accepted by `POST /__emulator/faults` into a rule: like FaultRule, except that
 * `path` may be `{"regex": "...", "flags"?: "i"}` and `times` may be the string "Infinity".
 */
export function faultRuleFromJson(input: unknown): FaultRule {
  if (input === null || typeof input !== 'object') throw new TypeError('fault rule must be a JSON object');
  const raw = input as Record<string, unknown>;
  const rule: FaultRule = { action: raw['action'] as FaultAction };
  if (raw['method'] !== undefined) {
    if (typeof raw['method'] !== 'string') throw new TypeError('method must be a string');
    rule.method = raw['method'];
  }
  const path = raw['path'];
  if (typeof path === 'string') rule.path = path;
  else if (path !== undefined && path !== null && typeof path === 'object') {
    const { regex, flags } = path as { regex?: unknown; flags?: unknown };
    if (typeof regex !== 'string') throw new TypeError('path.regex must be a string');
    rule.path = new RegExp(regex, typeof flags === 'string' ? flags : undefined);
  } else if (path !== undefined) throw new TypeError('path must be a string or {"regex": "..."}');
  if (raw['nth'] !== undefined) rule.nth = raw['nth'] as number;
  if (raw['times'] !== undefined) rule.times = raw['times'] === 'Infinity' ? Infinity : (raw['times'] as number);
  validateRule(rule);
  return rule;
}
