// The repositories and unit of work, with the same assertions over real Postgres and in-memory PGlite.
import { randomUUID } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../core/audit.js';
import { KmsError } from '../../core/errors.js';
import { ensureAccount } from '../../core/services/credentials.js';
import type { AccessKey, Key, KeyVersion } from '../../core/model.js';
import { DrizzleUnitOfWork, migrate, openDatabase, schema, type Database } from '../../db/index.js';
import { appendChained } from '../../db/repos/audit.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

const pgTarget = await createTestDatabase({ allowPglite: false });
if (!pgTarget) console.warn('[db-repos] No Postgres server answered: the postgres variant is SKIPPED (PGlite still runs).');
afterAll(() => pgTarget?.drop());

const accountId = () => String(100000000000 + Math.floor(Math.random() * 899999999999));

function newKey(account: string, over: Partial<Key> = {}): { key: Key; version: KeyVersion } {
  const id = randomUUID();
  const version: KeyVersion = { id: randomUUID(), keyId: id, version: 1, createdAt: new Date('2024-01-02T03:04:05.678Z') };
  const key: Key = {
    id,
    accountId: account,
    description: 'test key',
    keySpec: 'SYMMETRIC_DEFAULT',
    keyUsage: 'ENCRYPT_DECRYPT',
    origin: 'AWS_KMS',
    state: 'Enabled',
    createdAt: new Date('2024-01-02T03:04:05.678Z'),
    deletionDate: null,
    pendingWindowDays: null,
    currentVersionId: version.id,
    ...over,
  };
  return { key, version };
}

async function insertKey(uow: DrizzleUnitOfWork, account: string, over: Partial<Key> = {}): Promise<Key> {
  const { key, version } = newKey(account, over);
  await uow.repos.keys.insert(key, version);
  return key;
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => expect.fail('expected a rejection'),
    (e: unknown) => e,
  );
}

interface Variant {
  name: 'postgres' | 'pglite';
  target: TestDatabase | null;
  concurrent: boolean;
}

const variants: Variant[] = [
  { name: 'postgres', target: pgTarget, concurrent: true },
  { name: 'pglite', target: { kind: 'pglite', source: 'pglite', url: undefined, drop: async () => {} }, concurrent: false },
];

for (const variant of variants) {
  describe.skipIf(!variant.target)(`db repositories on ${variant.name}`, () => {
    let database: Database;
    let uow: DrizzleUnitOfWork;

    beforeAll(async () => {
      database = await openDatabase({ url: variant.target?.url });
      expect(database.kind).toBe(variant.name);
      await migrate(database);
      uow = new DrizzleUnitOfWork(database);
    });
    afterAll(() => uow?.close());

    defineKeyTests(() => uow, variant);
    defineDeletionTests(() => uow, variant);
    defineAliasAndTagTests(() => uow);
    defineAccessKeyAndAuditTests(() => uow, () => database);
    defineTransactionAndErrorTests(() => uow);
    defineWrappedKeyStoreTests(() => uow);
    if (variant.name === 'postgres') defineOverlappingTransactionTests(() => uow);
  });
}

/** The unit of work disables its AsyncLocalStorage when no transaction is open (db/unit-of-work.ts transaction()). */
function defineOverlappingTransactionTests(get: () => DrizzleUnitOfWork): void {
  it('a transaction still joins its writes after an overlapping one has ended, and nothing leaks outside either', async () => {
    const uow = get();
    const store = uow.wrappedKeys;
    const id = Buffer.alloc(16, 9);
    await store.registerDomainKey(id);
    const [inA, inB, after] = [randomUUID(), randomUUID(), randomUUID()];
    let bEnded!: () => void;
    const bDone = new Promise<void>((r) => (bEnded = r));
    const a = uow.transaction(async () => {
      await bDone; // B began and committed while A was open
      await store.insert(inA, id, Buffer.from('a'));
      throw new Error('roll back A');
    });
    await uow.transaction(() => store.insert(inB, id, Buffer.from('b')));
    bEnded();
    await rejection(a);
    expect(await store.get(inA)).toBeNull(); // A's write ran in A and rolled back with it
    expect(Buffer.from((await store.get(inB)) ?? [])).toEqual(Buffer.from('b'));
    await store.insert(after, id, Buffer.from('c')); // outside any transaction: commits by itself
    expect(Buffer.from((await store.get(after)) ?? [])).toEqual(Buffer.from('c'));
  });
}

