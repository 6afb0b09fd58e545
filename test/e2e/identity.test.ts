// End-to-end: who may use which key, through the AWS SDK as several principals in two accounts: key policies,
// user policies, grants with encryption-context constraints, cross-account use, and the audit of every decision.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateGrantCommand, CreateKeyCommand, DecryptCommand, DescribeKeyCommand, EncryptCommand, GenerateDataKeyCommand,
  GetKeyPolicyCommand, ListGrantsCommand, ListKeyPoliciesCommand, ListKeysCommand, ListRetirableGrantsCommand,
  PutKeyPolicyCommand, ReEncryptCommand, RetireGrantCommand, RevokeGrantCommand, ScheduleKeyDeletionCommand, type KMSClient,
} from '@aws-sdk/client-kms';
import postgres from 'postgres';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { call, newUser, ok, type Credentials } from '../helpers/identity.js';
import { ACCOUNT, ADMIN, failure, startCoffer, type CofferProcess } from '../helpers/server.js';

const OTHER = '444455556666';
const data = new TextEncoder().encode('hello');
const root = (acct: string) => `arn:aws:iam::${acct}:root`;
const policy = (...statements: object[]) => JSON.stringify({ Version: '2012-10-17', Statement: statements });
const rootStatement = (acct: string) => ({ Sid: 'root', Effect: 'Allow', Principal: { AWS: root(acct) }, Action: 'kms:*', Resource: '*' });

let db: TestDatabase | null;
let server: CofferProcess;
let admin: KMSClient;
let admin2: Credentials;
let encUser: Credentials & { arn: string };
let grantUser: Credentials & { arn: string };
let partner: Credentials & { arn: string };
let keyArn: string;
let keyId: string;
const clients: KMSClient[] = [];
const as = (c: Credentials) => {
  const k = server.client(c);
  clients.push(k);
  return k;
};

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startCoffer({ databaseUrl: db?.url });
  admin = as(ADMIN);
  encUser = await newUser(server.url, ADMIN, 'enc-user');
  grantUser = await newUser(server.url, ADMIN, 'grant-user');
  const acct = await ok(server.url, ADMIN, 'CreateAccount', { AccountName: 'partner', AccountId: OTHER });
  const key = acct.AccessKey as { AccessKeyId: string; SecretAccessKey: string; UserName: string };
  expect(acct.Account).toEqual({ AccountId: OTHER, AccountName: 'partner', Arn: root(OTHER) });
  expect(key.UserName).toBe('admin');
  admin2 = { accessKeyId: key.AccessKeyId, secretAccessKey: key.SecretAccessKey };
  partner = await newUser(server.url, admin2, 'partner-app');
  const created = await admin.send(new CreateKeyCommand({
    Policy: policy(
      rootStatement(ACCOUNT),
      { Sid: 'encrypt-only', Effect: 'Allow', Principal: { AWS: encUser.arn }, Action: 'kms:Encrypt', Resource: '*' },
      { Sid: 'partner', Effect: 'Allow', Principal: { AWS: OTHER }, Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:DescribeKey', 'kms:ScheduleKeyDeletion'], Resource: '*' },
    ),
  }));
  keyArn = created.KeyMetadata!.Arn!;
  keyId = created.KeyMetadata!.KeyId!;
}, 120_000);

afterAll(async () => {
  for (const c of clients) c.destroy();
  await server?.stop();
  await db?.drop();
});

describe('key policies', () => {
  it('GetKeyPolicy and ListKeyPolicies give the stored policy under the name default', async () => {
    const got = await admin.send(new GetKeyPolicyCommand({ KeyId: keyId, PolicyName: 'default' }));
    expect(JSON.parse(got.Policy!).Statement[1].Sid).toBe('encrypt-only');
    expect((await admin.send(new ListKeyPoliciesCommand({ KeyId: keyId }))).PolicyNames).toEqual(['default']);
  });

  it('a new key without Policy gets the default policy giving the account root kms:*', async () => {
    const k = (await admin.send(new CreateKeyCommand({}))).KeyMetadata!;
    const p = JSON.parse((await admin.send(new GetKeyPolicyCommand({ KeyId: k.KeyId }))).Policy!);
    expect(p.Statement).toEqual([{ Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: root(ACCOUNT) }, Action: 'kms:*', Resource: '*' }]);
  });

  it('a malformed policy gets MalformedPolicyDocumentException saying what is wrong', async () => {
    const e = await failure(admin.send(new PutKeyPolicyCommand({ KeyId: keyId, PolicyName: 'default', Policy: '{"Statement":{"Effect":"Maybe"}}' })));
    expect(e.name).toBe('MalformedPolicyDocumentException');
    expect(e.message).toMatch(/Effect must be Allow or Deny/);
  });

  it('the lockout safety check refuses a policy the caller could not change again, unless bypassed', async () => {
    const lockout = policy({ Effect: 'Allow', Principal: { AWS: encUser.arn }, Action: 'kms:*', Resource: '*' });
    const e = await failure(admin.send(new CreateKeyCommand({ Policy: lockout })));
    expect(e.name).toBe('MalformedPolicyDocumentException');
    expect(e.message).toMatch(/will not allow you to update the key policy/);
    const k = (await admin.send(new CreateKeyCommand({ Policy: lockout, BypassPolicyLockoutSafetyCheck: true }))).KeyMetadata!;
    expect((await failure(admin.send(new DescribeKeyCommand({ KeyId: k.KeyId })))).name).toBe('AccessDeniedException');
  });
});

