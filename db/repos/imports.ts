// ImportRepository over Drizzle: the check value, expiry and state of each imported key material, and the wrapping key pairs.
import { and, asc, eq, inArray, isNotNull, isNull, lte, or } from 'drizzle-orm';
import type { ImportedMaterial, Key, WrappingKey } from '../../core/model.js';
import type { ImportRepository } from '../../core/ports.js';
import type { Db } from '../client.js';
import { guard } from '../errors.js';
import { importWrappingKeys, keyImports, keys } from '../schema.js';
import { toKey } from './keys.js';

export class DrizzleImportRepository implements ImportRepository {
  constructor(private readonly db: Db) {}

  list(keyId: string): Promise<ImportedMaterial[]> {
    return guard(async () => {
      const rows = await this.db.select().from(keyImports).where(eq(keyImports.keyId, keyId));
      return rows.map((r) => ({ ...r }));
    });
  }

  put(record: ImportedMaterial): Promise<void> {
    return guard(async () => {
      await this.db.insert(keyImports).values({ ...record }).onConflictDoUpdate({ target: keyImports.versionId, set: { ...record } });
    });
  }

  claimExpired(now: Date): Promise<{ key: Key; material: ImportedMaterial } | null> {
    return guard(async () => {
      const rows = await this.db
        .select({ m: keyImports, k: keys })
        .from(keyImports)
        .innerJoin(keys, eq(keys.id, keyImports.keyId))
        .where(and(lte(keyImports.validTo, now), eq(keyImports.imported, true), inArray(keys.state, ['Enabled', 'Disabled', 'PendingImport'])))
        .orderBy(asc(keyImports.validTo))
        .limit(1)
        .for('update', { skipLocked: true });
      return rows[0] ? { key: toKey(rows[0].k), material: { ...rows[0].m } } : null;
    });
  }

  addWrappingKey(wrapping: WrappingKey): Promise<void> {
    return guard(async () => {
      await this.db.insert(importWrappingKeys).values({ ...wrapping });
    });
  }

  useWrappingKey(versionId: string, now: Date): Promise<boolean> {
    return guard(async () => {
      const rows = await this.db
        .update(importWrappingKeys)
        .set({ usedAt: now })
        .where(and(eq(importWrappingKeys.versionId, versionId), isNull(importWrappingKeys.usedAt)))
        .returning({ versionId: importWrappingKeys.versionId });
      return rows.length === 1;
    });
  }

  removeWrappingKey(versionId: string): Promise<void> {
    return guard(async () => {
      await this.db.delete(importWrappingKeys).where(eq(importWrappingKeys.versionId, versionId));
    });
  }

  claimSpentWrappingKey(now: Date): Promise<WrappingKey | null> {
    return guard(async () => {
      const rows = await this.db
        .select()
        .from(importWrappingKeys)
        .where(or(isNotNull(importWrappingKeys.usedAt), lte(importWrappingKeys.validTo, now)))
        .orderBy(asc(importWrappingKeys.validTo))
        .limit(1)
        .for('update', { skipLocked: true });
      return rows[0] ? { ...rows[0] } : null;
    });
  }
}
