// AccessKeyRepository over Drizzle: access key ids with their token-sealed secrets.
import { asc, eq } from 'drizzle-orm';
import type { AccessKey, AccessKeyStatus } from '../../core/model.js';
import type { AccessKeyRepository } from '../../core/ports.js';
import type { Db } from '../client.js';
import { guard } from '../errors.js';
import { accessKeys } from '../schema.js';

type AccessKeyRow = typeof accessKeys.$inferSelect;

const toAccessKey = (r: AccessKeyRow): AccessKey => ({
  accessKeyId: r.accessKeyId,
  principalArn: r.principalArn,
  accountId: r.accountId,
  userName: r.userName,
  sealedSecret: r.sealedSecret,
  status: r.status,
  createdAt: r.createdAt,
});

export class DrizzleAccessKeyRepository implements AccessKeyRepository {
  constructor(private readonly db: Db) {}

  get(accessKeyId: string): Promise<AccessKey | null> {
    return guard(async () => {
      const rows = await this.db.select().from(accessKeys).where(eq(accessKeys.accessKeyId, accessKeyId));
      return rows[0] ? toAccessKey(rows[0]) : null;
    });
  }

  upsert(key: AccessKey): Promise<void> {
    return guard(async () => {
      await this.db
        .insert(accessKeys)
        .values(toAccessKey(key))
        .onConflictDoUpdate({ target: accessKeys.accessKeyId, set: { sealedSecret: key.sealedSecret, status: key.status } });
    });
  }

  listForPrincipal(principalArn: string): Promise<AccessKey[]> {
    return guard(async () => {
      const rows = await this.db
        .select()
        .from(accessKeys)
        .where(eq(accessKeys.principalArn, principalArn))
        .orderBy(asc(accessKeys.createdAt), asc(accessKeys.accessKeyId));
      return rows.map(toAccessKey);
    });
  }

  setStatus(accessKeyId: string, status: AccessKeyStatus): Promise<void> {
    return guard(async () => {
      await this.db.update(accessKeys).set({ status }).where(eq(accessKeys.accessKeyId, accessKeyId));
    });
  }

  delete(accessKeyId: string): Promise<boolean> {
    return guard(async () => (await this.db.delete(accessKeys).where(eq(accessKeys.accessKeyId, accessKeyId)).returning()).length > 0);
  }
}
