// A stateful model test: random sequences of key, crypto, alias, tag, rotation, grant and key-policy operations
// against the real server, as the administrator and as a second user, each outcome compared with an in-memory model
// of what AWS KMS documents.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  CancelKeyDeletionCommand, CreateAliasCommand, CreateGrantCommand, CreateKeyCommand, DecryptCommand, DeleteAliasCommand,
  DescribeKeyCommand, DisableKeyCommand, EnableKeyCommand, EncryptCommand, GetKeyPolicyCommand, ListAliasesCommand,
  ListGrantsCommand, ListKeyRotationsCommand, ListResourceTagsCommand, PutKeyPolicyCommand, RetireGrantCommand,
  RevokeGrantCommand, RotateKeyOnDemandCommand, ScheduleKeyDeletionCommand, TagResourceCommand, UntagResourceCommand,
  UpdateAliasCommand, type GrantOperation, type KMSClient,
} from '@aws-sdk/client-kms';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { newUser } from '../helpers/identity.js';
import { ACCOUNT, ADMIN, startCoffer, type CofferProcess } from '../helpers/server.js';
import { Recorder, SOAK } from './record.js';

type State = 'Enabled' | 'Disabled' | 'PendingDeletion';
type UserOp = 'Encrypt' | 'Decrypt';
interface ModelGrant { id: string; token: string; ops: UserOp[] }
interface ModelKey {
  id: string;
  state: State;
  tags: Map<string, string>;
  /** On-demand rotations done; each ciphertext's version id by the rotation count it was made under. */
  rotations: number;
  versions: Map<number, string>;
  /** Whether the key policy names the second user (for Encrypt and Decrypt). */
  userInPolicy: boolean;
  grants: ModelGrant[];
  /** Grants revoked or retired (their ids and tokens now unknown to the server). */
  goneGrants: ModelGrant[];
}
interface Model { prefix: string; keys: ModelKey[]; aliases: Map<string, number>; cts: { key: number; pt: string; blob: Uint8Array }[] }
interface Real { kms: KMSClient; user: KMSClient }

const rec = new Recorder('stateful model');
let db: TestDatabase | null;
let server: CofferProcess;
let kms: KMSClient;
/** The second principal: a user of the same account with no identity policy, so only key policies and grants let it in. */
let user: KMSClient;
let userArn: string;
let runNo = 0;

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startCoffer({ databaseUrl: db?.url });
  kms = server.client();
  const u = await newUser(server.url, ADMIN, 'model-user');
  userArn = u.arn;
  user = server.client(u);
});

afterAll(async () => {
  rec.note(`commands run: ${[...ran].map(([k, n]) => `${k} ${n}`).join(', ')}`);
  rec.save();
  kms?.destroy();
  user?.destroy();
  await server?.stop();
  await db?.drop();
});

/** Runs the call; the outcome must be success (null) or the named AWS error. */
async function expectOutcome<T>(what: string, p: Promise<T>, expected: string | null): Promise<T | undefined> {
  let got: string | null = null;
  let value: T | undefined;
  try {
    value = await p;
  } catch (e) {
    got = (e as Error).name;
  }
  rec.check(got === expected, `${what}: expected ${expected ?? 'success'}, got ${got ?? 'success'}`);
  expect(got, what).toBe(expected);
  return value;
}

const crypto = (s: State) => (s === 'Enabled' ? null : s === 'Disabled' ? 'DisabledException' : 'KMSInvalidStateException');
const manage = (s: State) => (s === 'PendingDeletion' ? 'KMSInvalidStateException' : null);
const pick = (m: Model, i: number) => i % m.keys.length;
const aliasName = (m: Model, i: number) => `alias/${m.prefix}-${i}`;

