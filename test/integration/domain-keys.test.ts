// Domain-key rotation (hsm/wrapped-keys.ts, hsm/domain-key-ring.ts) against a real SoftHSM token and Postgres: a new
// active domain key, retired keys that still unwrap, rewrapping that keeps the material, and destruction that no blob
// can outlive, even one a concurrent transaction is still inserting.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventIdsFrom } from '../../core/event-id.js';
import type { DomainKeys, DomainKeyStatus, WrappedKeyStore } from '../../core/ports.js';
import type { ServiceDeps } from '../../core/services/context.js';
import { rotateDueDomainKey } from '../../core/services/domain-keys.js';
import { DrizzleUnitOfWork } from '../../db/index.js';
import { ensureDevToken, openHsm, type DevToken, type Pkcs11Hsm } from '../../hsm/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { kmsErrorOf } from '../helpers/kms-error.js';

let dataDir: string;
let token: DevToken;
let db: TestDatabase | null = null;
let sql: postgres.Sql;
const uows: DrizzleUnitOfWork[] = [];
const hsms: Pkcs11Hsm[] = [];
/** The instance that rotates; `other` is a second instance on the same token and database. */
let hsm: Pkcs11Hsm;
let other: Pkcs11Hsm;

/** Another instance on the token and database; `storeOf` may wrap its blob store (to hold a read, say). */
async function wrappedHsm(url = db?.url as string, storeOf: (store: WrappedKeyStore) => WrappedKeyStore = (store) => store): Promise<Pkcs11Hsm> {
  const uow = await DrizzleUnitOfWork.open({ url });
  uows.push(uow);
  const h = await openHsm({ ...token, poolSize: 2 });
  hsms.push(h);
  h.serializeWritesWith((fn) => uow.exclusive('token-writes', fn));
  await h.useWrappedKeys(storeOf(uow.wrappedKeys), 16);
  return h;
}

const admin = (h: Pkcs11Hsm = hsm): DomainKeys => h.domainKeys as DomainKeys;

beforeAll(async () => {
  db = await createTestDatabase({ allowPglite: false });
  if (!db?.url) throw new Error('this test needs Postgres (the local server or TEST_DATABASE_URL)');
  sql = postgres(db.url, { max: 2, onnotice: () => {} });
  dataDir = mkdtempSync(join(tmpdir(), 'coffer-domain-keys-'));
  token = await ensureDevToken({ dataDir, label: `coffer-dk-${randomUUID().slice(0, 8)}` });
  hsm = await wrappedHsm();
  other = await wrappedHsm();
});

