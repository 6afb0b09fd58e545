// Two server processes sharing one Postgres database and one SoftHSM token directory (one data directory):
// each sees the keys, aliases and states the other writes, and the deletion job on both destroys a due key once.
import { rmSync } from 'node:fs';
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  EncryptCommand,
  ScheduleKeyDeletionCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../helpers/database.js';
import { failure, startCoffer, tempDataDir, type CofferProcess } from '../helpers/server.js';

// PGlite lives inside one process, so two servers can share only a real Postgres.
const db = await createTestDatabase({ allowPglite: false });
const SKIP_REASON = 'skipped: no Postgres server answers (TEST_DATABASE_URL, 127.0.0.1:5432, Docker); PGlite cannot be shared by two processes';
if (!db) console.warn(`two-instances e2e ${SKIP_REASON}`);

// Reads by requests that change nothing are cached per instance for at most this long after another instance's
// change (README, COFFER_METADATA_CACHE_MS): an assertion on B about a change made through A waits for it first.
const METADATA_CACHE_MS = 1000;
const ENV = { COFFER_DELETION_JOB_INTERVAL_SECONDS: '1', COFFER_METADATA_CACHE_MS: String(METADATA_CACHE_MS) };
const cacheBound = () => new Promise((r) => setTimeout(r, METADATA_CACHE_MS + 100));
const enc = new TextEncoder();

let a: CofferProcess | undefined;
let b: CofferProcess | undefined;
let kmsA: KMSClient;
let kmsB: KMSClient;
let sql: postgres.Sql | undefined;
let dataDir: string | undefined;

