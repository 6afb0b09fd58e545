// The change feed over real Postgres LISTEN/NOTIFY: a change announced by one instance reaches another's listener,
// and an instance does not hear its own notices.
import { afterAll, expect, it } from 'vitest';
import { DrizzleUnitOfWork } from '../../db/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

let db: TestDatabase | null = null;
const uows: DrizzleUnitOfWork[] = [];
afterAll(async () => {
  for (const u of uows) await u.close();
  await db?.drop();
});

async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 20));
}

it('a change announced through one instance reaches the other, and neither hears its own', async () => {
  db = await createTestDatabase({ allowPglite: false });
  if (!db?.url) throw new Error('this test needs Postgres (the local server or TEST_DATABASE_URL)');
  const a = await DrizzleUnitOfWork.open({ url: db.url });
  const b = await DrizzleUnitOfWork.open({ url: db.url });
  uows.push(a, b);
  const heard = { a: 0, b: 0 };
  await a.changes.listen(() => (heard.a += 1));
  await b.changes.listen(() => (heard.b += 1));
  heard.a = 0; // listening also reports the (re)connect, when notices may have been missed
  heard.b = 0;
  // Postgres delivers notices in commit order, so A's listener gets A's own notice before B's.
  await a.changes.announce(null);
  await b.changes.announce(null);
  await until(() => heard.a > 0 && heard.b > 0);
  expect(heard.a).toBe(1);
  expect(heard.b).toBeGreaterThanOrEqual(1);
});

it('scopes travel with a notice; a notice sent in a transaction arrives only if it commits; probes come back to their sender only', async () => {
  if (!db?.url) throw new Error('this test needs Postgres');
  const a = await DrizzleUnitOfWork.open({ url: db.url });
  const b = await DrizzleUnitOfWork.open({ url: db.url });
  uows.push(a, b);
  const heard: (string[] | null)[] = [];
  const probes = { a: [] as number[], b: [] as number[] };
  await b.changes.listen((s) => heard.push(s), (t) => probes.b.push(t));
  await a.changes.listen(() => undefined, (t) => probes.a.push(t));
  heard.length = 0;
  await a.transaction(async () => {
    await a.changes.announce(['rolled back']);
    throw new Error('roll back');
  }).catch(() => undefined);
  await a.transaction(async () => {
    await a.changes.announce(['key\u0000k1']);
  });
  await a.changes.probe(42);
  await until(() => probes.a.length > 0);
  // The probe was sent after both transactions ended, and notices arrive in commit order.
  await until(() => heard.length > 0);
  expect(heard).toEqual([['key\u0000k1']]);
  expect(probes.a).toEqual([42]);
  expect(probes.b).toEqual([]);
});