function defineWrappedKeyStoreTests(get: () => DrizzleUnitOfWork): void {
  it('wrapped key material joins the transaction it is written in (no second connection: PGlite has one), and rolls back with it', async () => {
    const uow = get();
    const store = uow.wrappedKeys;
    const id = Buffer.alloc(16, 7);
    await store.registerDomainKey(id); // as the HSM adapter does before making a domain key
    const [kept, rolledBack] = [randomUUID(), randomUUID()];
    const heard: (string | null)[] = [];
    await store.watch((v) => heard.push(v));
    await uow.transaction(async () => {
      await store.insert(kept, id, Buffer.from('first'));
      await store.insert(kept, id, Buffer.from('second')); // a retried create keeps the first
    });
    await rejection(uow.transaction(async () => {
      await store.insert(rolledBack, id, Buffer.from('x'));
      expect(Buffer.from((await store.get(rolledBack)) ?? [])).toEqual(Buffer.from('x')); // visible inside
      throw new Error('roll back');
    }));
    expect(Buffer.from((await store.get(kept)) ?? [])).toEqual(Buffer.from('first'));
    expect(await store.get(rolledBack)).toBeNull();
    await uow.transaction(() => store.replace(kept, id, Buffer.from('third')));
    expect(Buffer.from((await store.get(kept)) ?? [])).toEqual(Buffer.from('third'));
    await store.delete(kept);
    expect(await store.get(kept)).toBeNull();
    for (let i = 0; i < 250 && heard.filter((v) => v === kept).length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    expect(heard.filter((v) => v === kept)).toHaveLength(2); // the replace and the delete
  });
}

function defineKeyTests(get: () => DrizzleUnitOfWork, _variant: Variant): void {
  it('inserts a key with its first version and reads both back', async () => {
    const uow = get();
    const account = accountId();
    const { key, version } = newKey(account, { description: 'ünïcode ✓' });
    await uow.repos.keys.insert(key, version);
    expect(await uow.repos.keys.get(account, key.id)).toEqual(key);
    expect(await uow.repos.keys.get(accountId(), key.id)).toBeNull();
    expect(await uow.repos.keys.getVersion(key.id, version.id)).toEqual(version);
    expect(await uow.repos.keys.getVersion(key.id, randomUUID())).toBeNull();
    expect(await uow.repos.keys.listVersions(key.id)).toEqual([version]);
    expect(await uow.repos.keys.get(account, 'not-a-uuid')).toBeNull();
    expect(await uow.repos.keys.getVersion('not-a-uuid', version.id)).toBeNull();
  });

  it('refuses a key-list marker that is not a key id with InvalidMarkerException', async () => {
    const e = await rejection(get().repos.keys.list(accountId(), 10, 'garbage'));
    expect((e as KmsError).code).toBe('InvalidMarkerException');
  });

  it('pages through keys with markers across three pages', async () => {
    const uow = get();
    const account = accountId();
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await insertKey(uow, account)).id);
    await insertKey(uow, accountId()); // another account's key never shows up
    ids.sort();
    const p1 = await uow.repos.keys.list(account, 3, null);
    expect(p1.items.map((k) => k.id)).toEqual(ids.slice(0, 3));
    expect(p1.next).toBe(ids[2]);
    const p2 = await uow.repos.keys.list(account, 3, p1.next);
    expect(p2.items.map((k) => k.id)).toEqual(ids.slice(3, 6));
    expect(p2.next).toBe(ids[5]);
    const p3 = await uow.repos.keys.list(account, 3, p2.next);
    expect(p3.items.map((k) => k.id)).toEqual(ids.slice(6));
    expect(p3.next).toBeNull();
    const exact = await uow.repos.keys.list(account, 7, null);
    expect(exact.items).toHaveLength(7);
    expect(exact.next).toBeNull();
  });

  it('updates state and deletion fields, leaving the rest alone', async () => {
    const uow = get();
    const account = accountId();
    const key = await insertKey(uow, account);
    const deletionDate = new Date('2999-01-01T00:00:00.000Z');
    await uow.repos.keys.update(key.id, { state: 'PendingDeletion', deletionDate, pendingWindowDays: 7 });
    expect(await uow.repos.keys.get(account, key.id)).toEqual({ ...key, state: 'PendingDeletion', deletionDate, pendingWindowDays: 7 });
    await uow.repos.keys.update(key.id, { state: 'Enabled', deletionDate: null, pendingWindowDays: null, description: 'new' });
    expect(await uow.repos.keys.get(account, key.id)).toEqual({ ...key, description: 'new' });
    await uow.repos.keys.update(key.id, {});
    expect(await uow.repos.keys.get(account, key.id)).toEqual({ ...key, description: 'new' });
  });
}

