// The policy Authorizer's decisions over in-memory key policies, user policies and grants (pure logic).
import { describe, expect, it } from 'vitest';
import type { AuthorizationRequest } from '../../core/authorization.js';
import type { Grant } from '../../core/identity-model.js';
import type { Caller, Key } from '../../core/model.js';
import type { Repositories } from '../../core/ports.js';
import { grantAllows, policyAuthorizer } from '../../core/policy/authorizer.js';

const A = '111122223333';
const B = '444455556666';
const KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';
const KEY_ARN = `arn:aws:kms:us-east-1:${A}:key/${KEY_ID}`;
const key: Key = {
  id: KEY_ID, accountId: A, description: '', keySpec: 'SYMMETRIC_DEFAULT', keyUsage: 'ENCRYPT_DECRYPT', origin: 'AWS_KMS', state: 'Enabled',
  createdAt: new Date(0), deletionDate: null, pendingWindowDays: null, currentVersionId: 'v1',
};
const caller = (acct: string, userName: string): Caller => ({ arn: `arn:aws:iam::${acct}:user/${userName}`, accountId: acct, userName, accessKeyId: 'AKIA' });
const doc = (...Statement: object[]) => JSON.stringify({ Version: '2012-10-17', Statement });
const rootKms = (acct: string) => ({ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${acct}:root` }, Action: 'kms:*', Resource: '*' });

interface World {
  keyPolicy?: string | null;
  userPolicies?: Record<string, string[]>;
  grants?: Grant[];
}

function repos(w: World): Repositories {
  return {
    keyPolicies: { get: async () => w.keyPolicy ?? null, put: async () => {} },
    userPolicies: {
      list: async (acct: string, user: string) => (w.userPolicies?.[`${acct}/${user}`] ?? []).map((d, i) => ({ accountId: acct, userName: user, policyName: `p${i}`, document: d })),
    },
    grants: { listForKey: async (_k: string, grantee?: string) => (w.grants ?? []).filter((g) => g.granteePrincipal === grantee) },
    tags: { list: async () => ({ items: [{ TagKey: 'env', TagValue: 'prod' }], next: null }) },
    aliases: { list: async () => ({ items: [], next: null }) },
  } as unknown as Repositories;
}

const req = (action: string, conditions: AuthorizationRequest['conditions'] = {}, k: Key | null = key): AuthorizationRequest =>
  ({ action, key: k, resource: k ? KEY_ARN : '*', conditions });

async function decide(w: World, c: Caller, r: AuthorizationRequest): Promise<string> {
  try {
    await policyAuthorizer.authorize(repos(w), c, r);
    return 'allow';
  } catch (e) {
    return (e as Error).message.replace(/^.* on resource: \S+ /, '');
  }
}

const grant = (over: Partial<Grant>): Grant => ({
  grantId: 'g', keyId: KEY_ID, keyAccountId: A, name: null, granteePrincipal: caller(A, 'bob').arn, retiringPrincipal: null,
  operations: ['Decrypt'], constraints: null, issuingAccount: A, token: 't', createdAt: new Date(0), ...over,
});

describe('policyAuthorizer', () => {
  it('the account admin uses keys under the default key policy (no stored policy)', async () => {
    expect(await decide({}, caller(A, 'admin'), req('kms:Decrypt'))).toBe('allow');
  });

  it('the admin is refused when the key policy does not name the account root', async () => {
    const w = { keyPolicy: doc({ Effect: 'Allow', Principal: { AWS: caller(A, 'bob').arn }, Action: 'kms:*', Resource: '*' }) };
    expect(await decide(w, caller(A, 'admin'), req('kms:Decrypt'))).toBe('because no resource-based policy allows the kms:Decrypt action');
  });

  it('a user needs an identity policy when the key policy names only the account', async () => {
    const bob = caller(A, 'bob');
    expect(await decide({}, bob, req('kms:Encrypt'))).toBe('because no identity-based policy allows the kms:Encrypt action');
    const w = { userPolicies: { [`${A}/bob`]: [doc({ Effect: 'Allow', Action: 'kms:Encrypt', Resource: KEY_ARN })] } };
    expect(await decide(w, bob, req('kms:Encrypt'))).toBe('allow');
  });

  it('a key policy naming the user allows without an identity policy', async () => {
    const w = { keyPolicy: doc({ Effect: 'Allow', Principal: { AWS: caller(A, 'bob').arn }, Action: 'kms:Encrypt', Resource: '*' }) };
    expect(await decide(w, caller(A, 'bob'), req('kms:Encrypt'))).toBe('allow');
  });

  it('an explicit Deny in the key policy beats the admin and grants', async () => {
    const w = {
      keyPolicy: doc(rootKms(A), { Effect: 'Deny', Principal: '*', Action: 'kms:Decrypt', Resource: '*', Condition: { StringEquals: { 'aws:ResourceTag/env': 'prod' } } }),
      grants: [grant({ granteePrincipal: caller(A, 'admin').arn })],
    };
    expect(await decide(w, caller(A, 'admin'), req('kms:Decrypt'))).toBe('with an explicit deny in a resource-based policy');
    expect(await decide(w, caller(A, 'admin'), req('kms:Encrypt'))).toBe('allow');
  });

  it('resource tags are looked up when either the key policy or an identity policy names them, in any letter case', async () => {
    const bob = caller(A, 'bob');
    const byTag = (key: string) => doc({ Effect: 'Allow', Action: 'kms:Encrypt', Resource: '*', Condition: { StringEquals: { [key]: 'prod' } } });
    expect(await decide({ userPolicies: { [`${A}/bob`]: [byTag('aws:ResourceTag/env')] } }, bob, req('kms:Encrypt'))).toBe('allow');
    expect(await decide({ userPolicies: { [`${A}/bob`]: [byTag('AWS:RESOURCETAG/env')] } }, bob, req('kms:Encrypt'))).toBe('allow');
    expect(await decide({ userPolicies: { [`${A}/bob`]: [byTag('aws:ResourceTag/team')] } }, bob, req('kms:Encrypt'))).not.toBe('allow');
    const keyDenies = { keyPolicy: doc(rootKms(A), { Effect: 'Deny', Principal: '*', Action: 'kms:Encrypt', Resource: '*', Condition: { StringEquals: { 'aws:resourcetag/env': 'prod' } } }) };
    expect(await decide(keyDenies, caller(A, 'admin'), req('kms:Encrypt'))).toBe('with an explicit deny in a resource-based policy');
  });

  it('cross-account: both policies must allow, and only for the operations AWS allows across accounts', async () => {
    const carol = caller(B, 'carol');
    const w: World = { keyPolicy: doc(rootKms(A), { Effect: 'Allow', Principal: { AWS: B }, Action: 'kms:*', Resource: '*' }) };
    expect(await decide(w, carol, req('kms:Encrypt'))).toBe('because no identity-based policy allows the kms:Encrypt action');
    w.userPolicies = { [`${B}/carol`]: [doc({ Effect: 'Allow', Action: 'kms:*', Resource: '*' })] };
    expect(await decide(w, carol, req('kms:Encrypt'))).toBe('allow');
    expect(await decide(w, carol, req('kms:DisableKey'))).toBe('because no resource-based policy allows the kms:DisableKey action');
    expect(await decide(w, caller(B, 'admin'), req('kms:Decrypt'))).toBe('allow');
    expect(await decide({}, caller(B, 'admin'), req('kms:Decrypt'))).toBe('because no resource-based policy allows the kms:Decrypt action');
  });

  it('a grant allows its operations to its grantee, within its constraints', async () => {
    const bob = caller(A, 'bob');
    const w = { grants: [grant({ constraints: { EncryptionContextEquals: { t: 'a' } } })] };
    expect(await decide(w, bob, req('kms:Decrypt', { 'kms:EncryptionContext:t': 'a' }))).toBe('allow');
    expect(await decide(w, bob, req('kms:Decrypt', { 'kms:EncryptionContext:t': 'a', 'kms:EncryptionContext:u': 'b' }))).not.toBe('allow');
    expect(await decide(w, bob, req('kms:Encrypt', { 'kms:EncryptionContext:t': 'a' }))).not.toBe('allow');
    expect(await decide(w, caller(A, 'eve'), req('kms:Decrypt', { 'kms:EncryptionContext:t': 'a' }))).not.toBe('allow');
  });

  it('account-level actions are decided by identity policies', async () => {
    expect(await decide({}, caller(A, 'admin'), req('kms:CreateKey', {}, null))).toBe('allow');
    expect(await decide({}, caller(A, 'bob'), req('kms:CreateKey', {}, null))).toBe('because no identity-based policy allows the kms:CreateKey action');
    const w = { userPolicies: { [`${A}/bob`]: [doc({ Effect: 'Allow', Action: 'kms:*', Resource: '*' }, { Effect: 'Deny', Action: 'kms:CreateKey', Resource: '*' })] } };
    expect(await decide(w, caller(A, 'bob'), req('kms:CreateKey', {}, null))).toBe('with an explicit deny in an identity-based policy');
  });
});

describe('grantAllows', () => {
  const bob = caller(A, 'bob');
  it.each([
    [{ EncryptionContextSubset: { t: 'a' } }, { 'kms:EncryptionContext:t': 'a', 'kms:EncryptionContext:u': 'x' }, true],
    [{ EncryptionContextSubset: { t: 'a' } }, { 'kms:EncryptionContext:t': 'b' }, false],
    [{ EncryptionContextSubset: { t: 'a' } }, {}, false],
    [{ EncryptionContextEquals: { t: 'a' } }, { 'kms:EncryptionContext:t': 'a' }, true],
    [{ EncryptionContextEquals: { t: 'a' } }, { 'kms:EncryptionContext:t': 'a', 'kms:EncryptionContext:u': 'x' }, false],
  ])('constraints %j with %j: %s', (constraints, conditions, expected) => {
    expect(grantAllows(grant({ constraints }), bob, 'kms:Decrypt', conditions)).toBe(expected);
  });
});
