// Graceful shutdown: SIGTERM during a burst of requests; every answered request has its audit row and the exit code is 0.
import { CreateKeyCommand, EncryptCommand } from '@aws-sdk/client-kms';
import postgres from 'postgres';
import { afterAll, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { startCoffer } from '../helpers/server.js';

let db: TestDatabase | null = null;
afterAll(async () => {
  await db?.drop();
});

interface Outcome {
  answered: boolean;
  requestId: string | undefined;
  status: number | undefined;
}

async function outcome(p: Promise<{ $metadata: { requestId?: string; httpStatusCode?: number } }>): Promise<Outcome> {
  try {
    const r = await p;
    return { answered: true, requestId: r.$metadata.requestId, status: r.$metadata.httpStatusCode };
  } catch (e) {
    const meta = (e as { $metadata?: { requestId?: string; httpStatusCode?: number } }).$metadata;
    // An answered error carries the server's request id; a refused connection has none.
    return { answered: meta?.httpStatusCode !== undefined, requestId: meta?.requestId, status: meta?.httpStatusCode };
  }
}

it('finishes in-flight requests with their audit rows and exits 0 on SIGTERM during a burst', async () => {
  db = await createTestDatabase({ allowPglite: false });
  if (!db?.url) return expect.fail('this test needs a Postgres server');
  const server = await startCoffer({ databaseUrl: db.url, env: { COFFER_SHUTDOWN_TIMEOUT_SECONDS: '20' } });
  const kms = server.client();
  const key = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!;
  let answered = 0;
  let signalled: Promise<number | null> | null = null;
  const burst = Array.from({ length: 300 }, () =>
    outcome(kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: new Uint8Array(32) }))).then((o) => {
      if (o.answered && ++answered === 40) signalled = server.stop();
      return o;
    }),
  );
  const results = await Promise.all(burst);
  const exitCode = await (signalled ?? server.stop());
  kms.destroy();

  expect(exitCode).toBe(0);
  expect(server.logs()).toContain('"msg":"shut down cleanly"');
  const done = results.filter((r) => r.answered);
  // Some requests were answered after the signal, some were refused: the burst straddled the shutdown.
  expect(done.length).toBeGreaterThanOrEqual(40);
  expect(done.length).toBeLessThan(results.length);
  expect(done.every((r) => r.status === 200)).toBe(true);
  const ids = done.map((r) => r.requestId as string);
  expect(ids.every((id) => typeof id === 'string' && id.length > 0)).toBe(true);
  const sql = postgres(db.url, { max: 1, onnotice: () => {} });
  try {
    const rows = await sql`select request_id from audit_events where request_id = any(${ids})`;
    expect(new Set(rows.map((r) => r.request_id as string))).toEqual(new Set(ids));
  } finally {
    await sql.end();
  }
}, 120_000);