afterAll(async () => {
  for (const h of hsms) await h.close();
  for (const u of uows) await u.close();
  await sql?.end({ timeout: 5 });
  await db?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

const aadOf = (iv: Uint8Array): Uint8Array => Buffer.concat([Buffer.from('dk:'), iv]);

async function encrypted(h: Pkcs11Hsm, versionId: string, plaintext: Buffer) {
  return h.encrypt(versionId, plaintext, aadOf);
}

async function decrypts(h: Pkcs11Hsm, versionId: string, c: { iv: Uint8Array; ciphertext: Uint8Array }): Promise<Buffer> {
  return Buffer.from(await h.decrypt(versionId, c.iv, c.ciphertext, aadOf(c.iv)));
}

async function newVersion(h: Pkcs11Hsm = hsm): Promise<string> {
  const v = randomUUID();
  await h.createRootKey(v);
  return v;
}

async function domainKeyOf(versionId: string): Promise<string> {
  const rows = await sql<{ id: Buffer }[]>`select domain_key_id as id from wrapped_key_material where version_id = ${versionId}`;
  return (rows[0]?.id as Buffer).toString('hex');
}

const byId = (keys: DomainKeyStatus[], id: string) => keys.find((k) => k.id === id);

/** Rewraps until nothing is left; returns the totals. */
async function rewrapAll(dk: DomainKeys = admin()): Promise<{ rewrapped: number; failed: number }> {
  let rewrapped = 0;
  let failed = 0;
  let after: string | null = null;
  do {
    const b = await dk.rewrap(3, after);
    rewrapped += b.rewrapped;
    failed += b.failed;
    after = b.last;
  } while (after !== null);
  return { rewrapped, failed };
}

describe('domain-key rotation', () => {
  it('a rotation makes a new active domain key and retires the old one, which still unwraps; new material goes under the new one', async () => {
    const before = await admin().describe();
    const first = before[0] as DomainKeyStatus;
    expect(first.state).toBe('ACTIVE');
    const v1 = await newVersion();
    expect(await domainKeyOf(v1)).toBe(first.id);
    const c1 = await encrypted(hsm, v1, Buffer.from('before the rotation'));

    const r = await admin().rotate();
    expect(r.retired).toEqual([first.id]);
    const after = await admin().describe();
    expect(after[0]).toMatchObject({ id: r.active, state: 'ACTIVE', keyVersions: 0 });
    expect(byId(after, first.id)?.state).toBe('RETIRED');

    // The other instance cached the old active key: it reads the label again before wrapping.
    const v2 = await newVersion(other);
    expect(await domainKeyOf(v2)).toBe(r.active);
    expect((await decrypts(other, v1, c1)).toString()).toBe('before the rotation');
    expect((await admin().describe())[0]).toMatchObject({ id: r.active, state: 'ACTIVE', keyVersions: 1 });
  });

  it('rewrapping moves every blob under the active domain key and keeps the material: old ciphertexts decrypt on an instance that never saw them', async () => {
    const v = await newVersion();
    const c = await encrypted(hsm, v, Buffer.from('rewrapped'));
    const hmac = randomUUID();
    await hsm.createHmacKey(hmac, 'HMAC_384');
    const mac = Buffer.from(await hsm.mac(hmac, 'HMAC_384', Buffer.from('rewrapped')));
    const pair = randomUUID();
    await hsm.createKeyPair(pair, 'RSA_2048', 'SIGN_VERIFY');
    const digest = randomBytes(32);
    const signature = await hsm.sign(pair, 'RSA_2048', 'RSASSA_PKCS1_V1_5_SHA_256', digest);
    const spki = Buffer.from(await hsm.publicKey(pair, 'RSA_2048'));
    const { active } = await admin().rotate();
    expect(await domainKeyOf(v)).not.toBe(active);
    const totals = await rewrapAll();
    expect(totals.failed).toBe(0);
    expect(totals.rewrapped).toBeGreaterThanOrEqual(4);
    expect(await domainKeyOf(v)).toBe(active);
    const rows = await sql`select 1 from wrapped_key_material where domain_key_id <> ${Buffer.from(active, 'hex')}`;
    expect(rows).toHaveLength(0);
    expect(await domainKeyOf(hmac)).toBe(active);
    const fresh = await wrappedHsm();
    expect((await decrypts(fresh, v, c)).toString()).toBe('rewrapped');
    expect(Buffer.from(await fresh.mac(hmac, 'HMAC_384', Buffer.from('rewrapped')))).toEqual(mac);
    expect(await domainKeyOf(pair)).toBe(active);
    expect(Buffer.from(await fresh.publicKey(pair, 'RSA_2048'))).toEqual(spki);
    expect(Buffer.from(await fresh.sign(pair, 'RSA_2048', 'RSASSA_PKCS1_V1_5_SHA_256', digest))).toEqual(Buffer.from(signature)); // deterministic padding
    expect(await fresh.verify(pair, 'RSA_2048', 'RSASSA_PKCS1_V1_5_SHA_256', digest, signature)).toBe(true);
    expect(await rewrapAll()).toEqual({ rewrapped: 0, failed: 0 });
  });

  it('a blob changed since it was read is not overwritten by the rewrap (swap compares the old blob)', async () => {
    const v = await newVersion();
    const uow = uows[0] as DrizzleUnitOfWork;
    const [row] = await sql<{ blob: Buffer; id: Buffer }[]>`select blob, domain_key_id as id from wrapped_key_material where version_id = ${v}`;
    const stale = Buffer.from(row!.blob);
    stale[stale.length - 1]! ^= 1;
    expect(await uow.wrappedKeys.swap(v, stale, row!.id, randomBytes(89))).toBe(false);
    const [now] = await sql<{ blob: Buffer }[]>`select blob from wrapped_key_material where version_id = ${v}`;
    expect(now!.blob).toEqual(row!.blob);
  });

  it('a blob read just before another instance rewrapped it and destroyed its old domain key is read again, not called damaged', async () => {
    const v = await newVersion();
    const c = await encrypted(hsm, v, Buffer.from('read twice'));
    // A third instance whose first read of v's blob waits, after reading it, until the rewrap and destruction are done.
    let release = (): void => undefined;
    const gate = new Promise<void>((r) => (release = r));
    let held = 0;
    const holdFirstRead = (real: WrappedKeyStore): WrappedKeyStore =>
      new Proxy(real, {
        get(target, prop) {
          if (prop === 'get') {
            return async (versionId: string) => {
              const blob = await target.get(versionId);
              if (versionId === v && held++ === 0) await gate;
              return blob;
            };
          }
          const value: unknown = Reflect.get(target, prop, target);
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        },
      });
    const late = await wrappedHsm(undefined, holdFirstRead);
    const old = await domainKeyOf(v);
    const decrypting = decrypts(late, v, c);
    while (held === 0) await new Promise((r) => setTimeout(r, 5));
    await admin().rotate();
    await rewrapAll();
    await admin().destroy(old);
    release();
    expect((await decrypting).toString()).toBe('read twice');
  });

  it('the active domain key cannot be destroyed', async () => {
    const [active] = await admin().describe();
    const e = await kmsErrorOf(admin().destroy(active!.id));
    expect(e.code).toBe('KMSInvalidStateException');
    expect(e.message).toMatch(/is the active domain key/);
  });

  it('a retired domain key is not destroyed while a blob names it, and destroyed with its registration once none does', async () => {
    const v = await newVersion();
    const c = await encrypted(hsm, v, Buffer.from('kept'));
    const old = await domainKeyOf(v);
    await admin().rotate();
    const refused = await kmsErrorOf(admin().destroy(old));
    expect(refused.code).toBe('KMSInvalidStateException');
    const listed = byId(await admin().describe(), old);
    expect(listed?.state).toBe('RETIRED');
    expect(listed?.keyVersions).toBeGreaterThanOrEqual(1);
    expect(refused.message).toBe(
      `${listed?.keyVersions} key version(s) are still wrapped under domain key ${old}; they are rewrapped under the active domain key in the background. Try again once DescribeDomainKeys shows none.`,
    );

    await rewrapAll();
    await admin().destroy(old);
    expect(byId(await admin().describe(), old)).toBeUndefined();
    expect(await sql`select 1 from domain_keys where id = ${Buffer.from(old, 'hex')}`).toHaveLength(0);
    expect((await decrypts(await wrappedHsm(), v, c)).toString()).toBe('kept');
    expect((await kmsErrorOf(admin().destroy(old))).code).toBe('NotFoundException');
  });

  it('destroying waits for a transaction still inserting a blob under the key, then refuses: no blob outlives its domain key', async () => {
    const { active: doomed } = await admin().rotate();
    await admin().rotate();
    await rewrapAll();
    const reserved = await sql.reserve();
    try {
      await reserved`begin`;
      await reserved`insert into wrapped_key_material (version_id, domain_key_id, blob) values (${randomUUID()}, ${Buffer.from(doomed, 'hex')}, ${randomBytes(89)})`;
      let settled = false;
      const destroying = kmsErrorOf(admin().destroy(doomed)).finally(() => (settled = true));
      await new Promise((r) => setTimeout(r, 400));
      expect(settled).toBe(false);
      await reserved`commit`;
      const e = await destroying;
      expect(e.code).toBe('KMSInvalidStateException');
      expect(byId(await admin().describe(), doomed)?.state).toBe('RETIRED');
    } finally {
      reserved.release();
    }
    // That blob is not real material: the rewrap counts it as failed and leaves it, so the key stays.
    expect(await rewrapAll()).toEqual({ rewrapped: 0, failed: 1 });
    expect(byId(await admin().describe(), doomed)).toMatchObject({ id: doomed, state: 'RETIRED', keyVersions: 1 });
    await sql`delete from wrapped_key_material where domain_key_id = ${Buffer.from(doomed, 'hex')}`;
    await admin().destroy(doomed);
  });

  it('an instance that wrapped under a domain key destroyed before its insert fails the insert instead of storing an orphan', async () => {
    const { active: doomed } = await admin().rotate();
    await admin().rotate();
    await admin().destroy(doomed);
    const store = (uows[1] as DrizzleUnitOfWork).wrappedKeys;
    const v = randomUUID();
    const e = await kmsErrorOf(store.insert(v, Buffer.from(doomed, 'hex'), randomBytes(89)));
    expect(e.code).toBe('KMSInternalException');
    expect(await store.get(v)).toBeNull();
  });

  it('a registered domain key the token lacks is shown as MISSING and can be forgotten; malformed and unknown ids are NotFound', async () => {
    const ghost = randomBytes(16);
    await sql`insert into domain_keys (id) values (${ghost})`;
    expect(byId(await admin().describe(), ghost.toString('hex'))).toMatchObject({ id: ghost.toString('hex'), state: 'MISSING', keyVersions: 0 });
    await admin().destroy(ghost.toString('hex'));
    expect(byId(await admin().describe(), ghost.toString('hex'))).toBeUndefined();
    expect((await kmsErrorOf(admin().destroy(randomBytes(16).toString('hex')))).code).toBe('NotFoundException');
    expect((await kmsErrorOf(admin().destroy('not-hex'))).code).toBe('NotFoundException');
  });

  it('key versions made on another instance while domain keys are rotated, rewrapped and destroyed all stay usable', async () => {
    const made: Array<{ v: string; c: { iv: Uint8Array; ciphertext: Uint8Array } }> = [];
    let refused = 0;
    let stop = false;
    const maker = (async () => {
      while (!stop) {
        const v = randomUUID();
        try {
          await other.createRootKey(v);
        } catch (e) {
          // Wrapped under a key destroyed before its insert: refused by the foreign key, nothing stored.
          expect((await kmsErrorOf(Promise.reject(e))).code).toBe('KMSInternalException');
          refused += 1;
          continue;
        }
        made.push({ v, c: await encrypted(other, v, Buffer.from(v)) });
      }
    })();
    for (let round = 0; round < 6; round++) {
      const { retired } = await admin().rotate();
      await rewrapAll();
      for (const id of retired) {
        // A version the maker wrapped under it after the rewrap's scan keeps it alive until the next pass.
        for (let attempt = 0; ; attempt++) {
          const e = await admin().destroy(id).then(() => null, (err: unknown) => err);
          if (e === null) break;
          expect((await kmsErrorOf(Promise.reject(e))).code).toBe('KMSInvalidStateException');
          if (attempt > 20) throw e;
          await rewrapAll();
        }
      }
    }
    stop = true;
    await maker;
    expect(made.length).toBeGreaterThan(5);
    const fresh = await wrappedHsm();
    for (const { v, c } of made) expect((await decrypts(fresh, v, c)).toString()).toBe(v);
    const keys = await admin().describe();
    expect(keys.filter((k) => k.state === 'ACTIVE')).toHaveLength(1);
    expect(keys.filter((k) => k.state !== 'ACTIVE').map((k) => k.keyVersions)).toEqual(keys.slice(1).map(() => 0));
    console.log(`rotation race: ${made.length} versions made and usable, ${refused} refused`);
  });

  it('an instance whose database never registered the active domain key of its token (an upgrade from before 0007) registers it at start', async () => {
    const [active] = await admin().describe();
    const upgraded = await createTestDatabase({ allowPglite: false });
    try {
      const h = await wrappedHsm(upgraded?.url as string);
      const v = await newVersion(h);
      const seen = await admin(h).describe();
      expect(seen[0]).toMatchObject({ id: active!.id, state: 'ACTIVE', keyVersions: 1 });
      expect((await decrypts(h, v, await encrypted(h, v, Buffer.from('upgraded')))).toString()).toBe('upgraded');
    } finally {
      const i = hsms.length - 1;
      await hsms[i]!.close();
      hsms.splice(i, 1);
      await uows.splice(uows.length - 1, 1)[0]!.close();
      await upgraded?.drop();
    }
  });

  it('the job rotates the domain key once the active one is COFFER_DOMAIN_KEY_ROTATION_DAYS old, and audits it', async () => {
    const uow = uows[0] as DrizzleUnitOfWork;
    let now = new Date();
    const deps = { uow, hsm, clock: { now: () => now }, region: 'us-east-1', newId: randomUUID, newEventId: eventIdsFrom(randomBytes) } as unknown as ServiceDeps;
    const [active] = await admin().describe();
    expect(active!.createdAt).toBeInstanceOf(Date);
    expect(await rotateDueDomainKey(deps, admin(), 0)).toBe(false);
    now = new Date(active!.createdAt!.getTime() + 6.9 * 86_400_000);
    expect(await rotateDueDomainKey(deps, admin(), 7)).toBe(false);
    expect((await admin().describe())[0]!.id).toBe(active!.id);
    now = new Date(active!.createdAt!.getTime() + 7 * 86_400_000);
    expect(await rotateDueDomainKey(deps, admin(), 7)).toBe(true);
    const [rotated] = await admin().describe();
    expect(rotated!.id).not.toBe(active!.id);
    expect(byId(await admin().describe(), active!.id)?.state).toBe('RETIRED');
    // Registered by the database's clock just now: not due again for a week of the job's clock.
    now = new Date();
    expect(await rotateDueDomainKey(deps, admin(), 7)).toBe(false);
    const events = await sql<{ user_agent: string; outcome: string }[]>`select user_agent, outcome from audit_events where operation = 'RotateDomainKey'`;
    expect(events).toEqual([{ user_agent: 'coffer-domain-key-job', outcome: 'Success' }]);
    await rewrapAll();
  });

  it('with root keys as token objects there are no domain keys', async () => {
    const plain = await openHsm({ ...token, poolSize: 1 });
    hsms.push(plain);
    expect(plain.domainKeys).toBeNull();
  });
});
