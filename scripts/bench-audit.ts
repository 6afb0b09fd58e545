// Measures the cost of the audit hash chain: audited no-op requests per second with the chain (head row locked per
// append) against plain audit inserts without it, on local Postgres. Usage: npx tsx scripts/bench-audit.ts [N] [CONCURRENCY]
import { randomBytes, randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { ownerOnlyAuthorizer } from '../core/authorization.js';
import { eventIdsFrom } from '../core/event-id.js';
import { systemClock } from '../core/ports.js';
import { audited } from '../core/services/audited.js';
import type { RequestContext, ServiceDeps } from '../core/services/context.js';
import { DrizzleUnitOfWork } from '../db/index.js';
import type { Hsm } from '../core/ports.js';

const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const N = Number(process.argv[2] ?? 2000);
const CONCURRENCY = Number(process.argv[3] ?? 50);

const ctx = (): RequestContext => ({
  requestId: randomUUID(), operation: 'Encrypt', sourceIp: '127.0.0.1', userAgent: 'bench', requestParameters: { keyId: 'alias/bench' },
  caller: { arn: 'arn:aws:iam::111122223333:user/admin', accountId: '111122223333', userName: 'admin', accessKeyId: 'AKIAIOSFODNN7EXAMPLE' },
  audit: { recorded: false },
});

async function rate(label: string, one: () => Promise<unknown>): Promise<void> {
  let next = 0;
  const start = process.hrtime.bigint();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < N) {
      next += 1;
      await one();
    }
  }));
  const s = Number(process.hrtime.bigint() - start) / 1e9;
  process.stdout.write(`${label}: ${N} events, concurrency ${CONCURRENCY}: ${(N / s).toFixed(0)} events/s\n`);
}

const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
const name = `coffer_bench_${randomUUID().slice(0, 8)}`;
await admin.unsafe(`create database ${name}`);
const url = new URL(ADMIN_URL);
url.pathname = `/${name}`;
const uow = await DrizzleUnitOfWork.open({ url: url.toString() });
try {
  const deps: ServiceDeps = { uow, hsm: {} as Hsm, clock: systemClock, authorizer: ownerOnlyAuthorizer, region: 'us-east-1', newId: randomUUID, newEventId: eventIdsFrom(randomBytes) };
  const c = ctx();
  const direct = postgres(url.toString(), { max: 10, onnotice: () => {} });
  const plain = async () => {
    await direct.begin(async (tx) => {
      await tx`insert into audit_events (id, time, request_id, operation, caller_arn, outcome, encryption_context_keys)
        values (${randomUUID()}, now(), ${c.requestId}, 'Encrypt', ${c.caller.arn}, 'Success', '[]')`;
    });
  };
  await rate('warm-up (chained)', () => audited(deps, ctx(), async () => null));
  await rate('plain insert, no chain', plain);
  await rate('chained (head row FOR UPDATE)', () => audited(deps, ctx(), async () => null));
  await direct.end();
} finally {
  await uow.close();
  await admin.unsafe(`drop database ${name} with (force)`);
  await admin.end();
}
