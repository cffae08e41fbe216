/** Keys and users in the database. Only hashes of keys are stored. */
import { eq, inArray } from 'drizzle-orm';
import type { Db } from './database.ts';
import { apiKeys, users } from './schema.ts';

export type KeyRow = typeof apiKeys.$inferSelect;
export type UserRow = typeof users.$inferSelect;

export class KeyRepository {
  constructor(private readonly db: Db) {}

  async insertKey(row: typeof apiKeys.$inferInsert): Promise<KeyRow> {
    const [inserted] = await this.db.insert(apiKeys).values(row).returning();
    return inserted!;
  }

  async findKey(tokenHash: string): Promise<{ key: KeyRow; user: UserRow | null } | undefined> {
    const rows = await this.db
      .select({ key: apiKeys, user: users })
      .from(apiKeys)
      .leftJoin(users, eq(apiKeys.userId, users.userId))
      .where(eq(apiKeys.tokenHash, tokenHash))
      .limit(1);
    return rows[0];
  }

  async deleteKeys(tokenHashes: string[]): Promise<string[]> {
    if (tokenHashes.length === 0) return [];
    const deleted = await this.db.delete(apiKeys).where(inArray(apiKeys.tokenHash, tokenHashes)).returning({ tokenHash: apiKeys.tokenHash });
    return deleted.map((row) => row.tokenHash);
  }

  async keysOfUser(userId: string): Promise<KeyRow[]> {
    return this.db.select().from(apiKeys).where(eq(apiKeys.userId, userId));
  }

  async findUser(userId: string): Promise<UserRow | undefined> {
    const rows = await this.db.select().from(users).where(eq(users.userId, userId)).limit(1);
    return rows[0];
  }

  /** Creates the user if missing; returns whether it was created. */
  async ensureUser(row: typeof users.$inferInsert): Promise<boolean> {
    const inserted = await this.db.insert(users).values(row).onConflictDoNothing().returning({ userId: users.userId });
    return inserted.length > 0;
  }
}
