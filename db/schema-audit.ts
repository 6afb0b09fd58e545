// Tables of the audit hash chain: the chain head (one row, locked per append) and the signed checkpoints.
import { bigint, bigserial, index, pgTable, smallint, text, timestamp } from 'drizzle-orm/pg-core';

export const auditChainHead = pgTable('audit_chain_head', {
  id: smallint('id').primaryKey(),
  seq: bigint('seq', { mode: 'number' }).notNull(),
  hash: text('hash').notNull(),
  baseSeq: bigint('base_seq', { mode: 'number' }).notNull(),
  baseHash: text('base_hash').notNull(),
});

export const auditCheckpoints = pgTable(
  'audit_checkpoints',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    chainSeq: bigint('chain_seq', { mode: 'number' }).notNull(),
    hash: text('hash').notNull(),
    time: timestamp('time', { withTimezone: true, mode: 'date' }).notNull(),
    signature: text('signature').notNull(),
    publicKey: text('public_key').notNull(),
  },
  (t) => [index('audit_checkpoints_chain_seq_idx').on(t.chainSeq)],
);
