// The wrapping key pairs GetParametersForImport puts in the token, so each is destroyed once its import token is used or expires.
import { customType, foreignKey, index, pgTable, timestamp, uuid, varchar } from 'drizzle-orm/pg-core';

/** bytea as Uint8Array (as in schema.ts; not imported from it, which would be a cycle through its re-export). */
const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({
  dataType: () => 'bytea',
  toDriver: (value) => Buffer.from(value.buffer, value.byteOffset, value.byteLength),
  fromDriver: (value) => new Uint8Array(value),
});

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

/**
 * COFFER_KEY_STORE=wrapped: every domain key a blob may name, registered before the key is made in the token. A
 * domain key is destroyed only after its row is deleted, which the foreign key below refuses while any blob names
 * it, and makes wait for a transaction still inserting one: no blob can outlive its domain key (hsm/wrapped-keys.ts).
 */
export const domainKeys = pgTable('domain_keys', {
  id: bytea('id').primaryKey(),
  createdAt: tstz('created_at').notNull().defaultNow(),
});

/**
 * COFFER_KEY_STORE=wrapped: each key version's material wrapped (AES-KWP) under a token-resident domain key
 * (hsm/wrapped-keys.ts makes and reads the blob; it names its domain key itself, the column is there so that a
 * domain-key rotation can find the blobs still under an old key). No foreign key to key_versions: the material is
 * made before the version row is inserted (in the same transaction), and it is destroyed explicitly.
 */
export const wrappedKeyMaterial = pgTable(
  'wrapped_key_material',
  {
    versionId: uuid('version_id').primaryKey(),
    domainKeyId: bytea('domain_key_id').notNull(),
    blob: bytea('blob').notNull(),
    createdAt: tstz('created_at').notNull().defaultNow(),
  },
  (t) => [
    index('wrapped_key_material_domain_key_idx').on(t.domainKeyId),
    foreignKey({ name: 'wrapped_key_material_domain_key_fk', columns: [t.domainKeyId], foreignColumns: [domainKeys.id] }),
  ],
);
