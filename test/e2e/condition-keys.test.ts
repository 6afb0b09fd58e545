// End-to-end: the request condition keys AWS KMS documents for management operations, through the AWS SDK. Each
// key policy denies one value of one key (the administrator is allowed kms:* by the same policy, so only the
// condition decides), and each test shows the same call allowed with another value.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  CancelKeyDeletionCommand, CreateGrantCommand, CreateKeyCommand, EnableKeyRotationCommand, EncryptCommand, GenerateDataKeyPairCommand, GetParametersForImportCommand,
  ImportKeyMaterialCommand, PutKeyPolicyCommand, ScheduleKeyDeletionCommand, TagResourceCommand, UntagResourceCommand,
} from '@aws-sdk/client-kms';
import { newUser, ok, type Credentials } from '../helpers/identity.js';
import { ACCOUNT, ADMIN, failure, serverPerFile } from '../helpers/server.js';
import { wrap } from '../helpers/wrap-material.js';

const ctx = serverPerFile();

const root = { Sid: 'root', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' };
const deny = (Action: string, Condition: object) => ({ Effect: 'Deny', Principal: '*', Action, Resource: '*', Condition });
const keyWith = async (statements: object[], extra: object = {}) =>
  (await ctx.kms.send(new CreateKeyCommand({ Policy: JSON.stringify({ Version: '2012-10-17', Statement: [root, ...statements] }), ...extra }))).KeyMetadata!.KeyId!;
const denied = async (p: Promise<unknown>) => expect((await failure(p)).name).toBe('AccessDeniedException');
/** A key-policy statement letting the user encrypt when the condition holds. */
const encryptFor = (user: { arn: string }, Condition: object) => ({ Effect: 'Allow', Principal: { AWS: user.arn }, Action: 'kms:Encrypt', Resource: '*', Condition });
/** For each key, whether the user may encrypt under it through its own client: false only for AccessDeniedException. */
async function mayEncrypt(user: Credentials, keyIds: string[]): Promise<boolean[]> {
  const kms = ctx.server.client(user);
  try {
    const out: boolean[] = [];
    for (const KeyId of keyIds) {
      const r = await kms.send(new EncryptCommand({ KeyId, Plaintext: randomBytes(8) })).then(
        (e) => e.CiphertextBlob !== undefined,
        (e: unknown) => (e instanceof Error && e.name === 'AccessDeniedException' ? false : Promise.reject(e)),
      );
      out.push(r);
    }
    return out;
  } finally {
    kms.destroy();
  }
}

describe('condition keys of management requests', () => {
  it('kms:ScheduleKeyDeletionPendingWindowInDays and kms:RotationPeriodInDays', async () => {
    const KeyId = await keyWith([
      deny('kms:ScheduleKeyDeletion', { NumericLessThan: { 'kms:ScheduleKeyDeletionPendingWindowInDays': '14' } }),
      deny('kms:EnableKeyRotation', { NumericGreaterThan: { 'kms:RotationPeriodInDays': '365' } }),
    ]);
    await denied(ctx.kms.send(new ScheduleKeyDeletionCommand({ KeyId, PendingWindowInDays: 7 })));
    await denied(ctx.kms.send(new EnableKeyRotationCommand({ KeyId, RotationPeriodInDays: 400 })));
    await ctx.kms.send(new EnableKeyRotationCommand({ KeyId, RotationPeriodInDays: 180 }));
    // Without PendingWindowInDays the window is AWS's default, 30 days: allowed.
    expect((await ctx.kms.send(new ScheduleKeyDeletionCommand({ KeyId }))).PendingWindowInDays).toBe(30);
    await ctx.kms.send(new CancelKeyDeletionCommand({ KeyId }));
  });

  it('aws:RequestTag/<key> and aws:TagKeys for TagResource and UntagResource; kms:GrantIsForAWSResource is false', async () => {
    const KeyId = await keyWith([
      deny('kms:TagResource', { StringEquals: { 'aws:RequestTag/env': 'forbidden' } }),
      deny('kms:TagResource', { 'ForAnyValue:StringEquals': { 'aws:TagKeys': 'owner' } }),
      deny('kms:UntagResource', { 'ForAnyValue:StringEquals': { 'aws:TagKeys': 'team' } }),
      deny('kms:CreateGrant', { Bool: { 'kms:GrantIsForAWSResource': 'false' } }),
    ]);
    await denied(ctx.kms.send(new TagResourceCommand({ KeyId, Tags: [{ TagKey: 'env', TagValue: 'forbidden' }] })));
    await denied(ctx.kms.send(new TagResourceCommand({ KeyId, Tags: [{ TagKey: 'team', TagValue: 'a' }, { TagKey: 'owner', TagValue: 'b' }] })));
    await ctx.kms.send(new TagResourceCommand({ KeyId, Tags: [{ TagKey: 'env', TagValue: 'dev' }, { TagKey: 'team', TagValue: 'a' }] }));
    await denied(ctx.kms.send(new UntagResourceCommand({ KeyId, TagKeys: ['env', 'team'] })));
    await ctx.kms.send(new UntagResourceCommand({ KeyId, TagKeys: ['env'] }));
    await denied(ctx.kms.send(new CreateGrantCommand({ KeyId, GranteePrincipal: `arn:aws:iam::${ACCOUNT}:user/bob`, Operations: ['Encrypt'] })));
  });

  it('the lockout safety check knows the caller\'s aws:PrincipalAccount and aws:PrincipalType, and the aws:RequestedRegion', async () => {
    const guarded = (key: string, value: string) =>
      JSON.stringify({ Version: '2012-10-17', Statement: [root, deny('kms:*', { StringNotEquals: { [key]: value } })] });
    // Denies everyone outside the account (resp. region): not the caller, so no lockout.
    const other = { 'aws:PrincipalAccount': '444455556666', 'aws:RequestedRegion': 'eu-west-1', 'aws:PrincipalType': 'AssumedRole' };
    for (const [key, value] of [['aws:PrincipalAccount', ACCOUNT], ['aws:RequestedRegion', 'us-east-1'], ['aws:PrincipalType', 'User']] as const) {
      const KeyId = (await ctx.kms.send(new CreateKeyCommand({ Policy: guarded(key, value) }))).KeyMetadata!.KeyId!;
      await ctx.kms.send(new PutKeyPolicyCommand({ KeyId, Policy: guarded(key, value) }));
      // Another account's value would lock the caller out: refused as AWS refuses it.
      const refused = await failure(ctx.kms.send(new PutKeyPolicyCommand({ KeyId, Policy: guarded(key, other[key]) })));
      expect(refused.name).toBe('MalformedPolicyDocumentException');
    }
  });

  it('aws:userid is the calling user\'s unique id (AIDA…) and aws:PrincipalType is User', async () => {
    const user = await newUser(ctx.server.url, ADMIN, 'uid-holder');
    const userId = ((await ok(ctx.server.url, ADMIN, 'GetUser', { UserName: 'uid-holder' })).User as { UserId: string }).UserId;
    expect(userId).toMatch(/^AIDA[A-Z2-7]{16}$/);
    const mine = await keyWith([encryptFor(user, { StringEquals: { 'aws:userid': userId, 'aws:PrincipalType': 'User' } })]);
    const someoneElses = await keyWith([encryptFor(user, { StringEquals: { 'aws:userid': 'AIDAAAAAAAAAAAAAAAAA' } })]);
    const roles = await keyWith([encryptFor(user, { StringEquals: { 'aws:PrincipalType': 'AssumedRole' } })]);
    expect(await mayEncrypt(user, [mine, someoneElses, roles])).toEqual([true, false, false]);
  });

  it('policy variables: a key policy lets each user use the keys tagged with their own name (${aws:username})', async () => {
    const user = await newUser(ctx.server.url, ADMIN, 'tag-owner');
    const statement = encryptFor(user, { StringEquals: { 'aws:ResourceTag/owner': '${aws:username}' } });
    const keys = [];
    for (const owner of ['tag-owner', 'someone-else', '${aws:username}']) keys.push(await keyWith([statement], { Tags: [{ TagKey: 'owner', TagValue: owner }] }));
    expect(await mayEncrypt(user, keys)).toEqual([true, false, false]);
  });

  it('aws:PrincipalTag/<key>: a key policy matches the user\'s tag against the key\'s (${aws:PrincipalTag/project}), at once after TagUser', async () => {
    const user = await newUser(ctx.server.url, ADMIN, 'project-member');
    const statement = encryptFor(user, { StringEquals: { 'aws:ResourceTag/project': '${aws:PrincipalTag/project}', 'aws:PrincipalTag/level': 'senior' } });
    const apollo = await keyWith([statement], { Tags: [{ TagKey: 'project', TagValue: 'apollo' }] });
    const gemini = await keyWith([statement], { Tags: [{ TagKey: 'project', TagValue: 'gemini' }] });
    expect(await mayEncrypt(user, [apollo])).toEqual([false]); // no tags yet
    await ok(ctx.server.url, ADMIN, 'TagUser', { UserName: 'project-member', Tags: [{ Key: 'project', Value: 'apollo' }, { Key: 'level', Value: 'senior' }] });
    expect(await mayEncrypt(user, [apollo, gemini])).toEqual([true, false]);
    await ok(ctx.server.url, ADMIN, 'UntagUser', { UserName: 'project-member', TagKeys: ['level'] });
    expect(await mayEncrypt(user, [apollo])).toEqual([false]);
  });

  it('aws:RequestTag/<key> for CreateKey in a user policy', async () => {
    const user = await newUser(ctx.server.url, ADMIN, 'tagged-creator');
    const PolicyDocument = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'kms:CreateKey', Resource: '*', Condition: { StringEquals: { 'aws:RequestTag/team': 'payments' } } }],
    });
    await ok(ctx.server.url, ADMIN, 'PutUserPolicy', { UserName: 'tagged-creator', PolicyName: 'create-tagged', PolicyDocument });
    const kms = ctx.server.client(user);
    try {
      await denied(kms.send(new CreateKeyCommand({})));
      await denied(kms.send(new CreateKeyCommand({ Tags: [{ TagKey: 'team', TagValue: 'ads' }] })));
      const made = await kms.send(new CreateKeyCommand({ Tags: [{ TagKey: 'team', TagValue: 'payments' }] }));
      expect(made.KeyMetadata!.KeyState).toBe('Enabled');
    } finally {
      kms.destroy();
    }
  });

  it('kms:DataKeyPairSpec, kms:WrappingKeySpec, kms:WrappingAlgorithm, kms:ExpirationModel and kms:ValidTo', async () => {
    const pairs = await keyWith([deny('kms:GenerateDataKeyPair', { StringEquals: { 'kms:DataKeyPairSpec': 'RSA_4096' } })]);
    await denied(ctx.kms.send(new GenerateDataKeyPairCommand({ KeyId: pairs, KeyPairSpec: 'RSA_4096' })));
    expect((await ctx.kms.send(new GenerateDataKeyPairCommand({ KeyId: pairs, KeyPairSpec: 'ECC_NIST_P256' }))).KeyPairSpec).toBe('ECC_NIST_P256');

    const inTwoDays = Math.floor(Date.now() / 1000) + 2 * 86_400;
    const KeyId = await keyWith([
      deny('kms:GetParametersForImport', { StringEquals: { 'kms:WrappingKeySpec': 'RSA_4096' } }),
      deny('kms:GetParametersForImport', { StringEquals: { 'kms:WrappingAlgorithm': 'RSAES_OAEP_SHA_1' } }),
      deny('kms:ImportKeyMaterial', { StringEquals: { 'kms:ExpirationModel': 'KEY_MATERIAL_DOES_NOT_EXPIRE' } }),
      deny('kms:ImportKeyMaterial', { NumericGreaterThan: { 'kms:ValidTo': String(inTwoDays) } }),
    ], { Origin: 'EXTERNAL' });
    await denied(ctx.kms.send(new GetParametersForImportCommand({ KeyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_4096' })));
    await denied(ctx.kms.send(new GetParametersForImportCommand({ KeyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_1', WrappingKeySpec: 'RSA_2048' })));
    const p = await ctx.kms.send(new GetParametersForImportCommand({ KeyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }));
    const material = wrap('RSAES_OAEP_SHA_256', p.PublicKey!, randomBytes(32));
    const importWith = (expiry: object) => ctx.kms.send(new ImportKeyMaterialCommand({ KeyId, ImportToken: p.ImportToken, EncryptedKeyMaterial: material, ...expiry }));
    await denied(importWith({ ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' }));
    await denied(importWith({ ExpirationModel: 'KEY_MATERIAL_EXPIRES', ValidTo: new Date((inTwoDays + 86_400) * 1000) }));
    expect((await importWith({ ExpirationModel: 'KEY_MATERIAL_EXPIRES', ValidTo: new Date((inTwoDays - 86_400) * 1000) })).KeyMaterialId).toMatch(/^[0-9a-f]{64}$/);
  });
});
