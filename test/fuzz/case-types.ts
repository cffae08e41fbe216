/**
 * The shape of a fuzz case and of the world it runs in. A case is fixed by (seed, index):
 * every random choice is drawn when it is generated; only the concrete ids of the pool files
 * (uploaded at setup, named by kind/owner/slot) are looked up when it runs.
 */
import type OpenAI from 'openai';
import type { RawAnswer } from './raw-http.ts';

export const USERS = ['alice', 'bob', 'carol'] as const;
export type User = (typeof USERS)[number];
export type Owner = User | 'admin';
/** admin = master key; carol's key may only use gpt-4o-mini-openai; revoked = a deleted key. */
export type Actor = Owner | 'revoked' | 'garbage' | 'none';

/** Files uploaded at setup for every owner, three slots each (slot 2 is the one cases delete). */
export const POOL_KINDS = ['openai', 'azure', 'vertex', 'gemini', 'managed'] as const;
export type PoolKind = (typeof POOL_KINDS)[number];
export const POOL_SLOTS = 3;

export interface PoolRef {
  kind: PoolKind;
  owner: Owner;
  slot: number;
}

export interface World {
  port: number;
  url: string;
  /** The key an actor presents (undefined for `none`). */
  keyOf(actor: Actor): string | undefined;
  poolId(ref: PoolRef): string;
  /** An official client for the actor that records the raw answer it got. */
  client(actor: Actor, options?: { baseURL?: string; boundMs?: number }): RecordingClient;
}

export interface RecordingClient {
  client: OpenAI;
  /** The last raw answer (status, headers, bytes), once its body was read. */
  lastAnswer(): Promise<RawAnswer | undefined>;
}

/** What the judge needs about an answer. status 0 = no answer (closed, or we aborted). */
export type Outcome = RawAnswer & { sent: string };

export type Owed =
  | 'answer' // a full answer within the bound
  | 'answer-or-close' // framing the server may refuse by closing
  | 'nothing'; // the client aborted: only the server's health and the stores are judged

export interface FuzzCase {
  index: number;
  /** Case class, e.g. `upload.cut-mid-file`: findings and exclusions name it. */
  klass: string;
  /** Route template for the summary, e.g. `POST /v1/files`. */
  route: string;
  actor: Actor;
  /** What is sent, in words (deterministic for the seed). */
  detail: string;
  owed: Owed;
  /** success: a well-formed request that must be 2xx; failure: must be 4xx. */
  expect?: 'success' | 'failure';
  /** References another owner's resource as a non-admin: must never be 2xx. */
  foreign?: boolean;
  /** Bookkeeping for the orphan check when the answer is 2xx. */
  effect?: { kind: 'upload' } | { kind: 'delete'; ref: PoolRef | undefined } | { kind: 'user' };
  /** The uploaded file's name, so that an orphan found afterwards names its case. */
  tag?: string;
  run(world: World, boundMs: number): Promise<Outcome>;
}

/** Case-generation context handed to every class. */
export interface CaseDraft {
  klass: string;
  route: string;
  actor: Actor;
  detail: string;
  owed?: Owed;
  expect?: 'success' | 'failure';
  foreign?: boolean;
  effect?: FuzzCase['effect'];
  tag?: string;
  run(world: World, boundMs: number): Promise<Outcome>;
}

export function isFor(actor: Actor, owner: Owner): boolean {
  return actor === owner;
}

/** A non-admin user looking at someone else's file. */
export function isForeign(actor: Actor, owner: Owner): boolean {
  return (USERS as readonly string[]).includes(actor) && actor !== owner;
}
