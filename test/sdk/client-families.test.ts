// CofferClient's methods for the families beyond kms.ts, against the real server: asymmetric keys, HMAC, rotation,
// grants, CofferIdentity. and CofferAudit., with answers in AWS's shapes (dates as Date, blobs as bytes).
import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CofferClient } from '../../sdk/client.js';
import { AccessDeniedException, KMSInvalidMacException, KMSInvalidSignatureException, NotFoundException } from '../../sdk/errors.js';
import { ACCOUNT, ADMIN, REGION, startCoffer, type CofferProcess } from '../helpers/server.js';

let server: CofferProcess;
let client: CofferClient;
const as = (credentials: { accessKeyId: string; secretAccessKey: string }) => new CofferClient({ endpoint: server.url, region: REGION, credentials, env: {}, maxAttempts: 1 });
beforeAll(async () => {
  server = await startCoffer();
  client = as(ADMIN);
});
afterAll(async () => {
  await server?.stop();
});

const text = (s: string) => new TextEncoder().encode(s);

describe('asymmetric and HMAC keys', () => {
  it('signs with ECC_NIST_P256 and RSA_2048 keys; node:crypto verifies with the public key from GetPublicKey', async () => {
    const message = text('signed by coffer');
    for (const [KeySpec, SigningAlgorithm, hash] of [['ECC_NIST_P256', 'ECDSA_SHA_256', 'sha256'], ['RSA_2048', 'RSASSA_PKCS1_V1_5_SHA_256', 'sha256']] as const) {
      const key = (await client.createKey({ KeySpec, KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!;
      const signed = await client.sign({ KeyId: key.KeyId, Message: message, SigningAlgorithm });
      expect(signed.Signature).toBeInstanceOf(Uint8Array);
      expect(signed).toMatchObject({ KeyId: key.Arn, SigningAlgorithm });
      const pub = await client.getPublicKey({ KeyId: key.KeyId });
      expect(pub).toMatchObject({ KeyId: key.Arn, KeySpec, KeyUsage: 'SIGN_VERIFY' });
      expect(pub.SigningAlgorithms).toContain(SigningAlgorithm);
      const spki = createPublicKey({ key: Buffer.from(pub.PublicKey!), format: 'der', type: 'spki' });
      expect(nodeVerify(hash, message, spki, signed.Signature!), KeySpec).toBe(true);
      expect(nodeVerify(hash, text('another message'), spki, signed.Signature!), KeySpec).toBe(false);
      const ok = await client.verify({ KeyId: key.KeyId, Message: message, Signature: signed.Signature!, SigningAlgorithm });
      expect(ok).toMatchObject({ SignatureValid: true, KeyId: key.Arn, SigningAlgorithm });
      const bad = await client.verify({ KeyId: key.KeyId, Message: text('tampered'), Signature: signed.Signature!, SigningAlgorithm }).catch((e: unknown) => e);
      expect(bad).toBeInstanceOf(KMSInvalidSignatureException);
    }
  });

  it('generates and verifies an HMAC; another message is KMSInvalidMacException', async () => {
    const key = (await client.createKey({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' })).KeyMetadata!;
    const Message = text('mac me');
    const mac = await client.generateMac({ KeyId: key.KeyId, Message, MacAlgorithm: 'HMAC_SHA_256' });
    expect(mac.Mac).toBeInstanceOf(Uint8Array);
    expect(mac.Mac!.length).toBe(32);
    expect(mac).toMatchObject({ KeyId: key.Arn, MacAlgorithm: 'HMAC_SHA_256' });
    const again = await client.generateMac({ KeyId: key.KeyId, Message, MacAlgorithm: 'HMAC_SHA_256' });
    expect(Buffer.from(again.Mac!)).toEqual(Buffer.from(mac.Mac!));
    expect(await client.verifyMac({ KeyId: key.KeyId, Message, Mac: mac.Mac!, MacAlgorithm: 'HMAC_SHA_256' })).toMatchObject({ MacValid: true, KeyId: key.Arn });
    const bad = await client.verifyMac({ KeyId: key.KeyId, Message: text('other'), Mac: mac.Mac!, MacAlgorithm: 'HMAC_SHA_256' }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(KMSInvalidMacException);
  });
});

describe('rotation', () => {
  it('enables rotation, rotates on demand and lists the rotation; old ciphertexts still decrypt', async () => {
    const key = (await client.createKey({})).KeyMetadata!;
    const before = await client.encrypt({ KeyId: key.KeyId, Plaintext: text('before rotation') });
    await client.enableKeyRotation({ KeyId: key.KeyId, RotationPeriodInDays: 90 });
    const status = await client.getKeyRotationStatus({ KeyId: key.KeyId });
    expect(status).toMatchObject({ KeyRotationEnabled: true, RotationPeriodInDays: 90, KeyId: key.Arn });
    expect(status.NextRotationDate).toBeInstanceOf(Date);
    expect((await client.listKeyRotations({ KeyId: key.KeyId })).Rotations).toEqual([]);
    expect(await client.rotateKeyOnDemand({ KeyId: key.KeyId })).toEqual({ KeyId: key.Arn });
    const listed = await client.listKeyRotations({ KeyId: key.KeyId });
    expect(listed.Rotations).toHaveLength(1);
    expect(listed.Rotations![0]).toMatchObject({ KeyId: key.Arn, RotationType: 'ON_DEMAND' });
    expect(listed.Rotations![0]!.RotationDate).toBeInstanceOf(Date);
    expect(listed.Truncated).toBe(false);
    expect(Buffer.from((await client.decrypt({ CiphertextBlob: before.CiphertextBlob! })).Plaintext!).toString()).toBe('before rotation');
    await client.disableKeyRotation({ KeyId: key.KeyId });
    expect((await client.getKeyRotationStatus({ KeyId: key.KeyId })).KeyRotationEnabled).toBe(false);
  });
});

describe('grants and identity', () => {
  it('creates a user and an access key, gives the user a grant and a policy, lists and revokes the grant', async () => {
    const userName = `sdk-user-${process.pid}`;
    const { User } = await client.identity.createUser({ UserName: userName });
    expect(User).toMatchObject({ UserName: userName, Arn: `arn:aws:iam::${ACCOUNT}:user/${userName}`, Path: '/' });
    expect(User.CreateDate).toBeInstanceOf(Date);
    const { AccessKey } = await client.identity.createAccessKey({ UserName: userName });
    expect(AccessKey).toMatchObject({ UserName: userName, Status: 'Active' });
    expect(AccessKey.SecretAccessKey.length).toBeGreaterThan(20);
    const user = as({ accessKeyId: AccessKey.AccessKeyId, secretAccessKey: AccessKey.SecretAccessKey });

    const key = (await client.createKey({})).KeyMetadata!;
    const sealed = await client.encrypt({ KeyId: key.KeyId, Plaintext: text('for the grantee') });
    expect(await user.decrypt({ CiphertextBlob: sealed.CiphertextBlob! }).catch((e: unknown) => e)).toBeInstanceOf(AccessDeniedException);
    const grant = await client.createGrant({ KeyId: key.KeyId, GranteePrincipal: User.Arn, Operations: ['Decrypt'], Name: 'sdk-grant' });
    expect(typeof grant.GrantId).toBe('string');
    expect(typeof grant.GrantToken).toBe('string');
    expect(Buffer.from((await user.decrypt({ CiphertextBlob: sealed.CiphertextBlob! })).Plaintext!).toString()).toBe('for the grantee');
    const listed = await client.listGrants({ KeyId: key.KeyId });
    expect(listed.Grants).toHaveLength(1);
    expect(listed.Grants![0]).toMatchObject({ GrantId: grant.GrantId, Name: 'sdk-grant', GranteePrincipal: User.Arn, Operations: ['Decrypt'], KeyId: key.Arn });
    expect(listed.Grants![0]!.CreationDate).toBeInstanceOf(Date);
    await client.revokeGrant({ KeyId: key.KeyId, GrantId: grant.GrantId! });
    expect((await client.listGrants({ KeyId: key.KeyId })).Grants).toEqual([]);
    expect(await user.decrypt({ CiphertextBlob: sealed.CiphertextBlob! }).catch((e: unknown) => e)).toBeInstanceOf(AccessDeniedException);

    expect(await user.listKeys().catch((e: unknown) => e)).toBeInstanceOf(AccessDeniedException);
    const PolicyDocument = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:ListKeys', Resource: '*' }] });
    await client.identity.putUserPolicy({ UserName: userName, PolicyName: 'list-keys', PolicyDocument });
    expect((await user.listKeys()).Keys!.map((k) => k.KeyId)).toContain(key.KeyId);
    expect(await client.identity.getUserPolicy({ UserName: userName, PolicyName: 'list-keys' })).toEqual({ UserName: userName, PolicyName: 'list-keys', PolicyDocument });
    expect((await client.identity.listUserPolicies({ UserName: userName })).PolicyNames).toEqual(['list-keys']);
    expect((await client.identity.listAccessKeys({ UserName: userName })).AccessKeyMetadata.map((k) => k.AccessKeyId)).toEqual([AccessKey.AccessKeyId]);
  });

  it('answers NotFoundException for a grant of another key', async () => {
    const key = (await client.createKey({})).KeyMetadata!;
    const e = await client.revokeGrant({ KeyId: key.KeyId, GrantId: 'a'.repeat(64) }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NotFoundException);
  });
});

describe('audit', () => {
  it('looks up events by name with CloudTrail shapes, and returns the audit-signing public key', async () => {
    const key = (await client.createKey({ Description: 'audited' })).KeyMetadata!;
    const found = await client.audit.lookupEvents({ LookupAttributes: [{ AttributeKey: 'ResourceName', AttributeValue: key.Arn! }], StartTime: new Date(Date.now() - 3_600_000) });
    const created = found.Events!.filter((e) => e.EventName === 'CreateKey');
    expect(created).toHaveLength(1);
    expect(created[0]!.EventTime).toBeInstanceOf(Date);
    expect(created[0]!.Resources).toContainEqual(expect.objectContaining({ ResourceName: key.Arn }));
    expect(JSON.parse(created[0]!.CloudTrailEvent!).eventName).toBe('CreateKey');
    const byName = await client.audit.lookupEvents({ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'CreateKey' }], MaxResults: 50 });
    expect(byName.Events!.every((e) => e.EventName === 'CreateKey')).toBe(true);
    const pub = await client.audit.getPublicKey();
    expect(createPublicKey({ key: Buffer.from(pub.PublicKey!), format: 'der', type: 'spki' }).asymmetricKeyType).toBe('ec');
  });
});
