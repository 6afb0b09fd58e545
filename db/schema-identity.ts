// Identity tables: accounts, users, inline user policies, key policies and grants.
import { index, jsonb, pgTable, primaryKey, text, uuid, varchar } from 'drizzle-orm/pg-core';
import { timestamp } from 'drizzle-orm/pg-core';
import type { GrantConstraints } from '../core/identity-model.js';
import { keys } from './schema.js';

const tstz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const accounts = pgTable('accounts', {
  accountId: varchar('account_id', { length: 12 }).primaryKey(),
  name: text('name').notNull(),
  createdAt: tstz('created_at').notNull(),
});

export const users = pgTable(
  'users',
  {
    accountId: varchar('account_id', { length: 12 }).notNull(),
    userName: text('user_name').notNull(),
    userId: text('user_id').notNull().unique('users_user_id_unique'),
    createdAt: tstz('created_at').notNull(),
  },
  (t) => [primaryKey({ name: 'users_pk', columns: [t.accountId, t.userName] })],
);

/** A user's tags (TagUser): aws:PrincipalTag/<key> in the user's requests. */
export const userTags = pgTable(
  'user_tags',
  {
    accountId: varchar('account_id', { length: 12 }).notNull(),
    userName: text('user_name').notNull(),
    tagKey: text('tag_key').notNull(),
    tagValue: text('tag_value').notNull(),
  },
  (t) => [primaryKey({ name: 'user_tags_pk', columns: [t.accountId, t.userName, t.tagKey] })],
);

export const userPolicies = pgTable(
  'user_policies',
  {
    accountId: varchar('account_id', { length: 12 }).notNull(),
    userName: text('user_name').notNull(),
    policyName: text('policy_name').notNull(),
    document: text('document').notNull(),
  },
  (t) => [primaryKey({ name: 'user_policies_pk', columns: [t.accountId, t.userName, t.policyName] })],
);

export const keyPolicies = pgTable('key_policies', {
  keyId: uuid('key_id')
    .primaryKey()
    .references(() => keys.id, { onDelete: 'cascade' }),
  document: text('document').notNull(),
});

export const grants = pgTable(
  'grants',
  {
    grantId: text('grant_id').primaryKey(),
    keyId: uuid('key_id')
      .notNull()
      .references(() => keys.id, { onDelete: 'cascade' }),
    keyAccountId: varchar('key_account_id', { length: 12 }).notNull(),
    name: text('name'),
    granteePrincipal: text('grantee_principal').notNull(),
    retiringPrincipal: text('retiring_principal'),
    operations: jsonb('operations').$type<string[]>().notNull(),
    constraints: jsonb('constraints').$type<GrantConstraints>(),
    issuingAccount: varchar('issuing_account', { length: 12 }).notNull(),
    token: text('token').notNull().unique('grants_token_unique'),
    createdAt: tstz('created_at').notNull(),
  },
  (t) => [index('grants_key_id_idx').on(t.keyId, t.granteePrincipal), index('grants_retiring_idx').on(t.retiringPrincipal)],
);
