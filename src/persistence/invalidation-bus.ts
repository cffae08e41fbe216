/**
 * Cross-instance cache invalidation (README "Running it": caches are fine when invalidated through Postgres
 * LISTEN/NOTIFY). An instance that deletes a key or a managed file (or changes a file's copies)
 * publishes it; every instance sharing the database drops its cached entry as the notification
 * arrives — milliseconds after the change commits. When the listening connection drops, listeners
 * are told to drop everything (`all`), since notifications may have been missed; the caches' own
 * short lifetimes remain the backstop. On PGlite (one process) the same path runs in-process.
 */
import { sql } from 'drizzle-orm';
import type { Database } from './database.ts';

export type InvalidationEvent = { kind: 'key' | 'file'; id: string } | { kind: 'all' };
type Listener = (event: InvalidationEvent) => void;

const CHANNEL = 'unifile_invalidate';

export class InvalidationBus {
  private readonly listeners = new Set<Listener>();
  private stop: (() => Promise<void>) | undefined;

  private constructor(private readonly database: Database) {}

  static async start(database: Database): Promise<InvalidationBus> {
    const bus = new InvalidationBus(database);
    bus.stop = await database.listen(CHANNEL, {
      onMessage: (payload) => bus.deliver(parse(payload)),
      onGap: () => bus.deliver({ kind: 'all' }),
    });
    return bus;
  }

  subscribe(listener: Listener): void {
    this.listeners.add(listener);
  }

  /**
   * Drops the entry here at once and tells the other instances. A failed NOTIFY is not the
   * caller's failure (the change itself is committed): the other caches expire on their own.
   */
  async publish(kind: 'key' | 'file', id: string): Promise<void> {
    this.deliver({ kind, id });
    try {
      await this.database.db.execute(sql`SELECT pg_notify(${CHANNEL}, ${`${kind}:${id}`})`);
    } catch {
      // see above
    }
  }

  async close(): Promise<void> {
    await this.stop?.();
  }

  private deliver(event: InvalidationEvent | undefined): void {
    if (!event) return;
    for (const listener of this.listeners) listener(event);
  }
}

function parse(payload: string): InvalidationEvent | undefined {
  const colon = payload.indexOf(':');
  const kind = payload.slice(0, colon);
  const id = payload.slice(colon + 1);
  return (kind === 'key' || kind === 'file') && id !== '' ? { kind, id } : undefined;
}
