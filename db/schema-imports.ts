// The wrapping key pairs GetParametersForImport puts in the token, so each is destroyed once its import token is used or expires.
import { index, pgTable, timestamp, uuid, varchar } from 'drizzle-orm/pg-core';

const tstz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

/** No foreign key to keys: the row must outlive a deleted key until its token object is destroyed. */
export const importWrappingKeys = pgTable(
  'import_wrapping_keys',
  {
    versionId: uuid('version_id').primaryKey(),
    keyId: uuid('key_id').notNull(),
    accountId: varchar('account_id', { length: 12 }).notNull(),
    validTo: tstz('valid_to').notNull(),
    usedAt: tstz('used_at'),
  },
  (t) => [index('import_wrapping_keys_valid_to_idx').on(t.validTo)],
);
