// The audit migrations on embedded PGlite: the chain works, the append-only trigger refuses UPDATE and DELETE,
// and the role statements (guarded by a DO block) neither fail the migration nor are required.
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { openDatabase, migrate } from '../../db/index.js';
import { DrizzleUnitOfWork } from '../../db/index.js';
import { GENESIS_HASH } from '../../core/audit-chain.js';
import { verifyChain } from '../../sdk/audit/verify.js';
import { appendEvents } from '../helpers/audit.js';
import { ownerOnlyAuthorizer } from '../../core/authorization.js';
import { eventIdsFrom } from '../../core/event-id.js';
import { systemClock, type Hsm } from '../../core/ports.js';
import { randomBytes, randomUUID } from 'node:crypto';

describe('audit on PGlite', () => {
  it('chains events, verifies, and refuses UPDATE and DELETE of audit rows', async () => {
    const database = await openDatabase({});
    await migrate(database);
    const uow = new DrizzleUnitOfWork(database);
    try {
      await appendEvents({ uow, hsm: {} as Hsm, clock: systemClock, authorizer: ownerOnlyAuthorizer, region: 'us-east-1', newId: randomUUID, newEventId: eventIdsFrom(randomBytes) }, 5, 3);
      const chain = await uow.repos.audit.chain(0, 100);
      expect(chain.map((e) => e.chainSeq)).toEqual([1, 2, 3, 4, 5]);
      expect(await verifyChain(chain, [], { base: { seq: 0, hash: GENESIS_HASH } })).toMatchObject({ ok: true, events: 5 });
      await expect(database.db.execute(sql`update audit_events set operation = 'x'`)).rejects.toThrow();
      await expect(database.db.execute(sql`delete from audit_events`)).rejects.toThrow();
      expect((await uow.repos.audit.chain(0, 100)).length).toBe(5);
    } finally {
      await uow.close();
    }
  });
});