// Claims are global, so these tests claim at a fixed `now` and delete what they claim, leaving nothing due.
const CLAIM_NOW = new Date('2030-01-01T00:00:00.000Z');
const PAST = (minutes: number) => new Date(Date.UTC(2020, 0, 1, 0, minutes));

function defineDeletionTests(get: () => DrizzleUnitOfWork, variant: Variant): void {
  it('claims due keys oldest first, never future ones', async () => {
    const uow = get();
    const account = accountId();
    const pending = { state: 'PendingDeletion' as const, pendingWindowDays: 7 };
    const later = await insertKey(uow, account, { ...pending, deletionDate: PAST(2) });
    const first = await insertKey(uow, account, { ...pending, deletionDate: PAST(1) });
    const future = await insertKey(uow, account, { ...pending, deletionDate: new Date('2031-01-01T00:00:00.000Z') });
    await insertKey(uow, account, { deletionDate: PAST(0) }); // Enabled: not pending, never claimed
    const claimed: string[] = [];
    for (;;) {
      const key = await uow.transaction(async (r) => {
        const k = await r.keys.claimDueForDeletion(CLAIM_NOW);
        if (k) await r.keys.delete(k.id);
        return k;
      });
      if (!key) break;
      claimed.push(key.id);
    }
    expect(claimed).toEqual([first.id, later.id]);
    expect(await uow.repos.keys.get(account, future.id)).not.toBeNull();
    await uow.repos.keys.delete(future.id);
  });

  it.skipIf(!variant.concurrent)('lets two concurrent transactions claim different keys (SKIP LOCKED)', async () => {
    const uow = get();
    const account = accountId();
    const a = await insertKey(uow, account, { state: 'PendingDeletion', deletionDate: PAST(10) });
    const b = await insertKey(uow, account, { state: 'PendingDeletion', deletionDate: PAST(11) });
    let releaseFirst!: () => void;
    const held = new Promise<void>((r) => (releaseFirst = r));
    let firstClaimed!: () => void;
    const claimedSignal = new Promise<void>((r) => (firstClaimed = r));
    const t1 = uow.transaction(async (r) => {
      const k = await r.keys.claimDueForDeletion(CLAIM_NOW);
      firstClaimed();
      await held; // keep the row lock while the second transaction claims
      if (k) await r.keys.delete(k.id);
      return k?.id;
    });
    await claimedSignal;
    const t2 = uow.transaction(async (r) => {
      const k = await r.keys.claimDueForDeletion(CLAIM_NOW);
      if (k) await r.keys.delete(k.id);
      return k?.id;
    });
    // Without SKIP LOCKED the second claim would block on the first one's row lock: give it 5 s.
    const blocked = new Promise<string>((r) => setTimeout(() => r('blocked'), 5_000));
    const second = await Promise.race([t2, blocked]);
    releaseFirst();
    const first = await t1;
    await t2;
    expect(first).toBe(a.id);
    expect(second).toBe(b.id);
  });

  it('deletes a key with its versions, aliases and tags', async () => {
    const uow = get();
    const account = accountId();
    const key = await insertKey(uow, account);
    const now = new Date();
    await uow.repos.aliases.insert({ accountId: account, name: 'alias/doomed', keyId: key.id, createdAt: now, updatedAt: now });
    await uow.repos.tags.put(key.id, [{ TagKey: 'a', TagValue: '1' }]);
    await uow.repos.keys.delete(key.id);
    expect(await uow.repos.keys.get(account, key.id)).toBeNull();
    expect(await uow.repos.keys.listVersions(key.id)).toEqual([]);
    expect(await uow.repos.aliases.get(account, 'alias/doomed')).toBeNull();
    expect(await uow.repos.tags.count(key.id)).toBe(0);
  });
}

