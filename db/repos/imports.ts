// ImportRepository over Drizzle: the check value and expiry of a key's imported material.
import { eq } from 'drizzle-orm';
import type { ImportedMaterial } from '../../core/model.js';
import type { ImportRepository } from '../../core/ports.js';
import type { Db } from '../client.js';
import { guard } from '../errors.js';
import { keyImports } from '../schema.js';

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
}