type Cmd = fc.AsyncCommand<Model, Real>;
/** How often each kind of command ran (for the summary's note). */
const ran = new Map<string, number>();
const cmd = (name: string, check: (m: Readonly<Model>) => boolean, run: (m: Model, r: Real) => Promise<void>): Cmd => ({
  check,
  run: (m, r) => {
    const kind = name.replace(/\(.*$/, '');
    ran.set(kind, (ran.get(kind) ?? 0) + 1);
    return run(m, r);
  },
  toString: () => name,
});
const hasKey = (m: Readonly<Model>) => m.keys.length > 0;

const newModelKey = (id: string): ModelKey => ({ id, state: 'Enabled', tags: new Map(), rotations: 0, versions: new Map(), userInPolicy: false, grants: [], goneGrants: [] });
/** The key version id a Coffer ciphertext names (header bytes 17..32), as test/e2e/rotation.test.ts reads it. */
const versionOf = (blob: Uint8Array) => Buffer.from(blob.subarray(17, 33)).toString('hex');

/** Ciphertexts made under the same rotation share a version; each rotation's version is new. */
function checkVersion(key: ModelKey, blob: Uint8Array): void {
  const v = versionOf(blob);
  const known = key.versions.get(key.rotations);
  if (known === undefined) {
    const fresh = ![...key.versions.values()].includes(v);
    rec.check(fresh, `Encrypt after rotation ${key.rotations} used an earlier version`);
    expect(fresh, 'a new rotation encrypts under a new version').toBe(true);
    key.versions.set(key.rotations, v);
  } else {
    rec.check(known === v, `Encrypt after rotation ${key.rotations} used another version than before`);
    expect(v, 'the current version encrypts').toBe(known);
  }
}

/** The second user may do `op` when the key policy names it or a live grant gives the operation. */
const userMay = (key: ModelKey, op: UserOp) => key.userInPolicy || key.grants.some((g) => g.ops.includes(op));
const keyPolicy = (withUser: boolean) =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      { Sid: 'root', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' },
      ...(withUser ? [{ Sid: 'user', Effect: 'Allow', Principal: { AWS: userArn }, Action: ['kms:Encrypt', 'kms:Decrypt'], Resource: '*' }] : []),
    ],
  });

const createKey = fc.constant(null).map(() =>
  cmd('CreateKey', () => true, async (m, r) => {
    const meta = (await expectOutcome('CreateKey', r.kms.send(new CreateKeyCommand({})), null))!.KeyMetadata!;
    m.keys.push(newModelKey(meta.KeyId!));
  }),
);
const setState = (name: 'DisableKey' | 'EnableKey', next: State) =>
  fc.nat().map((i) =>
    cmd(`${name}(${i})`, hasKey, async (m, r) => {
      const key = m.keys[pick(m, i)]!;
      const c = name === 'DisableKey' ? new DisableKeyCommand({ KeyId: key.id }) : new EnableKeyCommand({ KeyId: key.id });
      const exp = manage(key.state);
      await expectOutcome(`${name} ${key.state}`, r.kms.send(c), exp);
      if (exp === null) key.state = next;
    }),
  );