function defineAliasAndTagTests(get: () => DrizzleUnitOfWork): void {
  it('inserts aliases, refuses duplicates, retargets, deletes and lists by key', async () => {
    const uow = get();
    const account = accountId();
    const k1 = await insertKey(uow, account);
    const k2 = await insertKey(uow, account);
    const t0 = new Date('2024-05-01T00:00:00.000Z');
    const alias = { accountId: account, name: 'alias/one', keyId: k1.id, createdAt: t0, updatedAt: t0 };
    await uow.repos.aliases.insert(alias);
    await uow.repos.aliases.insert({ ...alias, name: 'alias/two' });
    await uow.repos.aliases.insert({ ...alias, accountId: accountId() }); // same name, other account: fine
    const dup = await rejection(uow.repos.aliases.insert({ ...alias, keyId: k2.id }));
    expect(dup).toBeInstanceOf(KmsError);
    expect((dup as KmsError).code).toBe('AlreadyExistsException');
    expect((dup as KmsError).message).toContain('alias/one');
    expect(await uow.repos.aliases.get(account, 'alias/one')).toEqual(alias);

    const t1 = new Date('2024-06-01T00:00:00.000Z');
    expect(await uow.repos.aliases.retarget(account, 'alias/one', k2.id, t1)).toBe(true);
    expect(await uow.repos.aliases.get(account, 'alias/one')).toEqual({ ...alias, keyId: k2.id, updatedAt: t1 });
    expect(await uow.repos.aliases.retarget(account, 'alias/none', k2.id, t1)).toBe(false);

    const ofK1 = await uow.repos.aliases.list(account, k1.id, 10, null);
    expect(ofK1).toEqual({ items: [{ ...alias, name: 'alias/two' }], next: null });
    const all1 = await uow.repos.aliases.list(account, null, 1, null);
    expect(all1.items.map((a) => a.name)).toEqual(['alias/one']);
    expect(all1.next).toBe('alias/one');
    const all2 = await uow.repos.aliases.list(account, null, 1, all1.next);
    expect(all2).toEqual({ items: [{ ...alias, name: 'alias/two' }], next: null });

    expect(await uow.repos.aliases.delete(account, 'alias/two')).toBe(true);
    expect(await uow.repos.aliases.delete(account, 'alias/two')).toBe(false);
    expect(await uow.repos.aliases.get(account, 'alias/two')).toBeNull();
  });

  it('keeps a transaction usable after a duplicate alias', async () => {
    const uow = get();
    const account = accountId();
    const key = await insertKey(uow, account);
    const now = new Date();
    const alias = { accountId: account, name: 'alias/tx', keyId: key.id, createdAt: now, updatedAt: now };
    await uow.repos.aliases.insert(alias);
    const code = await uow.transaction(async (r) => {
      const e = await rejection(r.aliases.insert(alias));
      await r.tags.put(key.id, [{ TagKey: 'after', TagValue: 'dup' }]);
      return (e as KmsError).code;
    });
    expect(code).toBe('AlreadyExistsException');
    expect(await uow.repos.tags.count(key.id)).toBe(1);
  });

  it('puts, overwrites, removes, counts and pages tags', async () => {
    const uow = get();
    const key = await insertKey(uow, accountId());
    const other = await insertKey(uow, accountId());
    await uow.repos.tags.put(other.id, [{ TagKey: 'b', TagValue: 'other' }]);
    await uow.repos.tags.put(key.id, [
      { TagKey: 'c', TagValue: '3' },
      { TagKey: 'a', TagValue: '1' },
      { TagKey: 'b', TagValue: '2' },
    ]);
    await uow.repos.tags.put(key.id, [{ TagKey: 'b', TagValue: 'two' }, { TagKey: 'd', TagValue: '4' }, { TagKey: 'd', TagValue: 'four' }]);
    expect(await uow.repos.tags.count(key.id)).toBe(4);
    const p1 = await uow.repos.tags.list(key.id, 2, null);
    expect(p1).toEqual({ items: [{ TagKey: 'a', TagValue: '1' }, { TagKey: 'b', TagValue: 'two' }], next: 'b' });
    const p2 = await uow.repos.tags.list(key.id, 2, p1.next);
    expect(p2).toEqual({ items: [{ TagKey: 'c', TagValue: '3' }, { TagKey: 'd', TagValue: 'four' }], next: null });
    await uow.repos.tags.remove(key.id, ['a', 'c', 'missing']);
    await uow.repos.tags.remove(key.id, []);
    expect((await uow.repos.tags.list(key.id, 10, null)).items.map((t) => t.TagKey)).toEqual(['b', 'd']);
    expect(await uow.repos.tags.count(key.id)).toBe(2);
    expect(await uow.repos.tags.count(other.id)).toBe(1);
  });
}

