// AliasRepository over Drizzle: aliases keyed by (account, name), each pointing at one key.
import { and, asc, eq, gt, type SQL } from 'drizzle-orm';
import { KmsError } from '../../core/errors.js';
import type { Alias, Page } from '../../core/model.js';
import type { AliasRepository } from '../../core/ports.js';
import type { Db } from '../client.js';
import { guard } from '../errors.js';
import { aliases } from '../schema.js';
import { toPage } from './page.js';

type AliasRow = typeof aliases.$inferSelect;

const toAlias = (r: AliasRow): Alias => ({
  accountId: r.accountId,
  name: r.name,
  keyId: r.keyId,
  createdAt: r.createdAt,
  updatedAt: r.updatedAt,
});

/**
 * The message of the AlreadyExistsException insert throws. AWS names the alias by ARN, which needs the
 * region the repository does not know: the service may replace the message (the code is what matters).
 */
export function aliasExistsMessage(name: string): string {
  return `An alias with the name ${name} already exists`;
}

export class DrizzleAliasRepository implements AliasRepository {
  constructor(private readonly db: Db) {}

  insert(alias: Alias): Promise<void> {
    const message = aliasExistsMessage(alias.name);
    return guard(async () => {
      // ON CONFLICT DO NOTHING instead of catching 23505, so an enclosing transaction stays usable.
      const inserted = await this.db
        .insert(aliases)
        .values(toAlias(alias))
        .onConflictDoNothing({ target: [aliases.accountId, aliases.name] })
        .returning({ name: aliases.name });
      if (inserted.length === 0) throw new KmsError('AlreadyExistsException', message);
    }, message);
  }

  get(accountId: string, name: string): Promise<Alias | null> {
    return guard(async () => {
      const rows = await this.db.select().from(aliases).where(and(eq(aliases.accountId, accountId), eq(aliases.name, name)));
      return rows[0] ? toAlias(rows[0]) : null;
    });
  }

  retarget(accountId: string, name: string, keyId: string, now: Date): Promise<boolean> {
    return guard(async () => {
      const rows = await this.db
        .update(aliases)
        .set({ keyId, updatedAt: now })
        .where(and(eq(aliases.accountId, accountId), eq(aliases.name, name)))
        .returning({ name: aliases.name });
      return rows.length > 0;
    });
  }

  delete(accountId: string, name: string): Promise<boolean> {
    return guard(async () => {
      const rows = await this.db
        .delete(aliases)
        .where(and(eq(aliases.accountId, accountId), eq(aliases.name, name)))
        .returning({ name: aliases.name });
      return rows.length > 0;
    });
  }

  list(accountId: string, keyId: string | null, limit: number, marker: string | null): Promise<Page<Alias>> {
    return guard(async () => {
      const conditions: SQL[] = [eq(aliases.accountId, accountId)];
      if (keyId !== null) conditions.push(eq(aliases.keyId, keyId));
      if (marker !== null) conditions.push(gt(aliases.name, marker));
      const rows = await this.db
        .select()
        .from(aliases)
        .where(and(...conditions))
        .orderBy(asc(aliases.name))
        .limit(limit + 1);
      return toPage(rows, limit, toAlias, (a) => a.name);
    });
  }
}
