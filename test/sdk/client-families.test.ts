// CofferClient's methods for the families beyond kms.ts, against the real server: asymmetric keys, HMAC, rotation,
// grants, CofferIdentity. and CofferAudit., with answers in AWS's shapes (dates as Date, blobs as bytes).
import {
  constants, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, publicEncrypt, randomBytes, sign as nodeSign, verify as nodeVerify,
} from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CofferClient } from '../../sdk/client.js';
import { AccessDeniedException, KMSInvalidMacException, ValidationException, KMSInvalidSignatureException, NotFoundException } from '../../sdk/errors.js';
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

describe('key agreement and data key pairs', () => {
  it('derives the ECDH secret node:crypto derives from the other side', async () => {
    const key = (await client.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'KEY_AGREEMENT' })).KeyMetadata!;
    const mine = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const PublicKey = mine.publicKey.export({ type: 'spki', format: 'der' });
    const r = await client.deriveSharedSecret({ KeyId: key.KeyId, KeyAgreementAlgorithm: 'ECDH', PublicKey });
    expect(r).toMatchObject({ KeyId: key.Arn, KeyAgreementAlgorithm: 'ECDH', KeyOrigin: 'AWS_KMS' });
    const theirs = createPublicKey({ key: Buffer.from((await client.getPublicKey({ KeyId: key.KeyId })).PublicKey!), format: 'der', type: 'spki' });
    expect(Buffer.from(r.SharedSecret!).equals(diffieHellman({ privateKey: mine.privateKey, publicKey: theirs }))).toBe(true);
  });

  it('generates a data key pair whose private key signs for its public key and decrypts from its ciphertext', async () => {
    const key = (await client.createKey({})).KeyMetadata!;
    const pair = await client.generateDataKeyPair({ KeyId: key.KeyId, KeyPairSpec: 'ECC_NIST_P256' });
    expect(pair).toMatchObject({ KeyId: key.Arn, KeyPairSpec: 'ECC_NIST_P256' });
    const priv = createPrivateKey({ key: Buffer.from(pair.PrivateKeyPlaintext!), format: 'der', type: 'pkcs8' });
    const pub = createPublicKey({ key: Buffer.from(pair.PublicKey!), format: 'der', type: 'spki' });
    expect(nodeVerify('sha256', text('m'), pub, nodeSign('sha256', text('m'), priv))).toBe(true);
    const back = await client.decrypt({ CiphertextBlob: pair.PrivateKeyCiphertextBlob! });
    expect(Buffer.from(back.Plaintext!).equals(Buffer.from(pair.PrivateKeyPlaintext!))).toBe(true);
    const without = await client.generateDataKeyPairWithoutPlaintext({ KeyId: key.KeyId, KeyPairSpec: 'RSA_2048' });
    expect(without.PublicKey).toBeInstanceOf(Uint8Array);
    expect(without).not.toHaveProperty('PrivateKeyPlaintext');
  });
});

describe('imported key material', () => {
  it('imports wrapped material with ValidTo as a Date; a Date in the past is refused', async () => {
    const key = (await client.createKey({ Origin: 'EXTERNAL' })).KeyMetadata!;
    const params = await client.getParametersForImport({ KeyId: key.KeyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' });
    expect(params.ParametersValidTo).toBeInstanceOf(Date);
    expect(params.ImportToken).toBeInstanceOf(Uint8Array);
    const wrapping = createPublicKey({ key: Buffer.from(params.PublicKey!), format: 'der', type: 'spki' });
    const EncryptedKeyMaterial = publicEncrypt({ key: wrapping, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, randomBytes(32));
    const base = { KeyId: key.KeyId, ImportToken: params.ImportToken!, EncryptedKeyMaterial, ExpirationModel: 'KEY_MATERIAL_EXPIRES' };
    const past = await client.importKeyMaterial({ ...base, ValidTo: new Date(Date.now() - 60_000) }).catch((e: unknown) => e);
    expect(past).toBeInstanceOf(ValidationException);
    expect((past as Error).message).toBe('ValidTo must be in the future.');
    await client.importKeyMaterial({ ...base, ValidTo: new Date(Date.now() + 86_400_000) });
    expect((await client.describeKey({ KeyId: key.KeyId })).KeyMetadata).toMatchObject({ KeyState: 'Enabled', Origin: 'EXTERNAL' });
    const enc = await client.encrypt({ KeyId: key.KeyId, Plaintext: text('imported') });
    expect(Buffer.from((await client.decrypt({ CiphertextBlob: enc.CiphertextBlob! })).Plaintext!).toString()).toBe('imported');
    await client.deleteImportedKeyMaterial({ KeyId: key.KeyId });
    expect((await client.describeKey({ KeyId: key.KeyId })).KeyMetadata!.KeyState).toBe('PendingImport');
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
    // The Decrypt just made is the key's last use, its dates decoded as Dates like every other.
    const usage = await client.getKeyLastUsage({ KeyId: key.KeyId });
    expect(usage).toMatchObject({ KeyId: key.KeyId, KeyLastUsage: { Operation: 'Decrypt' } });
    for (const d of [usage.KeyLastUsage!.Timestamp, usage.TrackingStartDate, usage.KeyCreationDate]) expect(d).toBeInstanceOf(Date);
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
    const auditKey = createPublicKey({ key: Buffer.from(pub.PublicKey!), format: 'der', type: 'spki' });
    expect(auditKey.asymmetricKeyType).toBe('ec');
    const cp = await client.audit.createCheckpoint();
    expect(Buffer.from(cp.PublicKey!).equals(Buffer.from(pub.PublicKey!))).toBe(true);
    expect(cp.Signature).toBeInstanceOf(Uint8Array);
    expect(cp.ChainSeq).toBeGreaterThan(0);
    expect(new Date(cp.Time!).getTime()).not.toBeNaN();
  });
});