async function createKey(kms: KMSClient, description: string): Promise<{ id: string; arn: string }> {
  const out = await kms.send(new CreateKeyCommand({ Description: description }));
  const id = out.KeyMetadata?.KeyId;
  const arn = out.KeyMetadata?.Arn;
  if (!id || !arn) throw new Error(`CreateKey returned no key id: ${JSON.stringify(out)}`);
  return { id, arn };
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe.skipIf(!db)(db ? 'two instances on one database and one token' : `two instances (${SKIP_REASON})`, () => {
  beforeAll(async () => {
    const url = db?.url as string;
    dataDir = tempDataDir('coffer-e2e-two-');
    // A first: it creates the development token, its PIN files and migrates the database; B reuses all of them.
    a = await startCoffer({ dataDir, databaseUrl: url, env: ENV });
    b = await startCoffer({ dataDir, databaseUrl: url, env: ENV });
    kmsA = a.client();
    kmsB = b.client();
    sql = postgres(url, { max: 2, onnotice: () => {} });
  });

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await sql?.end({ timeout: 5 });
    await db?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('a key created through one is described, used and scheduled for deletion through the other', async () => {
    const key = await createKey(kmsA, 'made by A');

    const described = await kmsB.send(new DescribeKeyCommand({ KeyId: key.id }));
    expect(described.KeyMetadata).toMatchObject({ KeyId: key.id, Arn: key.arn, Description: 'made by A', KeyState: 'Enabled' });

    const plaintext = enc.encode('written by B, read by A');
    const EncryptionContext = { instance: 'B' };
    const encrypted = await kmsB.send(new EncryptCommand({ KeyId: key.id, Plaintext: plaintext, EncryptionContext }));
    expect(encrypted.KeyId).toBe(key.arn);
    const decrypted = await kmsA.send(new DecryptCommand({ CiphertextBlob: encrypted.CiphertextBlob, EncryptionContext }));
    expect(decrypted.KeyId).toBe(key.arn);
    expect(Buffer.from(decrypted.Plaintext ?? new Uint8Array()).equals(Buffer.from(plaintext))).toBe(true);

    const alias = `alias/two-instances-${key.id.slice(0, 8)}`;
    await kmsB.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: key.id }));
    const viaAlias = await kmsA.send(new DescribeKeyCommand({ KeyId: alias }));
    expect(viaAlias.KeyMetadata?.KeyId).toBe(key.id);
    const aliasEncrypted = await kmsA.send(new EncryptCommand({ KeyId: alias, Plaintext: plaintext }));
    expect(aliasEncrypted.KeyId).toBe(key.arn);
    const aliasDecrypted = await kmsB.send(new DecryptCommand({ CiphertextBlob: aliasEncrypted.CiphertextBlob }));
    expect(Buffer.from(aliasDecrypted.Plaintext ?? new Uint8Array()).equals(Buffer.from(plaintext))).toBe(true);

    const scheduled = await kmsA.send(new ScheduleKeyDeletionCommand({ KeyId: key.id, PendingWindowInDays: 7 }));
    expect(scheduled.KeyState).toBe('PendingDeletion');
    await cacheBound();
    const pending = await kmsB.send(new DescribeKeyCommand({ KeyId: key.id }));
    expect(pending.KeyMetadata?.KeyState).toBe('PendingDeletion');
    expect(pending.KeyMetadata?.DeletionDate?.getTime()).toBe(scheduled.DeletionDate?.getTime());
    const refused = await failure(kmsB.send(new EncryptCommand({ KeyId: key.id, Plaintext: plaintext })));
    expect(refused.name).toBe('KMSInvalidStateException');
  });

  it('a key disabled through one stops Encrypt through the other within the documented cache bound, and enabling resumes it', async () => {
    const key = await createKey(kmsA, 'disabled by A');
    const plaintext = enc.encode('cached on B');
    // B has read the key (and its policy) just now: both sit in its cache.
    await kmsB.send(new EncryptCommand({ KeyId: key.id, Plaintext: plaintext }));
    await kmsA.send(new DisableKeyCommand({ KeyId: key.id }));
    expect((await failure(kmsA.send(new EncryptCommand({ KeyId: key.id, Plaintext: plaintext })))).name).toBe('DisabledException');
    await cacheBound();
    expect((await failure(kmsB.send(new EncryptCommand({ KeyId: key.id, Plaintext: plaintext })))).name).toBe('DisabledException');
    await kmsA.send(new EnableKeyCommand({ KeyId: key.id }));
    await cacheBound();
    const again = await kmsB.send(new EncryptCommand({ KeyId: key.id, Plaintext: plaintext }));
    expect(again.KeyId).toBe(key.arn);
  });

  it('the deletion job of both instances destroys each due key exactly once', async () => {
    const db = sql as postgres.Sql;
    // Several keys due at the same moment, scheduled through both, so both jobs compete for them.
    const due = await Promise.all(Array.from({ length: 6 }, (_, i) => createKey(i % 2 ? kmsA : kmsB, `due ${i}`)));
    for (const [i, key] of due.entries()) {
      await (i % 2 ? kmsB : kmsA).send(new ScheduleKeyDeletionCommand({ KeyId: key.id, PendingWindowInDays: 7 }));
    }
    // A key still in its waiting period must survive the jobs.
    const waiting = await createKey(kmsA, 'still waiting');
    await kmsB.send(new ScheduleKeyDeletionCommand({ KeyId: waiting.id, PendingWindowInDays: 7 }));

    const ids = due.map((k) => k.id);
    const updated = await db`UPDATE keys SET deletion_date = now() - interval '1 minute' WHERE id = ANY(${ids}::uuid[])`;
    expect(updated.count).toBe(due.length);

    for (const key of due) {
      await until(`${key.id} to be gone through both instances`, async () => {
        const [fromA, fromB] = await Promise.all([
          failure(kmsA.send(new DescribeKeyCommand({ KeyId: key.id }))).catch(() => null),
          failure(kmsB.send(new DescribeKeyCommand({ KeyId: key.id }))).catch(() => null),
        ]);
        return fromA?.name === 'NotFoundException' && fromB?.name === 'NotFoundException';
      });
    }

    for (const key of due) {
      const [row] = await db`SELECT count(*)::int AS n FROM audit_events WHERE operation = 'DeleteKey' AND key_arn = ${key.arn}`;
      expect(row?.n, `DeleteKey audit rows for ${key.arn}`).toBe(1);
    }
    const left = await db`SELECT count(*)::int AS n FROM keys WHERE id = ANY(${ids}::uuid[])`;
    expect(left[0]?.n).toBe(0);

    // Give the jobs a few more runs: nothing is deleted twice, and the waiting key is untouched.
    await new Promise((r) => setTimeout(r, 2_500));
    const [total] = await db`SELECT count(*)::int AS n FROM audit_events WHERE operation = 'DeleteKey' AND key_arn = ANY(${due.map((k) => k.arn)})`;
    expect(total?.n).toBe(due.length);
    for (const kms of [kmsA, kmsB]) {
      const still = await kms.send(new DescribeKeyCommand({ KeyId: waiting.id }));
      expect(still.KeyMetadata?.KeyState).toBe('PendingDeletion');
    }
    // Both processes are still healthy after the jobs ran.
    for (const server of [a, b]) {
      const health = await fetch(`${server?.url}/healthz`);
      expect(health.status).toBe(200);
    }
  });
});