function defineAccessKeyAndAuditTests(get: () => DrizzleUnitOfWork, db: () => Database): void {
  it('upserts access keys and round-trips the sealed secret byte for byte', async () => {
    const uow = get();
    const bytes = new Uint8Array(256).map((_, i) => i); // every byte value, including 0x00 and 0xff
    const id = `AKIA${randomUUID().replace(/-/g, '').slice(0, 16).toUpperCase()}`;
    const principalArn = `arn:aws:iam::${accountId()}:user/${id}`;
    const ak: AccessKey = { accessKeyId: id, principalArn, accountId: '111122223333', userName: 'alice', sealedSecret: bytes, status: 'Active', createdAt: new Date('2024-01-01T00:00:00.000Z') };
    await uow.repos.accessKeys.upsert(ak);
    const got = await uow.repos.accessKeys.get(id);
    expect(got?.sealedSecret).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(got!.sealedSecret).equals(Buffer.from(bytes))).toBe(true);
    expect(got).toEqual(ak);
    const resealed = new Uint8Array([9, 8, 7]);
    await uow.repos.accessKeys.upsert({ ...ak, sealedSecret: resealed, status: 'Inactive', userName: 'ignored' });
    expect(await uow.repos.accessKeys.get(id)).toEqual({ ...ak, sealedSecret: resealed, status: 'Inactive' });
    await uow.repos.accessKeys.setStatus(id, 'Active');
    expect((await uow.repos.accessKeys.get(id))?.status).toBe('Active');
    expect(await uow.repos.accessKeys.listForPrincipal(principalArn)).toEqual([{ ...ak, sealedSecret: resealed }]);
    expect(await uow.repos.accessKeys.get('AKIANOSUCHKEY0000000')).toBeNull();
  });

  it('appends audit events and reads them newest first', async () => {
    const uow = get();
    const event = (op: string, keys: string[]): AuditEvent => ({
      id: randomUUID(), time: new Date('2024-03-03T03:03:03.333Z'), requestId: randomUUID(), operation: op,
      keyArn: op === 'Encrypt' ? 'arn:aws:kms:eu-west-1:111122223333:key/x' : null, callerArn: 'arn:aws:iam::111122223333:user/a',
      accessKeyId: null, sourceIp: '10.0.0.1', userAgent: null, outcome: op === 'Decrypt' ? 'Failure' : 'Success',
      errorCode: op === 'Decrypt' ? 'InvalidCiphertextException' : null, encryptionContextKeys: keys,
    });
    const e1 = event('Encrypt', ['purpose', 'tenant']);
    const e2 = event('Decrypt', []);
    await uow.repos.audit.append(e1);
    await uow.repos.audit.append(e2);
    expect(await uow.repos.audit.recent(2)).toEqual([e2, e1]);
    const t = schema.auditEvents;
    const types = await db().db.select({ t: sql<string>`jsonb_typeof(${t.encryptionContextKeys})` }).from(t).where(eq(t.id, e1.id));
    expect(types).toEqual([{ t: 'array' }]); // stored as a JSON array, not a JSON string
  });

  it('keeps each key\'s last successful use: both keys of ReEncrypt, batches racing, never back in time, gone with the key', async () => {
    const uow = get();
    const account = accountId();
    const [a, b, c] = [await insertKey(uow, account), await insertKey(uow, account), await insertKey(uow, account)];
    const arn = (k: Key) => `arn:aws:kms:eu-west-1:${account}:key/${k.id}`;
    let clock = Date.parse('2024-05-05T05:05:05.000Z');
    const use = (op: string, key: Key, over: Partial<AuditEvent> = {}): AuditEvent => ({
      id: randomUUID(), time: new Date((clock += 1000)), requestId: randomUUID(), operation: op, keyArn: arn(key),
      callerArn: `arn:aws:iam::${account}:user/admin`, accessKeyId: null, sourceIp: null, userAgent: null, outcome: 'Success',
      errorCode: null, encryptionContextKeys: [], ...over,
    });
    const since = (await uow.repos.audit.keyLastUse(a.id)).trackingSince;
    expect(await uow.repos.audit.keyLastUse(a.id)).toEqual({ last: null, trackingSince: since });
    // Several uses of one key in a batch (ON CONFLICT may touch a row once per statement), batches racing.
    const batches = Array.from({ length: 12 }, (_, i) => [use('Encrypt', i % 2 ? a : b), use('Decrypt', i % 2 ? b : a), use('Sign', a), use('Encrypt', b)]);
    await Promise.all(batches.map((batch) => appendChained(db().db, batch)));
    const lastOfA = batches.flat().filter((e) => e.keyArn === arn(a)).sort((x, y) => y.time.getTime() - x.time.getTime())[0]!;
    expect((await uow.repos.audit.keyLastUse(a.id)).last).toEqual({ operation: lastOfA.operation, time: lastOfA.time, eventId: lastOfA.id, requestId: lastOfA.requestId });
    // ReEncrypt moves both keys; a failure, an untracked operation and an older event move nothing.
    const re = use('ReEncrypt', c, { sourceKeyArn: arn(a) });
    await uow.repos.audit.append(re);
    const seen = { operation: 'ReEncrypt', time: re.time, eventId: re.id, requestId: re.requestId };
    expect((await uow.repos.audit.keyLastUse(a.id)).last).toEqual(seen);
    expect((await uow.repos.audit.keyLastUse(c.id)).last).toEqual(seen);
    await uow.repos.audit.append(use('Encrypt', c, { outcome: 'Failure', errorCode: 'DisabledException' }));
    await uow.repos.audit.append(use('DescribeKey', c));
    await uow.repos.audit.append(use('Decrypt', c, { time: new Date(Date.parse('2024-01-01T00:00:00Z')) }));
    expect((await uow.repos.audit.keyLastUse(c.id)).last).toEqual(seen);
    await uow.repos.keys.delete(c.id);
    expect((await uow.repos.audit.keyLastUse(c.id)).last).toBeNull();
    expect((await uow.repos.audit.keyLastUse(a.id)).last).toEqual(seen);
  });
}

