// End-to-end: GetKeyLastUsage through the AWS SDK. A key's last successful cryptographic use names the operation, its
// time, the audit event (CloudTrailEventId, found again with LookupEvents) and the request id the SDK saw; failures,
// reads and management calls leave it alone; ReEncrypt counts for both keys; AWS's refusals.
import { describe, expect, it } from 'vitest';
import {
  CreateAliasCommand, CreateKeyCommand, DecryptCommand, DescribeKeyCommand, DisableKeyCommand, EncryptCommand, GenerateMacCommand,
  GetKeyLastUsageCommand, ReEncryptCommand, ScheduleKeyDeletionCommand, SignCommand, VerifyCommand, type KMSClient,
} from '@aws-sdk/client-kms';
import { call, newUser, ok } from '../helpers/identity.js';
import { ADMIN, failure, serverPerFile } from '../helpers/server.js';

const ctx = serverPerFile();
const data = new TextEncoder().encode('usage');
const lastUsage = (KeyId: string, kms: KMSClient = ctx.kms) => kms.send(new GetKeyLastUsageCommand({ KeyId }));

describe('GetKeyLastUsage', () => {
  it('a new key: empty KeyLastUsage, tracking from its creation, its bare key id', async () => {
    const key = (await ctx.kms.send(new CreateKeyCommand({}))).KeyMetadata!;
    const r = await lastUsage(key.Arn!);
    expect(r.KeyId).toBe(key.KeyId);
    expect(r.KeyLastUsage).toEqual({});
    expect(r.KeyCreationDate).toEqual(key.CreationDate);
    expect(r.TrackingStartDate).toEqual(key.CreationDate);
  });

  it('records the last successful use: operation, time, the request id the SDK saw, the audit event id', async () => {
    const key = (await ctx.kms.send(new CreateKeyCommand({}))).KeyMetadata!;
    const before = Date.now() - 1000;
    const enc = await ctx.kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: data, EncryptionContext: { app: 'a' } }));
    const used = (await lastUsage(key.KeyId!)).KeyLastUsage!;
    expect(used.Operation).toBe('Encrypt');
    expect(used.KmsRequestId).toBe(enc.$metadata.requestId);
    expect(used.Timestamp!.getTime()).toBeGreaterThanOrEqual(before);
    expect(used.Timestamp!.getTime()).toBeLessThanOrEqual(Date.now() + 1000);
    const found = await call(ctx.server.url, ADMIN, 'LookupEvents', { LookupAttributes: [{ AttributeKey: 'EventId', AttributeValue: used.CloudTrailEventId }] }, 'CofferAudit.');
    expect(found.body.Events).toMatchObject([{ EventId: used.CloudTrailEventId, EventName: 'Encrypt', Resources: [{ ResourceName: key.Arn }] }]);

    // A failed Decrypt (wrong context), DescribeKey and DisableKey change nothing.
    expect((await failure(ctx.kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { app: 'b' } })))).name).toBe('InvalidCiphertextException');
    await ctx.kms.send(new DescribeKeyCommand({ KeyId: key.KeyId }));
    const dec = await ctx.kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { app: 'a' } }));
    await ctx.kms.send(new DisableKeyCommand({ KeyId: key.KeyId }));
    expect((await failure(ctx.kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: data })))).name).toBe('DisabledException');
    // Disabled, and then pending deletion: still answered, as AWS does (the point is deciding whether to delete).
    expect((await lastUsage(key.KeyId!)).KeyLastUsage).toMatchObject({ Operation: 'Decrypt', KmsRequestId: dec.$metadata.requestId });
    await ctx.kms.send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId, PendingWindowInDays: 7 }));
    expect((await lastUsage(key.KeyId!)).KeyLastUsage).toMatchObject({ Operation: 'Decrypt', KmsRequestId: dec.$metadata.requestId });
  });

  it('ReEncrypt counts for the source and the destination key; its record lists both and LookupEvents finds it under either', async () => {
    const [a, b] = await Promise.all([0, 1].map(async () => (await ctx.kms.send(new CreateKeyCommand({}))).KeyMetadata!));
    const enc = await ctx.kms.send(new EncryptCommand({ KeyId: a!.KeyId, Plaintext: data }));
    const re = await ctx.kms.send(new ReEncryptCommand({ CiphertextBlob: enc.CiphertextBlob, DestinationKeyId: b!.KeyId }));
    const [ua, ub] = [(await lastUsage(a!.KeyId!)).KeyLastUsage!, (await lastUsage(b!.KeyId!)).KeyLastUsage!];
    expect(ua).toMatchObject({ Operation: 'ReEncrypt', KmsRequestId: re.$metadata.requestId });
    expect(ub).toEqual(ua);
    const found = await call(ctx.server.url, ADMIN, 'LookupEvents', { LookupAttributes: [{ AttributeKey: 'EventId', AttributeValue: ua.CloudTrailEventId }] }, 'CofferAudit.');
    expect((found.body.Events as Array<{ Resources: unknown }>)[0]!.Resources).toEqual([
      { ResourceType: 'AWS::KMS::Key', ResourceName: a!.Arn },
      { ResourceType: 'AWS::KMS::Key', ResourceName: b!.Arn },
    ]);
    // LookupEvents by ResourceName finds it under either key (the source by key id, the destination by ARN).
    const byResource = async (name: string) => {
      const r = await call(ctx.server.url, ADMIN, 'LookupEvents', { LookupAttributes: [{ AttributeKey: 'ResourceName', AttributeValue: name }] }, 'CofferAudit.');
      const events = (r.body.Events as Array<{ EventName: string; EventId: string }>).filter((e) => e.EventName !== 'GetKeyLastUsage');
      return events.map((e) => [e.EventName, e.EventId === ua.CloudTrailEventId]);
    };
    expect(await byResource(a!.KeyId!)).toEqual([['ReEncrypt', true], ['Encrypt', false], ['CreateKey', false]]);
    expect(await byResource(b!.Arn!)).toEqual([['ReEncrypt', true], ['CreateKey', false]]);
  });

  it('signing and MAC keys: Sign, then Verify; GenerateMac', async () => {
    const ecc = (await ctx.kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }))).KeyMetadata!;
    const sig = await ctx.kms.send(new SignCommand({ KeyId: ecc.KeyId, Message: data, SigningAlgorithm: 'ECDSA_SHA_256' }));
    expect((await lastUsage(ecc.KeyId!)).KeyLastUsage!.Operation).toBe('Sign');
    await ctx.kms.send(new VerifyCommand({ KeyId: ecc.KeyId, Message: data, Signature: sig.Signature, SigningAlgorithm: 'ECDSA_SHA_256' }));
    expect((await lastUsage(ecc.KeyId!)).KeyLastUsage!.Operation).toBe('Verify');
    const mac = (await ctx.kms.send(new CreateKeyCommand({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' }))).KeyMetadata!;
    await ctx.kms.send(new GenerateMacCommand({ KeyId: mac.KeyId, Message: data, MacAlgorithm: 'HMAC_SHA_256' }));
    expect((await lastUsage(mac.Arn!)).KeyLastUsage!.Operation).toBe('GenerateMac');
  });

  it('refuses alias names and unknown keys (NotFoundException), and callers without kms:GetKeyLastUsage', async () => {
    const key = (await ctx.kms.send(new CreateKeyCommand({}))).KeyMetadata!;
    await ctx.kms.send(new CreateAliasCommand({ AliasName: 'alias/last-usage', TargetKeyId: key.KeyId }));
    expect((await failure(lastUsage('alias/last-usage'))).name).toBe('NotFoundException');
    expect((await failure(lastUsage('11111111-2222-3333-4444-555555555555'))).name).toBe('NotFoundException');
    const user = await newUser(ctx.server.url, ADMIN, 'usage-reader');
    await ok(ctx.server.url, ADMIN, 'PutUserPolicy', {
      UserName: 'usage-reader', PolicyName: 'encrypt-only',
      PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:Encrypt', Resource: '*' }] }),
    });
    const denied = await failure(lastUsage(key.KeyId!, ctx.server.client(user)));
    expect(denied.name).toBe('AccessDeniedException');
    expect(denied.message).toContain('kms:GetKeyLastUsage');
  });
});