const schedule = fc.nat().map((i) =>
  cmd(`ScheduleKeyDeletion(${i})`, hasKey, async (m, r) => {
    const key = m.keys[pick(m, i)]!;
    const exp = manage(key.state);
    await expectOutcome(`ScheduleKeyDeletion ${key.state}`, r.kms.send(new ScheduleKeyDeletionCommand({ KeyId: key.id, PendingWindowInDays: 7 })), exp);
    if (exp === null) key.state = 'PendingDeletion';
  }),
);
const cancel = fc.nat().map((i) =>
  cmd(`CancelKeyDeletion(${i})`, hasKey, async (m, r) => {
    const key = m.keys[pick(m, i)]!;
    const exp = key.state === 'PendingDeletion' ? null : 'KMSInvalidStateException';
    await expectOutcome(`CancelKeyDeletion ${key.state}`, r.kms.send(new CancelKeyDeletionCommand({ KeyId: key.id })), exp);
    if (exp === null) key.state = 'Disabled'; // AWS: a cancelled deletion leaves the key disabled
  }),
);
const createAlias = fc.tuple(fc.nat(3), fc.nat()).map(([a, i]) =>
  cmd(`CreateAlias(${a},${i})`, hasKey, async (m, r) => {
    const k = pick(m, i);
    const name = aliasName(m, a);
    const exp = manage(m.keys[k]!.state) ?? (m.aliases.has(name) ? 'AlreadyExistsException' : null);
    await expectOutcome('CreateAlias', r.kms.send(new CreateAliasCommand({ AliasName: name, TargetKeyId: m.keys[k]!.id })), exp);
    if (exp === null) m.aliases.set(name, k);
  }),
);
const updateAlias = fc.tuple(fc.nat(3), fc.nat()).map(([a, i]) =>
  cmd(`UpdateAlias(${a},${i})`, hasKey, async (m, r) => {
    const k = pick(m, i);
    const name = aliasName(m, a);
    const exp = manage(m.keys[k]!.state) ?? (m.aliases.has(name) ? null : 'NotFoundException');
    await expectOutcome('UpdateAlias', r.kms.send(new UpdateAliasCommand({ AliasName: name, TargetKeyId: m.keys[k]!.id })), exp);
    if (exp === null) m.aliases.set(name, k);
  }),
);
const deleteAlias = fc.nat(3).map((a) =>
  cmd(`DeleteAlias(${a})`, () => true, async (m, r) => {
    const name = aliasName(m, a);
    const exp = m.aliases.has(name) ? null : 'NotFoundException';
    await expectOutcome('DeleteAlias', r.kms.send(new DeleteAliasCommand({ AliasName: name })), exp);
    m.aliases.delete(name);
  }),
);
const tag = fc.tuple(fc.nat(), fc.constantFrom('a', 'b', 'c'), fc.string({ maxLength: 20 })).map(([i, k, v]) =>
  cmd(`TagResource(${i},${k})`, hasKey, async (m, r) => {
    const key = m.keys[pick(m, i)]!;
    const exp = manage(key.state);
    await expectOutcome('TagResource', r.kms.send(new TagResourceCommand({ KeyId: key.id, Tags: [{ TagKey: k, TagValue: v }] })), exp);
    if (exp === null) key.tags.set(k, v);
  }),
);
const untag = fc.tuple(fc.nat(), fc.constantFrom('a', 'b', 'c')).map(([i, k]) =>
  cmd(`UntagResource(${i},${k})`, hasKey, async (m, r) => {
    const key = m.keys[pick(m, i)]!;
    const exp = manage(key.state);
    await expectOutcome('UntagResource', r.kms.send(new UntagResourceCommand({ KeyId: key.id, TagKeys: [k] })), exp);
    if (exp === null) key.tags.delete(k);
  }),
);
const rotateKey = fc.nat().map((i) =>
  cmd(`RotateKeyOnDemand(${i})`, hasKey, async (m, r) => {
    const key = m.keys[pick(m, i)]!;
    const exp = key.state === 'Enabled' ? (key.rotations < 25 ? null : 'LimitExceededException') : crypto(key.state);
    await expectOutcome(`RotateKeyOnDemand ${key.state}`, r.kms.send(new RotateKeyOnDemandCommand({ KeyId: key.id })), exp);
    if (exp === null) key.rotations += 1;
  }),
);
const putPolicy = fc.tuple(fc.nat(), fc.boolean()).map(([i, withUser]) =>
  cmd(`PutKeyPolicy(${i},${withUser ? 'user' : 'root only'})`, hasKey, async (m, r) => {
    const key = m.keys[pick(m, i)]!;
    const exp = manage(key.state);
    await expectOutcome(`PutKeyPolicy ${key.state}`, r.kms.send(new PutKeyPolicyCommand({ KeyId: key.id, PolicyName: 'default', Policy: keyPolicy(withUser) })), exp);
    if (exp === null) key.userInPolicy = withUser;
  }),
);
const createGrant = fc.tuple(fc.nat(), fc.subarray<UserOp>(['Encrypt', 'Decrypt'], { minLength: 1 })).map(([i, ops]) =>
  cmd(`CreateGrant(${i},${ops.join('+')})`, hasKey, async (m, r) => {
    const key = m.keys[pick(m, i)]!;
    const exp = manage(key.state);
    const input = { KeyId: key.id, GranteePrincipal: userArn, RetiringPrincipal: userArn, Operations: ops as GrantOperation[] };
    const out = await expectOutcome(`CreateGrant ${key.state}`, r.kms.send(new CreateGrantCommand(input)), exp);
    if (out) key.grants.push({ id: out.GrantId!, token: out.GrantToken!, ops });
  }),
);
const hasGrantOrGone = (m: Readonly<Model>) => m.keys.some((k) => k.grants.length + k.goneGrants.length > 0);
/** Picks a live or an ended grant of some key that has one: live ones must end, ended ones are unknown. */
function pickGrant(m: Model, i: number, j: number): { key: ModelKey; grant: ModelGrant; live: boolean } {
  const keys = m.keys.filter((k) => k.grants.length + k.goneGrants.length > 0);
  const key = keys[i % keys.length]!;
  const all = [...key.grants, ...key.goneGrants];
  const grant = all[j % all.length]!;
  return { key, grant, live: key.grants.includes(grant) };
}
function endGrant(key: ModelKey, grant: ModelGrant): void {
  key.grants = key.grants.filter((g) => g !== grant);
  key.goneGrants.push(grant);
}
const revokeGrant = fc.tuple(fc.nat(), fc.nat()).map(([i, j]) =>
  cmd(`RevokeGrant(${i},${j})`, hasGrantOrGone, async (m, r) => {
    const { key, grant, live } = pickGrant(m, i, j);
    await expectOutcome(`RevokeGrant ${live ? 'live' : 'ended'}`, r.kms.send(new RevokeGrantCommand({ KeyId: key.id, GrantId: grant.id })), live ? null : 'NotFoundException');
    if (live) endGrant(key, grant);
  }),
);
/** The user, as retiring principal, retires by grant token. */
const retireGrant = fc.tuple(fc.nat(), fc.nat()).map(([i, j]) =>
  cmd(`RetireGrant(${i},${j})`, hasGrantOrGone, async (m, r) => {
    const { key, grant, live } = pickGrant(m, i, j);
    await expectOutcome(`RetireGrant ${live ? 'live' : 'ended'}`, r.user.send(new RetireGrantCommand({ GrantToken: grant.token })), live ? null : 'InvalidGrantTokenException');
    if (live) endGrant(key, grant);
  }),
);
type Who = 'admin' | 'user';
/** The administrator may always; the second user when the key policy or a grant allows. Then the key state decides. */
const expected = (who: Who, key: ModelKey, op: UserOp) => (who === 'admin' || userMay(key, op) ? crypto(key.state) : 'AccessDeniedException');
const what = (who: Who, op: UserOp, key: ModelKey) =>
  who === 'admin' ? `${op} ${key.state}` : `user ${op} ${key.state} policy=${key.userInPolicy} grants=${key.grants.map((g) => g.ops.join('+')).join(',')}`;