function defineTransactionAndErrorTests(get: () => DrizzleUnitOfWork): void {
  it('rolls back everything a failing transaction did', async () => {
    const uow = get();
    const account = accountId();
    const existing = await insertKey(uow, account);
    const { key, version } = newKey(account);
    const boom = new KmsError('NotFoundException', 'boom');
    const e = await rejection(
      uow.transaction(async (r) => {
        await r.keys.insert(key, version);
        await r.keys.update(existing.id, { state: 'Disabled' });
        await r.tags.put(existing.id, [{ TagKey: 't', TagValue: 'v' }]);
        expect(await r.keys.get(account, key.id)).not.toBeNull(); // visible inside
        throw boom;
      }),
    );
    expect(e).toBe(boom);
    expect(await uow.repos.keys.get(account, key.id)).toBeNull();
    expect((await uow.repos.keys.get(account, existing.id))?.state).toBe('Enabled');
    expect(await uow.repos.tags.count(existing.id)).toBe(0);
  });

  it('commits a transaction and returns its value', async () => {
    const uow = get();
    const account = accountId();
    const { key, version } = newKey(account);
    expect(await uow.transaction(async (r) => (await r.keys.insert(key, version), 'done'))).toBe('done');
    expect(await uow.repos.keys.get(account, key.id)).toEqual(key);
  });

  it('never passes a bound value from a database error message on', async () => {
    const uow = get();
    const secret = 'SECRETaccount-0123456789abcdef';
    const e = await rejection(insertKey(uow, secret)); // violates varchar(12)
    expect(e).toBeInstanceOf(KmsError);
    expect((e as KmsError).code).toBe('KMSInternalException');
    expect((e as KmsError).message).not.toContain(secret);
    expect(String(e)).not.toContain(secret);
    expect(JSON.stringify(e)).not.toContain(secret);
    // The original is kept for diagnosis only, and it does carry the value: this is why it is never passed on.
    expect(String(((e as KmsError).cause as Error).message)).toContain(secret);
  });

  it('maps a duplicate key id to AlreadyExistsException without leaking values', async () => {
    const uow = get();
    const account = accountId();
    const { key, version } = newKey(account);
    await uow.repos.keys.insert(key, version);
    const e = await rejection(uow.repos.keys.insert(key, { ...version, id: randomUUID() }));
    expect((e as KmsError).code).toBe('AlreadyExistsException');
    expect((e as KmsError).message).not.toContain(key.id);
  });

  it('ensureAccount run by two instances at the same moment: both succeed, one account and one admin user', async () => {
    const uow = get();
    const account = accountId();
    const now = new Date();
    await Promise.all([ensureAccount(uow.repos, account, 'default', now), ensureAccount(uow.repos, account, 'default', now)]);
    expect(await uow.repos.accounts.get(account)).toMatchObject({ accountId: account });
    expect((await uow.repos.users.list(account)).map((u) => u.userName)).toEqual(['admin']);
  });

  it('is healthy while open', async () => {
    expect(await get().healthy()).toBe(true);
  });
}