describe('condition keys the request supplies', () => {
  it('kms:ReEncryptOnSameKey: a Deny on re-encrypting under the same key', async () => {
    const k = (await admin.send(new CreateKeyCommand({
      Policy: policy(rootStatement(ACCOUNT), {
        Effect: 'Deny', Principal: '*', Action: 'kms:ReEncrypt*', Resource: '*', Condition: { Bool: { 'kms:ReEncryptOnSameKey': 'true' } },
      }),
    }))).KeyMetadata!;
    const other = (await admin.send(new CreateKeyCommand({}))).KeyMetadata!;
    const blob = (await admin.send(new EncryptCommand({ KeyId: k.KeyId, Plaintext: data }))).CiphertextBlob!;
    const e = await failure(admin.send(new ReEncryptCommand({ CiphertextBlob: blob, DestinationKeyId: k.KeyId })));
    expect(e.name).toBe('AccessDeniedException');
    expect(e.message).toMatch(/with an explicit deny in a resource-based policy$/);
    expect((await admin.send(new ReEncryptCommand({ CiphertextBlob: blob, DestinationKeyId: other.KeyId }))).KeyId).toBe(other.Arn);
  });

  it('kms:EncryptionContext:<key> in a key policy Allow', async () => {
    const k = (await admin.send(new CreateKeyCommand({
      Policy: policy(rootStatement(ACCOUNT), {
        Effect: 'Allow', Principal: { AWS: encUser.arn }, Action: 'kms:Encrypt', Resource: '*', Condition: { StringEquals: { 'kms:EncryptionContext:app': 'billing' } },
      }),
    }))).KeyMetadata!;
    const c = as(encUser);
    await c.send(new EncryptCommand({ KeyId: k.KeyId, Plaintext: data, EncryptionContext: { app: 'billing' } }));
    expect((await failure(c.send(new EncryptCommand({ KeyId: k.KeyId, Plaintext: data, EncryptionContext: { app: 'other' } })))).name).toBe('AccessDeniedException');
    expect((await failure(c.send(new EncryptCommand({ KeyId: k.KeyId, Plaintext: data })))).name).toBe('AccessDeniedException');
  });
});

