// The WrappedKeyStore over Drizzle. Inside a unit of work the queries run on its transaction (found through the
// unit of work's AsyncLocalStorage): the blob commits with the key version that owns it, and a transaction never
// waits for a second connection (PGlite has one; Postgres's pool could run dry under concurrent CreateKeys).
// Replacements and deletions are announced on their own channel (delivered at commit, never on rollback) so that
// every instance drops the unwrapped copy it holds.
import { eq, sql } from 'drizzle-orm';
import type { WrappedKeyStore } from '../core/ports.js';
import type { Database, Db } from './client.js';
import { guard } from './errors.js';
import { wrappedKeyMaterial } from './schema.js';

export const MATERIAL_CHANNEL = 'coffer_key_material_changed';

export function wrappedKeyStoreOver(database: Database, current: () => Db | undefined): WrappedKeyStore {
  const db = () => current() ?? database.db;
  const announce = (d: Db, versionId: string) => d.execute(sql`select pg_notify(${MATERIAL_CHANNEL}, ${versionId})`);
  return {
    insert: (versionId, domainKeyId, blob) =>
      guard(async () => {
        await db().insert(wrappedKeyMaterial).values({ versionId, domainKeyId, blob }).onConflictDoNothing();
      }),
    replace: (versionId, domainKeyId, blob) =>
      guard(async () => {
        const d = db();
        await d
          .insert(wrappedKeyMaterial)
          .values({ versionId, domainKeyId, blob })
          .onConflictDoUpdate({ target: wrappedKeyMaterial.versionId, set: { domainKeyId, blob, createdAt: sql`now()` } });
        await announce(d, versionId);
      }),
    get: (versionId) =>
      guard(async () => {
        const rows = await db().select({ blob: wrappedKeyMaterial.blob }).from(wrappedKeyMaterial).where(eq(wrappedKeyMaterial.versionId, versionId));
        return rows[0]?.blob ?? null;
      }),
    delete: (versionId) =>
      guard(async () => {
        const d = db();
        await d.delete(wrappedKeyMaterial).where(eq(wrappedKeyMaterial.versionId, versionId));
        await announce(d, versionId);
      }),
    async watch(onChange) {
      const heard = (versionId: string) => onChange(versionId);
      if (database.kind === 'postgres') await database.client.listen(MATERIAL_CHANNEL, heard, () => onChange(null));
      else await database.client.listen(MATERIAL_CHANNEL, heard);
    },
  };
}
