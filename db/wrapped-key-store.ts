// The WrappedKeyStore over Drizzle. Inside a unit of work the queries run on its transaction (found through the
// unit of work's AsyncLocalStorage): the blob commits with the key version that owns it, and a transaction never
// waits for a second connection (PGlite has one; Postgres's pool could run dry under concurrent CreateKeys).
// Replacements and deletions are announced on their own channel (delivered at commit, never on rollback) so that
// every instance drops the unwrapped copy it holds. Domain keys are registered and forgotten outside any unit of work.
import { and, asc, count, eq, gt, inArray, sql } from 'drizzle-orm';
import type { WrappedKeyStore } from '../core/ports.js';
import type { Database, Db } from './client.js';
import { errorCode, guard } from './errors.js';
import { domainKeys, wrappedKeyMaterial } from './schema.js';

const FOREIGN_KEY_VIOLATION = '23503';

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
    registerDomainKey: (id) =>
      guard(async () => {
        await database.db.insert(domainKeys).values({ id }).onConflictDoNothing();
      }),
    domainKeyUsage: () =>
      guard(async () => {
        const rows = await database.db
          .select({ id: domainKeys.id, createdAt: domainKeys.createdAt, versions: count(wrappedKeyMaterial.versionId) })
          .from(domainKeys)
          .leftJoin(wrappedKeyMaterial, eq(wrappedKeyMaterial.domainKeyId, domainKeys.id))
          .groupBy(domainKeys.id);
        return rows.map((r) => ({ id: r.id, createdAt: r.createdAt, versions: Number(r.versions) }));
      }),
    under: (domainKeyIds, limit, after) =>
      guard(() =>
        database.db
          .select({ versionId: wrappedKeyMaterial.versionId, blob: wrappedKeyMaterial.blob })
          .from(wrappedKeyMaterial)
          .where(and(inArray(wrappedKeyMaterial.domainKeyId, [...domainKeyIds]), after === null ? undefined : gt(wrappedKeyMaterial.versionId, after)))
          .orderBy(asc(wrappedKeyMaterial.versionId))
          .limit(limit),
      ),
    swap: (versionId, old, domainKeyId, blob) =>
      guard(async () => {
        const rows = await database.db
          .update(wrappedKeyMaterial)
          .set({ domainKeyId, blob })
          .where(and(eq(wrappedKeyMaterial.versionId, versionId), eq(wrappedKeyMaterial.blob, old)))
          .returning({ versionId: wrappedKeyMaterial.versionId });
        return rows.length === 1;
      }),
    forgetDomainKey: (id) =>
      guard(async () => {
        try {
          const rows = await database.db.delete(domainKeys).where(eq(domainKeys.id, id)).returning({ id: domainKeys.id });
          return { registered: rows.length === 1, versions: 0 };
        } catch (e) {
          if (errorCode(e) !== FOREIGN_KEY_VIOLATION) throw e;
        }
        const [row] = await database.db.select({ n: count() }).from(wrappedKeyMaterial).where(eq(wrappedKeyMaterial.domainKeyId, id));
        return { registered: true, versions: Math.max(1, Number(row?.n ?? 1)) };
      }),
    async watch(onChange) {
      const heard = (versionId: string) => onChange(versionId);
      if (database.kind === 'postgres') await database.client.listen(MATERIAL_CHANNEL, heard, () => onChange(null));
      else await database.client.listen(MATERIAL_CHANNEL, heard);
    },
  };
}
