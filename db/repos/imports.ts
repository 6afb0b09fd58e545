// ImportRepository over Drizzle: the check value and expiry of a key's imported material.
import { and, asc, eq, inArray, lte } from 'drizzle-orm';
import type { ImportedMaterial, Key } from '../../core/model.js';
import type { ImportRepository } from '../../core/ports.js';
import type { Db } from '../client.js';
import { guard } from '../errors.js';
import { keyImports, keys } from '../schema.js';
import { toKey } from './keys.js';

export class DrizzleImportRepository implements ImportRepository {
  constructor(private readonly db: Db) {}

  get(keyId: string): Promise<ImportedMaterial | null> {
    return guard(async () => {
      const rows = await this.db.select().from(keyImports).where(eq(keyImports.keyId, keyId));
      return rows[0] ? { ...rows[0] } : null;
    });
  }

  put(record: ImportedMaterial): Promise<void> {
    return guard(async () => {
      await this.db.insert(keyImports).values({ ...record }).onConflictDoUpdate({ target: keyImports.keyId, set: { ...record } });
    });
  }

  claimExpired(now: Date): Promise<{ key: Key; material: ImportedMaterial } | null> {
    return guard(async () => {
      const rows = await this.db
        .select({ m: keyImports, k: keys })
        .from(keyImports)
        .innerJoin(keys, eq(keys.id, keyImports.keyId))
        .where(and(lte(keyImports.validTo, now), inArray(keys.state, ['Enabled', 'Disabled'])))
        .orderBy(asc(keyImports.validTo))
        .limit(1)
        .for('update', { skipLocked: true });
      return rows[0] ? { key: toKey(rows[0].k), material: { ...rows[0].m } } : null;
    });
  }
}