const client = (who: Who, r: Real) => (who === 'admin' ? r.kms : r.user);

const encrypt = (who: Who) =>
  fc.tuple(fc.nat(), fc.string({ minLength: 1, maxLength: 64 })).map(([i, pt]) =>
    cmd(`Encrypt[${who}](${i})`, hasKey, async (m, r) => {
      const k = pick(m, i);
      const key = m.keys[k]!;
      const out = await expectOutcome(what(who, 'Encrypt', key), client(who, r).send(new EncryptCommand({ KeyId: key.id, Plaintext: Buffer.from(pt) })), expected(who, key, 'Encrypt'));
      if (out) {
        checkVersion(key, out.CiphertextBlob!);
        m.cts.push({ key: k, pt, blob: out.CiphertextBlob! });
      }
    }),
  );
/** Every earlier ciphertext decrypts, across rotations, while the key is enabled and the caller allowed. */
const decrypt = (who: Who) =>
  fc.nat().map((i) =>
    cmd(`Decrypt[${who}](${i})`, (m) => m.cts.length > 0, async (m, r) => {
      const ct = m.cts[i % m.cts.length]!;
      const key = m.keys[ct.key]!;
      const out = await expectOutcome(what(who, 'Decrypt', key), client(who, r).send(new DecryptCommand({ CiphertextBlob: ct.blob })), expected(who, key, 'Decrypt'));
      if (out) {
        const same = Buffer.from(out.Plaintext!).toString() === ct.pt && out.KeyId!.endsWith(key.id);
        rec.check(same, 'Decrypt returned another plaintext or key');
        expect(same, 'Decrypt returns the plaintext and key').toBe(true);
      }
    }),
  );
