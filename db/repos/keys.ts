// KeyRepository over Drizzle: keys and their versions; deleting a key cascades to versions, aliases and tags.
import { and, asc, eq, gt, lte } from 'drizzle-orm';
import { INVALID_MARKER_MESSAGE, KmsError } from '../../core/errors.js';
import type { Key, KeyVersion, Page } from '../../core/model.js';
import type { KeyRepository } from '../../core/ports.js';
import type { Db } from '../client.js';
import { guard } from '../errors.js';
import { keyLastUsage, keyVersions, keys } from '../schema.js';
import { toPage } from './page.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Ids are uuid columns: anything else cannot match, and would make Postgres raise 22P02. */
const isUuid = (s: string): boolean => UUID.test(s);

export { INVALID_MARKER_MESSAGE };

type KeyRow = typeof keys.$inferSelect;
type VersionRow = typeof keyVersions.$inferSelect;
type KeyPatch = Parameters<KeyRepository['update']>[1];

export const toKey = (r: KeyRow): Key => ({
  id: r.id,
  accountId: r.accountId,
  description: r.description,
  keySpec: r.keySpec,
  keyUsage: r.keyUsage,
  origin: r.origin,
  state: r.state,
  createdAt: r.createdAt,
  deletionDate: r.deletionDate,
  pendingWindowDays: r.pendingWindowDays,
  currentVersionId: r.currentVersionId,
});
const toVersion = (r: VersionRow): KeyVersion => ({ id: r.id, keyId: r.keyId, version: r.version, createdAt: r.createdAt });

export class DrizzleKeyRepository implements KeyRepository {
  constructor(private readonly db: Db) {}

  insert(key: Key, firstVersion: KeyVersion): Promise<void> {
    return guard(async () => {
      await this.db.transaction(async (tx) => {
        await tx.insert(keys).values({ ...key });
        await tx.insert(keyVersions).values({ ...firstVersion });
      });
    }, 'A key with this id already exists.');
  }

  get(accountId: string, keyId: string): Promise<Key | null> {
    return guard(async () => {
      if (!isUuid(keyId)) return null;
      const rows = await this.db.select().from(keys).where(and(eq(keys.accountId, accountId), eq(keys.id, keyId)));
      return rows[0] ? toKey(rows[0]) : null;
    });
  }

  findById(keyId: string): Promise<Key | null> {
    return guard(async () => {
      if (!isUuid(keyId)) return null;
      const rows = await this.db.select().from(keys).where(eq(keys.id, keyId));
      return rows[0] ? toKey(rows[0]) : null;
    });
  }

  lockForUpdate(keyId: string): Promise<Key | null> {
    return guard(async () => {
      const rows = await this.db.select().from(keys).where(eq(keys.id, keyId)).for('update');
      return rows[0] ? toKey(rows[0]) : null;
    });
  }

  list(accountId: string, limit: number, marker: string | null): Promise<Page<Key>> {
    return guard(async () => {
      if (marker !== null && !isUuid(marker)) throw new KmsError('InvalidMarkerException', INVALID_MARKER_MESSAGE);
      const where = marker === null ? eq(keys.accountId, accountId) : and(eq(keys.accountId, accountId), gt(keys.id, marker));
      const rows = await this.db.select().from(keys).where(where).orderBy(asc(keys.id)).limit(limit + 1);
      return toPage(rows, limit, toKey, (k) => k.id);
    });
  }

  update(keyId: string, patch: KeyPatch): Promise<void> {
    return guard(async () => {
      const set = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as KeyPatch;
      if (Object.keys(set).length === 0) return;
      await this.db.update(keys).set(set).where(eq(keys.id, keyId));
    });
  }

  getVersion(keyId: string, versionId: string): Promise<KeyVersion | null> {
    return guard(async () => {
      if (!isUuid(keyId) || !isUuid(versionId)) return null;
      const rows = await this.db
        .select()
        .from(keyVersions)
        .where(and(eq(keyVersions.keyId, keyId), eq(keyVersions.id, versionId)));
      return rows[0] ? toVersion(rows[0]) : null;
    });
  }

  listVersions(keyId: string): Promise<KeyVersion[]> {
    return guard(async () => {
      if (!isUuid(keyId)) return [];
      const rows = await this.db.select().from(keyVersions).where(eq(keyVersions.keyId, keyId)).orderBy(asc(keyVersions.version));
      return rows.map(toVersion);
    });
  }

  addVersion(version: KeyVersion): Promise<void> {
    return guard(async () => {
      await this.db.insert(keyVersions).values({ ...version });
    }, 'This key version already exists.');
  }

  deleteVersion(keyId: string, versionId: string): Promise<void> {
    return guard(async () => {
      // key_imports rows go with it (ON DELETE CASCADE).
      await this.db.delete(keyVersions).where(and(eq(keyVersions.keyId, keyId), eq(keyVersions.id, versionId)));
    });
  }

  claimDueForDeletion(now: Date): Promise<Key | null> {
    return guard(async () => {
      const rows = await this.db
        .select()
        .from(keys)
        .where(and(eq(keys.state, 'PendingDeletion'), lte(keys.deletionDate, now)))
        .orderBy(asc(keys.deletionDate))
        .limit(1)
        .for('update', { skipLocked: true });
      return rows[0] ? toKey(rows[0]) : null;
    });
  }

  delete(keyId: string): Promise<void> {
    return guard(async () => {
      await this.db.delete(keys).where(eq(keys.id, keyId));
      // Locks the usage row before the transaction's audit append locks the chain head, the reverse of an append's
      // order; no append can want this row meanwhile: a key is deleted after ≥ 7 days pending deletion, unusable.
      await this.db.delete(keyLastUsage).where(eq(keyLastUsage.keyId, keyId));
    });
  }
}
