// The generic job runner's cluster-wide lock: two "instances" (two database handles) running a racy read-modify-write
// job at the same moment never overlap, so no update is lost; PGlite excludes within its one process.
import { afterAll, expect, it } from 'vitest';
import { DrizzleUnitOfWork } from '../../db/index.js';
import { createLogger } from '../../server/log.js';
import { startJob, type Job } from '../../server/jobs.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import postgres from 'postgres';

const log = createLogger('silent');
const cleanup: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it('runs an exclusive job in one instance at a time across two Postgres connections pools', async () => {
  const db: TestDatabase | null = await createTestDatabase({ allowPglite: false });
  if (!db?.url) return expect.fail('this test needs a Postgres server');
  cleanup.push(() => db.drop());
  const direct = postgres(db.url, { max: 1, onnotice: () => {} });
  cleanup.push(() => direct.end());
  const [one, two] = [await DrizzleUnitOfWork.open({ url: db.url }), await DrizzleUnitOfWork.open({ url: db.url })];
  cleanup.push(() => one.close(), () => two.close());
  await direct`create table job_counter (n int not null)`;
  await direct`insert into job_counter values (0)`;

  let ran = 0;
  let skipped = 0;
  const jobOn = (uow: DrizzleUnitOfWork): Job =>
    startJob(
      {
        name: 'test-counter',
        intervalMs: 3_600_000,
        exclusive: uow,
        // Racy on purpose: without the lock two runs read the same n and one increment is lost.
        run: async () => {
          const [{ n }] = (await direct`select n from job_counter`) as unknown as [{ n: number }];
          await sleep(30);
          await direct`update job_counter set n = ${n + 1}`;
          return 1;
        },
        onRun: (o) => (o.ran ? ran++ : skipped++),
      },
      log,
    );
  const [a, b] = [jobOn(one), jobOn(two)];
  cleanup.push(() => a.stop(), () => b.stop());
  for (let i = 0; i < 10; i++) await Promise.all([a.runNow(), b.runNow()]);

  const [{ n }] = (await direct`select n from job_counter`) as unknown as [{ n: number }];
  expect(ran + skipped).toBe(20);
  expect(skipped).toBeGreaterThan(0); // the two did collide, and one stood aside
  expect(n).toBe(ran);
  // The lock is released after each run: a lone run afterwards takes it.
  const before = ran;
  await a.runNow();
  expect(ran).toBe(before + 1);
});

it('excludes a second concurrent run of the same job name on PGlite', async () => {
  const uow = await DrizzleUnitOfWork.open({});
  cleanup.push(() => uow.close());
  let release: () => void = () => {};
  const first = uow.tryExclusive('x', () => new Promise<number>((r) => (release = () => r(1))));
  expect(await uow.tryExclusive('x', async () => 2)).toEqual({ ran: false });
  expect(await uow.tryExclusive('y', async () => 3)).toEqual({ ran: true, value: 3 });
  release();
  expect(await first).toEqual({ ran: true, value: 1 });
  expect(await uow.tryExclusive('x', async () => 4)).toEqual({ ran: true, value: 4 });
});