describe('a user allowed only Encrypt by the key policy', () => {
  it('may Encrypt', async () => {
    const r = await as(encUser).send(new EncryptCommand({ KeyId: keyId, Plaintext: data }));
    expect(r.KeyId).toBe(keyArn);
  });

  it('may not Decrypt, GenerateDataKey or DescribeKey: AccessDeniedException in AWS form', async () => {
    const c = as(encUser);
    const blob = (await c.send(new EncryptCommand({ KeyId: keyId, Plaintext: data }))).CiphertextBlob!;
    const e = await failure(c.send(new DecryptCommand({ CiphertextBlob: blob })));
    expect(e.name).toBe('AccessDeniedException');
    expect(e.message).toBe(`User: ${encUser.arn} is not authorized to perform: kms:Decrypt on resource: ${keyArn} because no identity-based policy allows the kms:Decrypt action`);
    expect((await failure(c.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256' })))).name).toBe('AccessDeniedException');
    expect((await failure(c.send(new DescribeKeyCommand({ KeyId: keyId })))).name).toBe('AccessDeniedException');
  });

  it('may not call account-level actions without an identity policy, and gains them with one', async () => {
    const c = as(encUser);
    const e = await failure(c.send(new ListKeysCommand({})));
    expect(e.name).toBe('AccessDeniedException');
    expect(e.message).toMatch(/because no identity-based policy allows the kms:ListKeys action$/);
    await ok(server.url, ADMIN, 'PutUserPolicy', {
      UserName: 'enc-user', PolicyName: 'list', PolicyDocument: policy({ Effect: 'Allow', Action: 'kms:ListKeys', Resource: '*' }),
    });
    expect((await c.send(new ListKeysCommand({}))).Keys!.map((k) => k.KeyId)).toContain(keyId);
  });

  it('an explicit Deny in the user policy wins over the key policy Allow', async () => {
    await ok(server.url, ADMIN, 'PutUserPolicy', {
      UserName: 'enc-user', PolicyName: 'deny', PolicyDocument: policy({ Effect: 'Deny', Action: 'kms:Encrypt', Resource: keyArn }),
    });
    const e = await failure(as(encUser).send(new EncryptCommand({ KeyId: keyId, Plaintext: data })));
    expect(e.name).toBe('AccessDeniedException');
    expect(e.message).toMatch(/with an explicit deny in an identity-based policy$/);
    await ok(server.url, ADMIN, 'DeleteUserPolicy', { UserName: 'enc-user', PolicyName: 'deny' });
    await as(encUser).send(new EncryptCommand({ KeyId: keyId, Plaintext: data }));
  });

  it('may not administer users', async () => {
    expect((await call(server.url, encUser, 'CreateUser', { UserName: 'mallory' })).body.__type).toBe('AccessDeniedException');
    expect((await call(server.url, encUser, 'CreateAccount', { AccountName: 'x' })).body.__type).toBe('AccessDeniedException');
  });
});

describe('a user allowed Decrypt only by a grant with an encryption-context constraint', () => {
  let blobA: Uint8Array;
  let blobB: Uint8Array;
  let grantId: string;
  let grantToken: string;

  beforeAll(async () => {
    blobA = (await admin.send(new EncryptCommand({ KeyId: keyId, Plaintext: data, EncryptionContext: { tenant: 'a' } }))).CiphertextBlob!;
    blobB = (await admin.send(new EncryptCommand({ KeyId: keyId, Plaintext: data, EncryptionContext: { tenant: 'b' } }))).CiphertextBlob!;
  });

  it('is refused before the grant exists', async () => {
    expect((await failure(as(grantUser).send(new DecryptCommand({ CiphertextBlob: blobA, EncryptionContext: { tenant: 'a' } })))).name).toBe('AccessDeniedException');
  });

  it('CreateGrant returns a token that works at once, and Name makes it idempotent', async () => {
    const input = {
      KeyId: keyId, GranteePrincipal: grantUser.arn, RetiringPrincipal: encUser.arn, Operations: ['Decrypt' as const],
      Constraints: { EncryptionContextSubset: { tenant: 'a' } }, Name: 'tenant-a',
    };
    const g = await admin.send(new CreateGrantCommand(input));
    expect(g.GrantId).toMatch(/^[0-9a-f]{64}$/);
    grantId = g.GrantId!;
    grantToken = g.GrantToken!;
    expect((await admin.send(new CreateGrantCommand(input))).GrantId).toBe(grantId);
    const r = await as(grantUser).send(new DecryptCommand({ CiphertextBlob: blobA, EncryptionContext: { tenant: 'a' }, GrantTokens: [grantToken] }));
    expect(new TextDecoder().decode(r.Plaintext)).toBe('hello');
  });

  it('concurrent CreateGrant calls with one Name create one grant', async () => {
    const input = { KeyId: keyId, GranteePrincipal: encUser.arn, Operations: ['DescribeKey' as const], Name: 'raced' };
    const ids = await Promise.all(Array.from({ length: 5 }, () => admin.send(new CreateGrantCommand(input)).then((g) => g.GrantId)));
    expect(new Set(ids).size).toBe(1);
    const grants = (await admin.send(new ListGrantsCommand({ KeyId: keyId, GranteePrincipal: encUser.arn }))).Grants ?? [];
    expect(grants.filter((g) => g.Name === 'raced')).toHaveLength(1);
    await admin.send(new RevokeGrantCommand({ KeyId: keyId, GrantId: ids[0] }));
  });

  it('a context outside the constraint, or another operation, is refused', async () => {
    const c = as(grantUser);
    expect((await failure(c.send(new DecryptCommand({ CiphertextBlob: blobB, EncryptionContext: { tenant: 'b' } })))).name).toBe('AccessDeniedException');
    expect((await failure(c.send(new EncryptCommand({ KeyId: keyId, Plaintext: data, EncryptionContext: { tenant: 'a' } })))).name).toBe('AccessDeniedException');
  });

  it('ListGrants and ListRetirableGrants show the grant', async () => {
    const list = await admin.send(new ListGrantsCommand({ KeyId: keyId }));
    expect(list.Grants).toEqual([expect.objectContaining({
      GrantId: grantId, KeyId: keyArn, GranteePrincipal: grantUser.arn, RetiringPrincipal: encUser.arn, Operations: ['Decrypt'],
      Constraints: { EncryptionContextSubset: { tenant: 'a' } }, Name: 'tenant-a', IssuingAccount: root(ACCOUNT),
    })]);
    const retirable = await admin.send(new ListRetirableGrantsCommand({ RetiringPrincipal: encUser.arn }));
    expect(retirable.Grants!.map((g) => g.GrantId)).toEqual([grantId]);
  });

  it('ListGrants pages with Limit and NextMarker; a foreign marker is InvalidMarkerException', async () => {
    const extra = await admin.send(new CreateGrantCommand({ KeyId: keyId, GranteePrincipal: encUser.arn, Operations: ['Encrypt'] }));
    const first = await admin.send(new ListGrantsCommand({ KeyId: keyId, Limit: 1 }));
    expect(first.Grants).toHaveLength(1);
    expect(first.Truncated).toBe(true);
    const second = await admin.send(new ListGrantsCommand({ KeyId: keyId, Limit: 1, Marker: first.NextMarker }));
    expect(second.Truncated).toBe(false);
    expect([...first.Grants!, ...second.Grants!].map((g) => g.GrantId).sort()).toEqual([grantId, extra.GrantId].sort());
    expect(await failure(admin.send(new ListGrantsCommand({ KeyId: keyId, Marker: 'x' })))).toMatchObject({ name: 'InvalidMarkerException', message: expect.stringContaining('marker that specifies where pagination should next begin is not valid') });
    await admin.send(new RevokeGrantCommand({ KeyId: keyId, GrantId: extra.GrantId }));
  });

  it('a revoked grant stops working on the next request', async () => {
    await admin.send(new RevokeGrantCommand({ KeyId: keyId, GrantId: grantId }));
    expect((await failure(as(grantUser).send(new DecryptCommand({ CiphertextBlob: blobA, EncryptionContext: { tenant: 'a' } })))).name).toBe('AccessDeniedException');
    expect((await failure(admin.send(new RevokeGrantCommand({ KeyId: keyId, GrantId: grantId })))).name).toBe('NotFoundException');
  });

  it('the retiring principal retires a grant by its token; an unknown token is InvalidGrantTokenException', async () => {
    const g = await admin.send(new CreateGrantCommand({ KeyId: keyId, GranteePrincipal: grantUser.arn, RetiringPrincipal: encUser.arn, Operations: ['Decrypt'] }));
    await as(encUser).send(new RetireGrantCommand({ GrantToken: g.GrantToken }));
    expect((await admin.send(new ListGrantsCommand({ KeyId: keyId }))).Grants).toEqual([]);
    expect((await failure(as(encUser).send(new RetireGrantCommand({ GrantToken: g.GrantToken })))).name).toBe('InvalidGrantTokenException');
  });

  it('a principal that is neither retiring principal nor allowed may not retire a grant', async () => {
    const g = await admin.send(new CreateGrantCommand({ KeyId: keyId, GranteePrincipal: grantUser.arn, Operations: ['Decrypt'] }));
    expect((await failure(as(encUser).send(new RetireGrantCommand({ KeyId: keyId, GrantId: g.GrantId })))).name).toBe('AccessDeniedException');
    await as(grantUser).send(new DecryptCommand({ CiphertextBlob: blobB, EncryptionContext: { tenant: 'b' } }));
    await admin.send(new RetireGrantCommand({ KeyId: keyId, GrantId: g.GrantId }));
  });
});

describe('grants created through a grant', () => {
  it('cover only a subset of the parent grant’s operations, with constraints at least as strict', async () => {
    const subset = { EncryptionContextSubset: { tenant: 'a' } };
    await admin.send(new CreateGrantCommand({ KeyId: keyId, GranteePrincipal: grantUser.arn, Operations: ['Decrypt', 'CreateGrant'], Constraints: subset }));
    const c = as(grantUser);
    const child = await c.send(new CreateGrantCommand({ KeyId: keyId, GranteePrincipal: encUser.arn, Operations: ['Decrypt'], Constraints: subset }));
    expect(child.GrantId).toMatch(/^[0-9a-f]{64}$/);
    expect((await failure(c.send(new CreateGrantCommand({ KeyId: keyId, GranteePrincipal: encUser.arn, Operations: ['Encrypt'], Constraints: subset })))).name).toBe('AccessDeniedException');
    expect((await failure(c.send(new CreateGrantCommand({ KeyId: keyId, GranteePrincipal: encUser.arn, Operations: ['Decrypt'] })))).name).toBe('AccessDeniedException');
    for (const g of (await admin.send(new ListGrantsCommand({ KeyId: keyId }))).Grants!) {
      await admin.send(new RevokeGrantCommand({ KeyId: keyId, GrantId: g.GrantId }));
    }
  });
});

describe('a user of another account allowed by both policies', () => {
  it('is refused while only the key policy allows', async () => {
    const e = await failure(as(partner).send(new EncryptCommand({ KeyId: keyArn, Plaintext: data })));
    expect(e.name).toBe('AccessDeniedException');
    expect(e.message).toMatch(/because no identity-based policy allows the kms:Encrypt action$/);
  });

  it('may Encrypt, Decrypt and DescribeKey by key ARN once its own account allows', async () => {
    await ok(server.url, admin2, 'PutUserPolicy', {
      UserName: 'partner-app', PolicyName: 'use-shared-key',
      PolicyDocument: policy({ Effect: 'Allow', Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:DescribeKey', 'kms:ScheduleKeyDeletion'], Resource: keyArn }),
    });
    const c = as(partner);
    const enc = await c.send(new EncryptCommand({ KeyId: keyArn, Plaintext: data }));
    expect(enc.KeyId).toBe(keyArn);
    expect(new TextDecoder().decode((await c.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob }))).Plaintext)).toBe('hello');
    expect((await c.send(new DescribeKeyCommand({ KeyId: keyArn }))).KeyMetadata).toMatchObject({ Arn: keyArn, AWSAccountId: ACCOUNT });
  });

  it('may not perform operations AWS does not allow across accounts, even when both policies allow', async () => {
    expect((await failure(as(partner).send(new ScheduleKeyDeletionCommand({ KeyId: keyArn })))).name).toBe('AccessDeniedException');
  });

  it('a bare key id names a key of the caller’s own account: NotFoundException', async () => {
    expect((await failure(as(partner).send(new EncryptCommand({ KeyId: keyId, Plaintext: data })))).name).toBe('NotFoundException');
  });

  it('another account’s admin may not verify or checkpoint the audit chain, which spans every account', async () => {
    for (const op of ['VerifyChain', 'CreateCheckpoint']) {
      const r = await call(server.url, admin2, op, {}, 'CofferAudit.');
      expect(r.body.__type).toBe('AccessDeniedException');
      expect(r.body.message).toMatch(/only principals of the system account/);
    }
    expect((await call(server.url, ADMIN, 'VerifyChain', {}, 'CofferAudit.')).body.Valid).toBe(true);
  });

  it('ListKeys shows the caller’s account only; its admin manages only its own users', async () => {
    const c = as(admin2);
    expect((await c.send(new ListKeysCommand({}))).Keys).toEqual([]);
    const users = (await ok(server.url, admin2, 'ListUsers')).Users as { UserName: string }[];
    expect(users.map((u) => u.UserName)).toEqual(['admin', 'partner-app']);
    expect((await call(server.url, admin2, 'DeleteUser', { UserName: 'enc-user' })).body.__type).toBe('NoSuchEntityException');
    expect((await call(server.url, admin2, 'CreateAccount', { AccountName: 'x' })).body.__type).toBe('AccessDeniedException');
  });
});

describe('identity administration', () => {
  it('ListUsers pages with MaxItems and Marker; a marker it did not hand out is ValidationException', async () => {
    const all = ((await ok(server.url, ADMIN, 'ListUsers')).Users as { UserName: string }[]).map((u) => u.UserName);
    expect(all.length).toBeGreaterThanOrEqual(3);
    const seen: string[] = [];
    let marker: string | undefined;
    for (let pages = 0; pages < all.length + 1; pages++) {
      const r = await ok(server.url, ADMIN, 'ListUsers', { MaxItems: 2, ...(marker ? { Marker: marker } : {}) });
      const names = (r.Users as { UserName: string }[]).map((u) => u.UserName);
      expect(names.length).toBeLessThanOrEqual(2);
      seen.push(...names);
      expect(r.IsTruncated).toBe(r.Marker !== undefined);
      marker = r.Marker as string | undefined;
      if (!marker) break;
    }
    expect(seen).toEqual(all);
    expect((await call(server.url, ADMIN, 'ListUsers', { Marker: 'garbage' })).body.__type).toBe('ValidationException');
  });

  it('GetUser: the caller\'s own user without a name, a named one with iam:GetUser, NoSuchEntity for none', async () => {
    const self = (await ok(server.url, ADMIN, 'GetUser')).User as { UserName: string; UserId: string; Arn: string };
    expect(self).toMatchObject({ UserName: 'admin', Arn: `arn:aws:iam::${ACCOUNT}:user/admin` });
    expect(self.UserId).toMatch(/^AIDA[A-Z2-7]{16}$/);
    const listed = (await ok(server.url, ADMIN, 'ListUsers')).Users as { UserName: string; UserId: string }[];
    const named = (await ok(server.url, ADMIN, 'GetUser', { UserName: 'grant-user' })).User as { UserId: string };
    expect(named.UserId).toBe(listed.find((u) => u.UserName === 'grant-user')?.UserId);
    expect((await call(server.url, ADMIN, 'GetUser', { UserName: 'nobody-here' })).body.__type).toBe('NoSuchEntityException');
    // A user without iam:GetUser in its policies may not read even itself, as in IAM; IAM's self-service policy
    // (a policy variable in Resource) lets it read itself and no one else.
    const reader = await newUser(server.url, ADMIN, 'self-reader');
    expect((await call(server.url, reader, 'GetUser')).body.__type).toBe('AccessDeniedException');
    const PolicyDocument = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'iam:GetUser', Resource: 'arn:aws:iam::${aws:PrincipalAccount}:user/${aws:username}' }],
    });
    await ok(server.url, ADMIN, 'PutUserPolicy', { UserName: 'self-reader', PolicyName: 'read-self', PolicyDocument });
    expect(((await ok(server.url, reader, 'GetUser')).User as { UserName: string }).UserName).toBe('self-reader');
    expect((await call(server.url, reader, 'GetUser', { UserName: 'grant-user' })).body.__type).toBe('AccessDeniedException');
  });

  it('TagUser, ListUserTags, UntagUser: keys case-insensitive, aws: reserved, at most 50, gone with the user', async () => {
    await newUser(server.url, ADMIN, 'tagged-user');
    const tags = async () => ((await ok(server.url, ADMIN, 'ListUserTags', { UserName: 'tagged-user' })).Tags as { Key: string; Value: string }[]);
    await ok(server.url, ADMIN, 'TagUser', { UserName: 'tagged-user', Tags: [{ Key: 'team', Value: 'payments' }, { Key: 'level', Value: '' }] });
    expect(await tags()).toEqual([{ Key: 'level', Value: '' }, { Key: 'team', Value: 'payments' }]);
    // Another case of an existing key replaces it.
    await ok(server.url, ADMIN, 'TagUser', { UserName: 'tagged-user', Tags: [{ Key: 'Team', Value: 'ads' }] });
    expect(await tags()).toEqual([{ Key: 'Team', Value: 'ads' }, { Key: 'level', Value: '' }]);
    const refused = async (op: string, body: object) => (await call(server.url, ADMIN, op, { UserName: 'tagged-user', ...body })).body.__type;
    expect(await refused('TagUser', { Tags: [{ Key: 'aws:x', Value: '1' }] })).toBe('ValidationException');
    expect(await refused('TagUser', { Tags: [{ Key: 'a', Value: '1' }, { Key: 'A', Value: '2' }] })).toBe('ValidationException');
    expect(await refused('TagUser', { Tags: [{ Key: 'bad*key', Value: '1' }] })).toBe('ValidationException');
    expect(await refused('TagUser', { Tags: Array.from({ length: 49 }, (_, i) => ({ Key: `k${i}`, Value: 'v' })) })).toBe('LimitExceededException');
    expect((await call(server.url, ADMIN, 'TagUser', { UserName: 'nobody-here', Tags: [{ Key: 'a', Value: 'b' }] })).body.__type).toBe('NoSuchEntityException');
    await ok(server.url, ADMIN, 'UntagUser', { UserName: 'tagged-user', TagKeys: ['TEAM', 'absent'] });
    expect(await tags()).toEqual([{ Key: 'level', Value: '' }]);
    await ok(server.url, ADMIN, 'DeleteAccessKey', { UserName: 'tagged-user', AccessKeyId: ((await ok(server.url, ADMIN, 'ListAccessKeys', { UserName: 'tagged-user' })).AccessKeyMetadata as { AccessKeyId: string }[])[0]!.AccessKeyId });
    await ok(server.url, ADMIN, 'DeleteUser', { UserName: 'tagged-user' });
    await newUser(server.url, ADMIN, 'tagged-user');
    expect(await tags()).toEqual([]);
  });

  it('CreateUser with Tags: shown by CreateUser, GetUser and ListUserTags; needs iam:TagUser, which sees aws:RequestTag', async () => {
    const Tags = [{ Key: 'team', Value: 'payments' }];
    const made = (await ok(server.url, ADMIN, 'CreateUser', { UserName: 'born-tagged', Tags })).User as { Tags?: unknown };
    expect(made.Tags).toEqual(Tags);
    expect(((await ok(server.url, ADMIN, 'GetUser', { UserName: 'born-tagged' })).User as { Tags?: unknown }).Tags).toEqual(Tags);
    expect((await ok(server.url, ADMIN, 'ListUserTags', { UserName: 'born-tagged' })).Tags).toEqual(Tags);
    expect(((await ok(server.url, ADMIN, 'GetUser', { UserName: 'grant-user' })).User as { Tags?: unknown }).Tags).toBeUndefined();
    // Invalid tags create nothing.
    expect((await call(server.url, ADMIN, 'CreateUser', { UserName: 'born-bad', Tags: [{ Key: 'aws:x', Value: '' }] })).body.__type).toBe('ValidationException');
    expect((await call(server.url, ADMIN, 'GetUser', { UserName: 'born-bad' })).body.__type).toBe('NoSuchEntityException');
    // A delegate may create users, and tag them only with team=payments.
    const delegate = await newUser(server.url, ADMIN, 'user-maker');
    const PolicyDocument = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: 'iam:CreateUser', Resource: '*' },
        { Effect: 'Allow', Action: 'iam:TagUser', Resource: '*', Condition: { StringEquals: { 'aws:RequestTag/team': 'payments' } } },
      ],
    });
    await ok(server.url, ADMIN, 'PutUserPolicy', { UserName: 'user-maker', PolicyName: 'make-users', PolicyDocument });
    const create = (UserName: string, tags?: object[]) => call(server.url, delegate, 'CreateUser', { UserName, ...(tags ? { Tags: tags } : {}) });
    expect((await create('made-plain')).status).toBe(200);
    expect((await create('made-payments', Tags)).status).toBe(200);
    expect((await create('made-ads', [{ Key: 'team', Value: 'ads' }])).body.__type).toBe('AccessDeniedException');
    expect((await call(server.url, ADMIN, 'GetUser', { UserName: 'made-ads' })).body.__type).toBe('NoSuchEntityException');
    expect((await call(server.url, delegate, 'TagUser', { UserName: 'made-plain', Tags: [{ Key: 'team', Value: 'ads' }] })).body.__type).toBe('AccessDeniedException');
    await ok(server.url, delegate, 'TagUser', { UserName: 'made-plain', Tags });
  });

  it('concurrent TagUser and CreateAccessKey calls take turns at the quotas: never past 50 tags or 2 access keys', async () => {
    await ok(server.url, ADMIN, 'CreateUser', { UserName: 'busy-user' });
    const sets = Array.from({ length: 5 }, (_, s) => Array.from({ length: 20 }, (_, i) => ({ Key: `s${s}k${i}`, Value: 'v' })));
    const tagged = await Promise.all(sets.map((Tags) => call(server.url, ADMIN, 'TagUser', { UserName: 'busy-user', Tags })));
    expect(tagged.filter((r) => r.status === 200)).toHaveLength(2);
    for (const r of tagged) if (r.status !== 200) expect(r.body.__type).toBe('LimitExceededException');
    expect((await ok(server.url, ADMIN, 'ListUserTags', { UserName: 'busy-user' })).Tags).toHaveLength(40);
    const created = await Promise.all(Array.from({ length: 5 }, () => call(server.url, ADMIN, 'CreateAccessKey', { UserName: 'busy-user' })));
    expect(created.filter((r) => r.status === 200)).toHaveLength(2);
    expect((await ok(server.url, ADMIN, 'ListAccessKeys', { UserName: 'busy-user' })).AccessKeyMetadata).toHaveLength(2);
  });

  it('concurrent CreateAccount (one AccountId) or CreateUser (one name) calls: one creates, the others get EntityAlreadyExistsException', async () => {
    for (const [op, input] of [['CreateAccount', { AccountName: 'raced', AccountId: '777788889999' }], ['CreateUser', { UserName: 'raced-user' }]] as const) {
      const answers = await Promise.all(Array.from({ length: 4 }, () => call(server.url, ADMIN, op, input)));
      expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
      for (const a of answers) if (a.status !== 200) expect(a.body.__type).toBe('EntityAlreadyExistsException');
    }
  });

  it('DeleteUser racing CreateAccessKey, PutUserPolicy and TagUser leaves nothing behind for the name\'s next user', async () => {
    const PolicyDocument = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }] });
    for (let round = 0; round < 8; round++) {
      await ok(server.url, ADMIN, 'CreateUser', { UserName: 'doomed' });
      const u = { UserName: 'doomed' };
      const [deleted] = await Promise.all([
        call(server.url, ADMIN, 'DeleteUser', u),
        call(server.url, ADMIN, 'CreateAccessKey', u),
        call(server.url, ADMIN, 'PutUserPolicy', { ...u, PolicyName: 'p', PolicyDocument }),
        call(server.url, ADMIN, 'TagUser', { ...u, Tags: [{ Key: 'k', Value: 'v' }] }),
      ]);
      if (deleted.status !== 200) expect(deleted.body.__type).toBe('DeleteConflictException');
      else {
        // Recreated after the deletion, the user holds nothing: whatever a racing request added went with the old one.
        await ok(server.url, ADMIN, 'CreateUser', u);
        expect((await ok(server.url, ADMIN, 'ListAccessKeys', u)).AccessKeyMetadata).toEqual([]);
        expect((await ok(server.url, ADMIN, 'ListUserPolicies', u)).PolicyNames).toEqual([]);
        expect((await ok(server.url, ADMIN, 'ListUserTags', u)).Tags).toEqual([]);
      }
      for (const k of (await ok(server.url, ADMIN, 'ListAccessKeys', u)).AccessKeyMetadata as { AccessKeyId: string }[]) {
        await ok(server.url, ADMIN, 'DeleteAccessKey', { ...u, AccessKeyId: k.AccessKeyId });
      }
      await call(server.url, ADMIN, 'DeleteUserPolicy', { ...u, PolicyName: 'p' });
      await ok(server.url, ADMIN, 'DeleteUser', u);
    }
  });

  it('at most two access keys per user: LimitExceededException', async () => {
    await ok(server.url, ADMIN, 'CreateAccessKey', { UserName: 'grant-user' });
    const r = await call(server.url, ADMIN, 'CreateAccessKey', { UserName: 'grant-user' });
    expect(r.body).toEqual({ __type: 'LimitExceededException', message: 'Cannot exceed quota for AccessKeysPerUser: 2' });
    const keys = (await ok(server.url, ADMIN, 'ListAccessKeys', { UserName: 'grant-user' })).AccessKeyMetadata as { AccessKeyId: string }[];
    expect(keys).toHaveLength(2);
    for (const k of keys) expect(k.AccessKeyId).toMatch(/^[A-Z0-9]{20}$/);
  });

  it('user policies: Put, Get, List, Delete; a malformed one is refused', async () => {
    const doc = policy({ Effect: 'Allow', Action: 'kms:GenerateRandom', Resource: '*' });
    await ok(server.url, ADMIN, 'PutUserPolicy', { UserName: 'grant-user', PolicyName: 'rnd', PolicyDocument: doc });
    expect(await ok(server.url, ADMIN, 'GetUserPolicy', { UserName: 'grant-user', PolicyName: 'rnd' })).toEqual({ UserName: 'grant-user', PolicyName: 'rnd', PolicyDocument: doc });
    expect((await ok(server.url, ADMIN, 'ListUserPolicies', { UserName: 'grant-user' })).PolicyNames).toEqual(['rnd']);
    const bad = await call(server.url, ADMIN, 'PutUserPolicy', { UserName: 'grant-user', PolicyName: 'x', PolicyDocument: '{"Statement":[]}' });
    expect(bad.body.__type).toBe('MalformedPolicyDocumentException');
    await ok(server.url, ADMIN, 'DeleteUserPolicy', { UserName: 'grant-user', PolicyName: 'rnd' });
    expect((await call(server.url, ADMIN, 'GetUserPolicy', { UserName: 'grant-user', PolicyName: 'rnd' })).body.__type).toBe('NoSuchEntityException');
  });

  it('a user with access keys cannot be deleted until they are gone; a duplicate name is refused', async () => {
    const u = await newUser(server.url, ADMIN, 'temp');
    expect((await call(server.url, ADMIN, 'CreateUser', { UserName: 'temp' })).body.__type).toBe('EntityAlreadyExistsException');
    expect((await call(server.url, ADMIN, 'DeleteUser', { UserName: 'temp' })).body.__type).toBe('DeleteConflictException');
    await ok(server.url, ADMIN, 'DeleteAccessKey', { UserName: 'temp', AccessKeyId: u.accessKeyId });
    await ok(server.url, ADMIN, 'DeleteUser', { UserName: 'temp' });
  });
});