for (const variant of variants) {
  describe.skipIf(!variant.target)(`db unit of work lifecycle on ${variant.name}`, () => {
    it('is healthy until closed, then unhealthy, and repositories answer DependencyTimeoutException', async () => {
      const uow = new DrizzleUnitOfWork(await openDatabase({ url: variant.target?.url }));
      expect(await uow.healthy()).toBe(true);
      await uow.close();
      expect(await uow.healthy()).toBe(false);
      const e = await rejection(uow.repos.keys.get(accountId(), randomUUID()));
      expect((e as KmsError).code).toBe('DependencyTimeoutException');
      expect((e as KmsError).message).toBe('The database is not available. Try again.');
    });

    it('opens, migrates and reopens idempotently through DrizzleUnitOfWork.open', async () => {
      const first = await DrizzleUnitOfWork.open({ url: variant.target?.url });
      await first.close();
      const second = await DrizzleUnitOfWork.open({ url: variant.target?.url });
      expect(await second.healthy()).toBe(true);
      await second.close();
    });
  });
}

describe('db unit of work without a server', () => {
  it('answers DependencyTimeoutException when Postgres refuses connections, and is unhealthy', async () => {
    const uow = new DrizzleUnitOfWork(await openDatabase({ url: 'postgres://postgres@127.0.0.1:1/none' }));
    try {
      const e = await rejection(uow.repos.keys.get('111122223333', randomUUID()));
      expect(e).toBeInstanceOf(KmsError);
      expect((e as KmsError).code).toBe('DependencyTimeoutException');
      expect((e as KmsError).retryable).toBe(true);
      expect(await uow.healthy()).toBe(false);
    } finally {
      await uow.close();
    }
  });
});

describe('schema', () => {
  it('names every table the migrations create', () => {
    expect(Object.keys(schema).filter((k) => k !== 'bytea').sort()).toEqual(
      ['accessKeys', 'accounts', 'aliases', 'auditChainHead', 'auditCheckpoints', 'auditEvents', 'domainKeys', 'grants', 'importWrappingKeys', 'keyImports', 'keyLastUsage', 'keyPolicies', 'keyRotationSettings', 'keyRotations', 'keyUsageTracking', 'keyVersions', 'keys', 'tags', 'userPolicies', 'userTags', 'users', 'wrappedKeyMaterial'],
    );
  });
});