/** Reads back one key's state, tags, aliases, rotations, grants and policy and compares them with the model. */
const observe = fc.nat().map((i) =>
  cmd(`Observe(${i})`, hasKey, async (m, r) => {
    const k = pick(m, i);
    const key = m.keys[k]!;
    const meta = (await r.kms.send(new DescribeKeyCommand({ KeyId: key.id }))).KeyMetadata!;
    rec.check(meta.KeyState === key.state, `DescribeKey state ${meta.KeyState} != model ${key.state}`);
    expect(meta.KeyState).toBe(key.state);
    const tags = (await r.kms.send(new ListResourceTagsCommand({ KeyId: key.id }))).Tags ?? [];
    const got = Object.fromEntries(tags.map((t) => [t.TagKey!, t.TagValue!]));
    rec.check(JSON.stringify(got) === JSON.stringify(Object.fromEntries([...key.tags].sort())), `tags differ for key ${k}`);
    expect(got).toEqual(Object.fromEntries(key.tags));
    const aliases = ((await r.kms.send(new ListAliasesCommand({ KeyId: key.id }))).Aliases ?? []).map((a) => a.AliasName).sort();
    const want = [...m.aliases].filter(([, t]) => t === k).map(([n]) => n).sort();
    rec.check(JSON.stringify(aliases) === JSON.stringify(want), `aliases differ for key ${k}`);
    expect(aliases).toEqual(want);
    const rotations = (await r.kms.send(new ListKeyRotationsCommand({ KeyId: key.id }))).Rotations ?? [];
    rec.check(rotations.length === key.rotations, `ListKeyRotations gives ${rotations.length}, model ${key.rotations}`);
    expect(rotations).toHaveLength(key.rotations);
    const grants = ((await r.kms.send(new ListGrantsCommand({ KeyId: key.id }))).Grants ?? []).map((g) => g.GrantId).sort();
    const wantGrants = key.grants.map((g) => g.id).sort();
    rec.check(JSON.stringify(grants) === JSON.stringify(wantGrants), `grants differ for key ${k}`);
    expect(grants).toEqual(wantGrants);
    const policy = JSON.parse((await r.kms.send(new GetKeyPolicyCommand({ KeyId: key.id, PolicyName: 'default' }))).Policy!) as { Statement: { Principal?: { AWS?: unknown } }[] };
    const names = policy.Statement.some((st) => JSON.stringify(st.Principal?.AWS ?? '').includes(userArn));
    rec.check(names === key.userInPolicy, `key policy of key ${k} names the user: ${names}, model ${key.userInPolicy}`);
    expect(names).toBe(key.userInPolicy);
  }),
);

describe('stateful model', () => {
  it('random operation sequences agree with the model of AWS KMS behaviour', async () => {
    const commands = fc.commands(
      [
        createKey, encrypt('admin'), decrypt('admin'), setState('DisableKey', 'Disabled'), setState('EnableKey', 'Enabled'), schedule, cancel,
        createAlias, updateAlias, deleteAlias, tag, untag, rotateKey, putPolicy, createGrant, revokeGrant, retireGrant,
        encrypt('user'), decrypt('user'), observe,
        // Crypto twice as often: ciphertexts across rotations, policy changes and grants are what the model checks most.
        encrypt('admin'), decrypt('admin'), encrypt('user'), decrypt('user'),
      ],
      { maxCommands: SOAK ? 80 : 30, size: 'max' },
    );
    await fc.assert(
      fc.asyncProperty(commands, async (cmds) => {
        runNo += 1;
        const setup = async () => {
          const keys: ModelKey[] = [];
          for (let n = 0; n < 2; n++) keys.push(newModelKey((await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!));
          return { model: { prefix: `m${runNo}-${Date.now()}`, keys, aliases: new Map(), cts: [] } as Model, real: { kms, user } };
        };
        await fc.asyncModelRun(setup, cmds);
      }),
      { numRuns: SOAK ? 300 : 30 },
    );
    expect(rec.counts.failures).toBe(0);
    expect(rec.counts.cases).toBeGreaterThan(50);
  });
});
