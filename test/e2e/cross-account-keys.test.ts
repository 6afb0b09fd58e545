// End-to-end: a user of another account, allowed by the key policy and its own identity policy, uses signing, HMAC,
// key-agreement and RSA keys and reads rotation status by key ARN; every response names the key owner's account.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createECDH, createPublicKey } from 'node:crypto';
import {
  CreateKeyCommand, DecryptCommand, DeriveSharedSecretCommand, EncryptCommand, GenerateDataKeyPairCommand, GenerateMacCommand,
  GetKeyRotationStatusCommand, GetPublicKeyCommand, SignCommand, VerifyCommand, VerifyMacCommand, type KeySpec, type KeyUsageType, type KMSClient,
} from '@aws-sdk/client-kms';
import { newUser, ok } from '../helpers/identity.js';
import { ACCOUNT, ADMIN, serverPerFile } from '../helpers/server.js';

const OTHER = '444455556666';
const ctx = serverPerFile();
const Message = new TextEncoder().encode('shared');
const ACTIONS = [
  'kms:Sign', 'kms:Verify', 'kms:GetPublicKey', 'kms:GenerateMac', 'kms:VerifyMac', 'kms:DeriveSharedSecret', 'kms:Encrypt', 'kms:Decrypt',
  'kms:GetKeyRotationStatus', 'kms:GenerateDataKeyPair',
];
const policy = (...statements: object[]) => JSON.stringify({ Version: '2012-10-17', Statement: statements });
let partner: KMSClient;

/** A key of ACCOUNT whose policy lets OTHER use it; its ARN names ACCOUNT. */
async function sharedKey(KeySpec: KeySpec, KeyUsage: KeyUsageType): Promise<string> {
  const Policy = policy(
    { Sid: 'root', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' },
    { Sid: 'partner', Effect: 'Allow', Principal: { AWS: OTHER }, Action: ACTIONS, Resource: '*' },
  );
  const arn = (await ctx.kms.send(new CreateKeyCommand({ KeySpec, KeyUsage, Policy }))).KeyMetadata!.Arn!;
  expect(arn).toContain(`:${ACCOUNT}:key/`);
  return arn;
}

beforeAll(async () => {
  const acct = await ok(ctx.server.url, ADMIN, 'CreateAccount', { AccountName: 'partner', AccountId: OTHER });
  const key = acct.AccessKey as { AccessKeyId: string; SecretAccessKey: string };
  const admin2 = { accessKeyId: key.AccessKeyId, secretAccessKey: key.SecretAccessKey };
  const user = await newUser(ctx.server.url, admin2, 'partner-app');
  await ok(ctx.server.url, admin2, 'PutUserPolicy', {
    UserName: 'partner-app', PolicyName: 'use-shared-keys', PolicyDocument: policy({ Effect: 'Allow', Action: ACTIONS, Resource: `arn:aws:kms:*:${ACCOUNT}:key/*` }),
  });
  partner = ctx.server.client(user);
}, 120_000);

afterAll(() => partner?.destroy());

describe('another account uses a shared key by ARN: responses name the owner', () => {
  it('Sign, Verify and GetPublicKey', async () => {
    const KeyId = await sharedKey('ECC_NIST_P256', 'SIGN_VERIFY');
    const signed = await partner.send(new SignCommand({ KeyId, Message, SigningAlgorithm: 'ECDSA_SHA_256' }));
    expect(signed.KeyId).toBe(KeyId);
    const verified = await partner.send(new VerifyCommand({ KeyId, Message, Signature: signed.Signature, SigningAlgorithm: 'ECDSA_SHA_256' }));
    expect([verified.KeyId, verified.SignatureValid]).toEqual([KeyId, true]);
    expect((await partner.send(new GetPublicKeyCommand({ KeyId }))).KeyId).toBe(KeyId);
  });

  it('GenerateMac and VerifyMac', async () => {
    const KeyId = await sharedKey('HMAC_256', 'GENERATE_VERIFY_MAC');
    const mac = await partner.send(new GenerateMacCommand({ KeyId, Message, MacAlgorithm: 'HMAC_SHA_256' }));
    expect(mac.KeyId).toBe(KeyId);
    expect((await partner.send(new VerifyMacCommand({ KeyId, Message, MacAlgorithm: 'HMAC_SHA_256', Mac: mac.Mac }))).KeyId).toBe(KeyId);
  });

  it('DeriveSharedSecret', async () => {
    const KeyId = await sharedKey('ECC_NIST_P256', 'KEY_AGREEMENT');
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    const jwk = { kty: 'EC', crv: 'P-256', x: ecdh.getPublicKey().subarray(1, 33).toString('base64url'), y: ecdh.getPublicKey().subarray(33).toString('base64url') };
    const PublicKey = createPublicKey({ key: jwk, format: 'jwk' }).export({ format: 'der', type: 'spki' });
    expect((await partner.send(new DeriveSharedSecretCommand({ KeyId, KeyAgreementAlgorithm: 'ECDH', PublicKey }))).KeyId).toBe(KeyId);
  });

  it('RSA Encrypt and Decrypt', async () => {
    const KeyId = await sharedKey('RSA_2048', 'ENCRYPT_DECRYPT');
    const enc = await partner.send(new EncryptCommand({ KeyId, Plaintext: Message, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }));
    expect(enc.KeyId).toBe(KeyId);
    const dec = await partner.send(new DecryptCommand({ KeyId, CiphertextBlob: enc.CiphertextBlob, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }));
    expect(dec.KeyId).toBe(KeyId);
  });

  it('GetKeyRotationStatus and GenerateDataKeyPair', async () => {
    const KeyId = await sharedKey('SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT');
    expect((await partner.send(new GetKeyRotationStatusCommand({ KeyId }))).KeyId).toBe(KeyId);
    expect((await partner.send(new GenerateDataKeyPairCommand({ KeyId, KeyPairSpec: 'ECC_NIST_P256' }))).KeyId).toBe(KeyId);
  });
});