describe('an access key whose user is gone', () => {
  it('authenticates no one (such a key could outlive its user before DeleteUser and CreateAccessKey took turns)', async () => {
    if (!db?.url) return expect.fail('the test removes a user row in Postgres; no Postgres server answered');
    const ghost = await newUser(server.url, ADMIN, 'ghost');
    const sql = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      await sql`delete from users where user_name = 'ghost'`;
    } finally {
      await sql.end();
    }
    expect((await call(server.url, ghost, 'GetUser')).body.__type).toBe('UnrecognizedClientException');
  });
});

describe('audit', () => {
  it('records AccessDenied refusals with the principal ARN and the key', async () => {
    if (!db?.url) return expect.fail('the audit test reads the rows from Postgres; no Postgres server answered');
    const sql = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      const rows = await sql`select * from audit_events where error_code = 'AccessDeniedException' and caller_arn = ${encUser.arn} and operation = 'Decrypt'`;
      expect(rows.length).toBeGreaterThan(0);
      expect(rows[0]).toMatchObject({ outcome: 'Failure', key_arn: keyArn });
      const allowed = await sql`select * from audit_events where outcome = 'Success' and caller_arn = ${partner.arn} and operation = 'Encrypt'`;
      expect(allowed[0]).toMatchObject({ key_arn: keyArn });
      expect(JSON.stringify(await sql`select * from audit_events`)).not.toContain(partner.secretAccessKey);
    } finally {
      await sql.end();
    }
  });
});
