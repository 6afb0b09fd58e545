// Secret canaries: known plaintexts, context values, grant tokens, data keys, the token PIN and the
// administrator's secret sent through every operation (valid and malformed), then the server's logs,
// every error body, every audit row and every database table searched for them, raw and encoded.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { CreateKeyCommand, DecryptCommand, EncryptCommand, GenerateDataKeyCommand, ReEncryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import postgres from 'postgres';
import { OPERATIONS } from '../../server/operations/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { ADMIN, startCoffer, type CofferProcess } from '../helpers/server.js';
import { raw, type RawResponse } from './raw.js';
import { Recorder } from './record.js';

const rec = new Recorder('secret canaries');
let db: TestDatabase | null;
let server: CofferProcess;
let kms: KMSClient;
const errorBodies: string[] = [];
/** name → the secret text (or bytes) that must never be seen. */
const canaries = new Map<string, Buffer>();

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startCoffer({ databaseUrl: db?.url, env: { COFFER_LOG_LEVEL: 'debug' } });
  kms = server.client();
  canaries.set('plaintext', Buffer.from(`CANARY-PLAINTEXT-${randomBytes(8).toString('hex')}`));
  canaries.set('context value', Buffer.from(`CANARY-CONTEXT-${randomBytes(8).toString('hex')}`));
  canaries.set('grant token', Buffer.from(`CANARY-GRANT-${randomBytes(8).toString('hex')}`));
  canaries.set('policy', Buffer.from(`CANARY-POLICY-${randomBytes(8).toString('hex')}`));
  canaries.set('PIN', Buffer.from(readFileSync(join(server.dataDir, 'pkcs11.pin'), 'utf8').trim()));
  canaries.set('SO PIN', Buffer.from(readFileSync(join(server.dataDir, 'pkcs11.so-pin'), 'utf8').trim()));
  canaries.set('admin secret', Buffer.from(ADMIN.secretAccessKey));
});

afterAll(async () => {
  rec.save();
  kms?.destroy();
  await server?.stop();
  await db?.drop();
});

/** The forms a secret could take in text: raw, base64, base64url, hex (bytea prints as hex). */
function forms(b: Buffer): string[] {
  const out = [b.toString('base64').replace(/=+$/, ''), b.toString('base64url'), b.toString('hex')];
  if (/^[\x20-\x7e]+$/.test(b.toString('latin1'))) out.push(b.toString('utf8'));
  return out.filter((f) => f.length >= 12);
}

function hits(text: string): string[] {
  const lower = text.toLowerCase();
  return [...canaries].filter(([, secret]) => forms(secret).some((f) => text.includes(f) || lower.includes(f.toLowerCase()))).map(([n]) => n);
}

function searchIn(where: string, text: string): void {
  const found = hits(text);
  for (const name of canaries.keys()) rec.check(!found.includes(name), `${name} found in ${where}`);
}

function keep(r: RawResponse): void {
  if (r.status !== 200) errorBodies.push(r.text);
}

/** A body for the operation with every sensitive member carrying a canary, in valid and broken shapes. */
function canaryBodies(schema: z.ZodType, keyId: string): Record<string, unknown>[] {
  const members = schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
  const c = (n: string) => canaries.get(n)!.toString();
  const b64 = (n: string) => canaries.get(n)!.toString('base64');
  const bodies: Record<string, unknown>[] = [];
  const base: Record<string, unknown> = {};
  for (const m of members) {
    if (/KeyId$/.test(m)) base[m] = keyId;
    if (m === 'Plaintext') base[m] = b64('plaintext');
    if (m === 'CiphertextBlob') base[m] = b64('PIN');
    if (/EncryptionContext$/.test(m)) base[m] = { tenant: c('context value') };
    if (m === 'GrantTokens') base[m] = [c('grant token')];
  }
  bodies.push(base);
  const broken: Record<string, unknown> = {};
  for (const m of members) {
    if (m === 'Plaintext') broken[m] = c('PIN'); // not base64
    if (m === 'CiphertextBlob') broken[m] = [c('plaintext')]; // wrong type
    if (/EncryptionContext$/.test(m)) broken[m] = { tenant: [c('context value')], [c('PIN').slice(0, 0) + 'k']: 7 };
    if (m === 'GrantTokens') broken[m] = Array.from({ length: 11 }, () => c('grant token'));
    if (m === 'Policy') broken[m] = { policy: c('policy') };
  }
  bodies.push(broken);
  const oversized: Record<string, unknown> = { ...base };
  for (const m of members) if (m === 'Plaintext') oversized[m] = Buffer.from(c('plaintext').repeat(300)).toString('base64');
  bodies.push(oversized);
  return bodies;
}

