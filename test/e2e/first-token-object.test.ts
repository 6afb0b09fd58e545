// A fresh token's first object (the credential key) is created under the token-writes lock that every process on the
// token and database takes for token writes. SoftHSM's file store cannot have two processes create objects at the
// same moment (one may never see the other's), so two instances starting together on a fresh token, each creating
// its own credential key, would fail to unseal the access keys the other sealed.
import postgres from 'postgres';
import { afterAll, expect, it } from 'vitest';
import { TOKEN_LOCK_CLASS } from '../../db/job-lock.js';
import { ensureDevToken } from '../../hsm/index.js';
import { acquireModule, ck, findObjects, findSlot, releaseModule } from '../../hsm/module.js';
import { findCredentialKeyTemplate } from '../../hsm/templates.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { startCoffer, tempDataDir, type CofferProcess } from '../helpers/server.js';

let db: TestDatabase | null = null;
let server: CofferProcess | null = null;
afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

it('waits for the token-writes lock before creating a fresh token’s credential key', async () => {
  db = await createTestDatabase({ allowPglite: false });
  if (!db?.url) return expect.fail('this test needs a Postgres server');
  const dataDir = tempDataDir('coffer-first-object-');
  const token = await ensureDevToken({ dataDir, label: 'coffer-dev' });
  const credentialKeys = (): number => {
    const lib = acquireModule(token.modulePath);
    try {
      const s = lib.C_OpenSession(findSlot(lib, token.tokenLabel), ck.CKF_RW_SESSION | ck.CKF_SERIAL_SESSION);
      lib.C_Login(s, ck.CKU_USER, token.pin);
      try {
        return findObjects(lib, s, findCredentialKeyTemplate()).length;
      } finally {
        lib.C_CloseSession(s);
      }
    } finally {
      releaseModule(token.modulePath);
    }
  };

  const holder = postgres(db.url, { max: 1, onnotice: () => {} });
  try {
    await holder`select pg_advisory_lock(${TOKEN_LOCK_CLASS}::int, hashtext('token-writes'))`;
    const starting = startCoffer({ dataDir, databaseUrl: db.url });
    let failed: unknown = null;
    starting.catch((e: unknown) => (failed = e ?? new Error('the server failed to start')));
    // The server has opened the database and waits for the lock (its self-test and migrations are behind it).
    const waiting = async () => {
      const [{ n }] = (await holder`select count(*)::int as n from pg_locks
        where locktype = 'advisory' and not granted and classid::bigint = ${TOKEN_LOCK_CLASS}
          and database = (select oid from pg_database where datname = current_database())`) as unknown as [{ n: number }];
      return n > 0;
    };
    const deadline = Date.now() + 60_000;
    while (!(await waiting())) {
      if (failed !== null) throw failed;
      if (Date.now() > deadline) return expect.fail('the server never waited for the token-writes lock');
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(credentialKeys()).toBe(0);

    await holder`select pg_advisory_unlock(${TOKEN_LOCK_CLASS}::int, hashtext('token-writes'))`;
    server = await starting;
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    expect(credentialKeys()).toBe(1);
  } finally {
    await holder.end();
  }
}, 120_000);
