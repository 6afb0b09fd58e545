// A stateful model test: random sequences of key, crypto, alias and tag operations against the real server,
// each outcome compared with an in-memory model of what AWS KMS documents.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  CancelKeyDeletionCommand, CreateAliasCommand, CreateKeyCommand, DecryptCommand, DeleteAliasCommand, DescribeKeyCommand,
  DisableKeyCommand, EnableKeyCommand, EncryptCommand, ListAliasesCommand, ListResourceTagsCommand, ScheduleKeyDeletionCommand,
  TagResourceCommand, UntagResourceCommand, UpdateAliasCommand, type KMSClient,
} from '@aws-sdk/client-kms';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { startCoffer, type CofferProcess } from '../helpers/server.js';
import { Recorder, SOAK } from './record.js';

type State = 'Enabled' | 'Disabled' | 'PendingDeletion';
interface ModelKey { id: string; state: State; tags: Map<string, string> }
interface Model { prefix: string; keys: ModelKey[]; aliases: Map<string, number>; cts: { key: number; pt: string; blob: Uint8Array }[] }
interface Real { kms: KMSClient }

const rec = new Recorder('stateful model');
let db: TestDatabase | null;
let server: CofferProcess;
let kms: KMSClient;
let runNo = 0;

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startCoffer({ databaseUrl: db?.url });
  kms = server.client();
});

afterAll(async () => {
  rec.save();
  kms?.destroy();
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
const cmd = (name: string, check: (m: Readonly<Model>) => boolean, run: (m: Model, r: Real) => Promise<void>): Cmd => ({
  check, run, toString: () => name,
});
const hasKey = (m: Readonly<Model>) => m.keys.length > 0;

const createKey = fc.constant(null).map(() =>
  cmd('CreateKey', () => true, async (m, r) => {
    const meta = (await expectOutcome('CreateKey', r.kms.send(new CreateKeyCommand({})), null))!.KeyMetadata!;
    m.keys.push({ id: meta.KeyId!, state: 'Enabled', tags: new Map() });
  }),
);
const encrypt = fc.tuple(fc.nat(), fc.string({ minLength: 1, maxLength: 64 })).map(([i, pt]) =>
  cmd(`Encrypt(${i})`, hasKey, async (m, r) => {
    const k = pick(m, i);
    const key = m.keys[k]!;
    const out = await expectOutcome(`Encrypt ${key.state}`, r.kms.send(new EncryptCommand({ KeyId: key.id, Plaintext: Buffer.from(pt) })), crypto(key.state));
    if (out) m.cts.push({ key: k, pt, blob: out.CiphertextBlob! });
  }),
);
const decrypt = fc.nat().map((i) =>
  cmd(`Decrypt(${i})`, (m) => m.cts.length > 0, async (m, r) => {
    const ct = m.cts[i % m.cts.length]!;
    const key = m.keys[ct.key]!;
    const out = await expectOutcome(`Decrypt ${key.state}`, r.kms.send(new DecryptCommand({ CiphertextBlob: ct.blob })), crypto(key.state));
    if (out) rec.check(Buffer.from(out.Plaintext!).toString() === ct.pt && out.KeyId!.endsWith(key.id), 'Decrypt returned another plaintext or key');
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
/** Reads back one key's state, tags and aliases and compares them with the model. */
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
  }),
);

describe('stateful model', () => {
  it('random operation sequences agree with the model of AWS KMS behaviour', async () => {
    const commands = fc.commands(
      [createKey, encrypt, decrypt, setState('DisableKey', 'Disabled'), setState('EnableKey', 'Enabled'), schedule, cancel, createAlias, updateAlias, deleteAlias, tag, untag, observe],
      { maxCommands: SOAK ? 80 : 30, size: 'max' },
    );
    await fc.assert(
      fc.asyncProperty(commands, async (cmds) => {
        runNo += 1;
        const setup = async () => {
          const keys: ModelKey[] = [];
          for (let n = 0; n < 2; n++) keys.push({ id: (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!, state: 'Enabled', tags: new Map() });
          return { model: { prefix: `m${runNo}-${Date.now()}`, keys, aliases: new Map(), cts: [] } as Model, real: { kms } };
        };
        await fc.asyncModelRun(setup, cmds);
      }),
      { numRuns: SOAK ? 200 : 20 },
    );
    expect(rec.counts.failures).toBe(0);
    expect(rec.counts.cases).toBeGreaterThan(50);
  });
});