describe('secret canaries', () => {
  it('the search finds each canary in each form it looks for (so a miss means absent)', () => {
    for (const [name, secret] of canaries) {
      for (const f of forms(secret)) expect(hits(`{"x":"..${f}.."}`)).toContain(name);
      expect(hits(`\\x${secret.toString('hex')}`)).toContain(name); // bytea as Postgres prints it
    }
  });

  it('go through every operation and are found nowhere', async () => {
    const key = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!;
    // Valid uses: plaintext and context values in, data keys out.
    const enc = await kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: canaries.get('plaintext'), EncryptionContext: { tenant: canaries.get('context value')!.toString() } }));
    await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { tenant: canaries.get('context value')!.toString() } }));
    await kms.send(new ReEncryptCommand({ CiphertextBlob: enc.CiphertextBlob, SourceEncryptionContext: { tenant: canaries.get('context value')!.toString() }, DestinationKeyId: key.KeyId }));
    for (let i = 0; i < 3; i++) {
      const dk = await kms.send(new GenerateDataKeyCommand({ KeyId: key.KeyId, KeySpec: 'AES_256' }));
      canaries.set(`data key ${i}`, Buffer.from(dk.Plaintext!));
    }
    for (const [target, op] of Object.entries(OPERATIONS)) {
      for (const body of canaryBodies(op.schema, key.KeyId!)) keep(await raw(server.url, { target, body: JSON.stringify(body) }));
      // Malformed JSON around a secret.
      keep(await raw(server.url, { target, body: `{"Plaintext": "${canaries.get('PIN')}", "KeyId": ` }));
      keep(await raw(server.url, { target, body: `{"EncryptionContext": {"a": "${canaries.get('context value')}"}}}` }));
    }
    // Secrets in the authentication: a wrong secret that is the PIN, the PIN as a session token, as a target.
    keep(await raw(server.url, { target: 'TrentService.ListKeys', credentials: { accessKeyId: ADMIN.accessKeyId, secretAccessKey: canaries.get('PIN')!.toString() } }));
    keep(await raw(server.url, { target: 'TrentService.ListKeys', headers: { 'x-amz-security-token': canaries.get('PIN')!.toString() } }));
    keep(await raw(server.url, { target: 'TrentService.ListKeys', sign: false, headers: { authorization: `AWS4-HMAC-SHA256 Credential=${ADMIN.accessKeyId}/x, Signature=${canaries.get('admin secret')}` } }));
    expect(errorBodies.length).toBeGreaterThan(50);
    for (const body of errorBodies) searchIn('an error body', body);
    searchIn('the server log', server.logs());
  });

  it('are in no audit row and no database table', async () => {
    if (!db?.url) {
      rec.note('no Postgres: database tables not searched');
      return;
    }
    const sql = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      const tables = await sql<{ s: string; t: string }[]>`
        select table_schema as s, table_name as t from information_schema.tables
        where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema')`;
      expect(tables.map((t) => t.t)).toContain('audit_events');
      let rows = 0;
      for (const { s, t } of tables) {
        const dump = await sql.unsafe(`select t::text as row from "${s}"."${t}" t`);
        rows += dump.length;
        searchIn(`table ${s}.${t}`, dump.map((r) => r.row as string).join('\n'));
      }
      rec.note(`searched ${tables.length} tables, ${rows} rows, ${errorBodies.length} error bodies, ${canaries.size} canaries in raw, base64, base64url and hex forms`);
    } finally {
      await sql.end();
    }
    expect(rec.counts.failures).toBe(0);
  });
});
