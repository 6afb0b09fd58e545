// End-to-end: per-account request-rate quotas answer ThrottlingException through the AWS SDK (no retries).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateKeyCommand, DescribeKeyCommand, EncryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import { THROTTLING_MESSAGE } from '../../server/quotas.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { startCoffer, type CofferProcess } from '../helpers/server.js';

let db: TestDatabase | null;
let server: CofferProcess;
let kms: KMSClient;

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startCoffer({ databaseUrl: db?.url, env: { COFFER_QUOTA_SYMMETRIC_RPS: '5' } });
  kms = server.client();
});

afterAll(async () => {
  kms?.destroy();
  await server?.stop();
  await db?.drop();
});

type Outcome = { ok: true } | { ok: false; name: string; message: string; status: number | undefined };

async function outcome(p: Promise<unknown>): Promise<Outcome> {
  try {
    await p;
    return { ok: true };
  } catch (e) {
    const err = e as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { ok: false, name: err.name, message: err.message, status: err.$metadata?.httpStatusCode };
  }
}

describe('request-rate quotas', () => {
  it('throttles symmetric cryptographic requests beyond the account quota with ThrottlingException (400)', async () => {
    const key = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!;
    // 60 requests at once against 5 per second with a bucket of 5: most must be throttled, the first few pass.
    const results = await Promise.all(
      Array.from({ length: 60 }, () => outcome(kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: new Uint8Array([1, 2, 3]) })))),
    );
    const throttled = results.filter((r) => !r.ok);
    expect(results.some((r) => r.ok)).toBe(true);
    expect(throttled.length).toBeGreaterThan(0);
    for (const r of throttled) expect(r).toEqual({ ok: false, name: 'ThrottlingException', message: THROTTLING_MESSAGE, status: 400 });
    expect(throttled.length).toBeLessThan(60);
  });

  it('counts management operations apart from cryptographic ones', async () => {
    const key = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!;
    await Promise.all(Array.from({ length: 20 }, () => outcome(kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: new Uint8Array([1]) })))));
    // The symmetric bucket is empty now; DescribeKey draws on the management quota (1,000/s by default).
    const described = await Promise.all(Array.from({ length: 10 }, () => outcome(kms.send(new DescribeKeyCommand({ KeyId: key.KeyId })))));
    expect(described.every((r) => r.ok)).toBe(true);
  });
});
