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
  await a.changes.announce();
  await b.changes.announce();
  await until(() => heard.a > 0 && heard.b > 0);
  expect(heard.a).toBe(1);
  expect(heard.b).toBeGreaterThanOrEqual(1);
});
