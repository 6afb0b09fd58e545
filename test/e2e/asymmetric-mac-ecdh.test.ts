// End-to-end: HMAC keys (GenerateMac/VerifyMac), ECDH key agreement (DeriveSharedSecret), Ed25519 and data key pairs through the
// AWS SDK, each checked independently with node:crypto.
import { describe, expect, it } from 'vitest';
import { createECDH, createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import {
  CreateKeyCommand, DecryptCommand, DeriveSharedSecretCommand, GenerateDataKeyPairCommand, GenerateDataKeyPairWithoutPlaintextCommand,
  GenerateMacCommand, GetPublicKeyCommand, SignCommand, VerifyCommand, VerifyMacCommand, type DataKeyPairSpec, type KeySpec, type KeyUsageType,
  type MacAlgorithmSpec,
} from '@aws-sdk/client-kms';
import { failure, serverPerFile } from '../helpers/server.js';

// Small AES-GCM, HMAC and ECC_NIST_P256 calls synchronous, as a server with a worker per core runs them by default
// (hsm/sync-calls.ts); the other suites' servers (one process) keep every call on libuv's pool.
const ctx = serverPerFile({ env: { COFFER_HSM_SYNC_MAX_BYTES: '4096' } });

const newKey = async (KeySpec: KeySpec, KeyUsage: KeyUsageType) => (await ctx.kms.send(new CreateKeyCommand({ KeySpec, KeyUsage }))).KeyMetadata!;
const Message = new TextEncoder().encode('authenticate me');

describe('HMAC keys', () => {
  for (const [spec, alg, len] of [
    ['HMAC_224', 'HMAC_SHA_224', 28], ['HMAC_256', 'HMAC_SHA_256', 32], ['HMAC_384', 'HMAC_SHA_384', 48], ['HMAC_512', 'HMAC_SHA_512', 64],
  ] as const) {
    it(`${spec}: GenerateMac is deterministic, VerifyMac accepts it and refuses any change with KMSInvalidMacException`, async () => {
      const key = await newKey(spec, 'GENERATE_VERIFY_MAC');
      expect(key.MacAlgorithms).toEqual([alg]);
      const a = await ctx.kms.send(new GenerateMacCommand({ KeyId: key.KeyId, Message, MacAlgorithm: alg }));
      expect(a).toMatchObject({ KeyId: key.Arn, MacAlgorithm: alg });
      expect(a.Mac!.length).toBe(len);
      const b = await ctx.kms.send(new GenerateMacCommand({ KeyId: key.KeyId, Message, MacAlgorithm: alg }));
      expect(Buffer.from(b.Mac!).equals(Buffer.from(a.Mac!))).toBe(true);
      const ok = await ctx.kms.send(new VerifyMacCommand({ KeyId: key.KeyId, Message, MacAlgorithm: alg, Mac: a.Mac }));
      expect(ok).toMatchObject({ MacValid: true, KeyId: key.Arn, MacAlgorithm: alg });
      const changed = a.Mac!.slice();
      changed[0] = (changed[0] as number) ^ 1;
      for (const [m, mac] of [[Message, changed], [new Uint8Array([1]), a.Mac!], [Message, a.Mac!.subarray(1)]] as const) {
        expect((await failure(ctx.kms.send(new VerifyMacCommand({ KeyId: key.KeyId, Message: m, MacAlgorithm: alg, Mac: mac })))).name).toBe('KMSInvalidMacException');
      }
    });
  }

  it('refuses another MAC algorithm, and MACs with a symmetric key', async () => {
    const key = await newKey('HMAC_256', 'GENERATE_VERIFY_MAC');
    const wrong = await failure(ctx.kms.send(new GenerateMacCommand({ KeyId: key.KeyId, Message, MacAlgorithm: 'HMAC_SHA_512' as MacAlgorithmSpec })));
    expect(wrong.name).toBe('InvalidKeyUsageException');
    const sym = (await ctx.kms.send(new CreateKeyCommand({}))).KeyMetadata!;
    expect((await failure(ctx.kms.send(new GenerateMacCommand({ KeyId: sym.KeyId, Message, MacAlgorithm: 'HMAC_SHA_256' })))).name).toBe('InvalidKeyUsageException');
    const other = await newKey('HMAC_256', 'GENERATE_VERIFY_MAC');
    const mac = (await ctx.kms.send(new GenerateMacCommand({ KeyId: key.KeyId, Message, MacAlgorithm: 'HMAC_SHA_256' }))).Mac;
    expect((await failure(ctx.kms.send(new VerifyMacCommand({ KeyId: other.KeyId, Message, MacAlgorithm: 'HMAC_SHA_256', Mac: mac })))).name).toBe('KMSInvalidMacException');
  });
});

describe('ECDH key agreement', () => {
  for (const [spec, curve] of [['ECC_NIST_P256', 'prime256v1'], ['ECC_NIST_P384', 'secp384r1'], ['ECC_NIST_P521', 'secp521r1']] as const) {
    it(`${spec}: DeriveSharedSecret equals node:crypto's ECDH from the other side`, async () => {
      const key = await newKey(spec, 'KEY_AGREEMENT');
      expect(key.KeyAgreementAlgorithms).toEqual(['ECDH']);
      const ours = createPublicKey({ key: Buffer.from((await ctx.kms.send(new GetPublicKeyCommand({ KeyId: key.KeyId }))).PublicKey!), format: 'der', type: 'spki' });
      const jwk = ours.export({ format: 'jwk' });
      const other = createECDH(curve);
      other.generateKeys();
      const otherSpki = createPublicKey({ key: { kty: 'EC', crv: jwk.crv, ...pointJwk(other.getPublicKey()) }, format: 'jwk' }).export({ type: 'spki', format: 'der' });
      const r = await ctx.kms.send(new DeriveSharedSecretCommand({ KeyId: key.KeyId, KeyAgreementAlgorithm: 'ECDH', PublicKey: otherSpki }));
      expect(r).toMatchObject({ KeyId: key.Arn, KeyAgreementAlgorithm: 'ECDH', KeyOrigin: 'AWS_KMS' });
      const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
      expect(Buffer.from(r.SharedSecret!).equals(other.computeSecret(point))).toBe(true);
    });
  }

  it('refuses a public key of another curve or not DER, and a signing key', async () => {
    const key = await newKey('ECC_NIST_P256', 'KEY_AGREEMENT');
    const p384 = createECDH('secp384r1');
    p384.generateKeys();
    const spki384 = createPublicKey({ key: { kty: 'EC', crv: 'P-384', ...pointJwk(p384.getPublicKey()) }, format: 'jwk' }).export({ type: 'spki', format: 'der' });
    for (const PublicKey of [spki384, new Uint8Array([1, 2, 3])]) {
      expect((await failure(ctx.kms.send(new DeriveSharedSecretCommand({ KeyId: key.KeyId, KeyAgreementAlgorithm: 'ECDH', PublicKey })))).name).toBe('ValidationException');
    }
    const signing = await newKey('ECC_NIST_P256', 'SIGN_VERIFY');
    const e = await failure(ctx.kms.send(new DeriveSharedSecretCommand({ KeyId: signing.KeyId, KeyAgreementAlgorithm: 'ECDH', PublicKey: spki384 })));
    expect(e.name).toBe('InvalidKeyUsageException');
  });
});

describe('data key pairs', () => {
  for (const spec of ['RSA_2048', 'ECC_NIST_P256', 'ECC_SECG_P256K1'] as DataKeyPairSpec[]) {
    it(`${spec}: the private key decrypts from its ciphertext and matches the public key`, async () => {
      const wrapping = (await ctx.kms.send(new CreateKeyCommand({}))).KeyMetadata!;
      const r = await ctx.kms.send(new GenerateDataKeyPairCommand({ KeyId: wrapping.KeyId, KeyPairSpec: spec, EncryptionContext: { purpose: 'test' } }));
      expect(r).toMatchObject({ KeyId: wrapping.Arn, KeyPairSpec: spec });
      const priv = createPrivateKey({ key: Buffer.from(r.PrivateKeyPlaintext!), format: 'der', type: 'pkcs8' });
      const pub = createPublicKey({ key: Buffer.from(r.PublicKey!), format: 'der', type: 'spki' });
      expect(nodeVerify('sha256', Message, pub, nodeSign('sha256', Message, priv))).toBe(true);
      const dec = await ctx.kms.send(new DecryptCommand({ CiphertextBlob: r.PrivateKeyCiphertextBlob, EncryptionContext: { purpose: 'test' } }));
      expect(Buffer.from(dec.Plaintext!).equals(Buffer.from(r.PrivateKeyPlaintext!))).toBe(true);
      const w = await ctx.kms.send(new GenerateDataKeyPairWithoutPlaintextCommand({ KeyId: wrapping.KeyId, KeyPairSpec: spec }));
      expect((w as { PrivateKeyPlaintext?: unknown }).PrivateKeyPlaintext).toBeUndefined();
      const dec2 = await ctx.kms.send(new DecryptCommand({ CiphertextBlob: w.PrivateKeyCiphertextBlob }));
      const pub2 = createPublicKey(createPrivateKey({ key: Buffer.from(dec2.Plaintext!), format: 'der', type: 'pkcs8' }));
      expect(pub2.export({ type: 'spki', format: 'der' }).equals(Buffer.from(w.PublicKey!))).toBe(true);
    });
  }

  it('refuses an asymmetric wrapping key', async () => {
    const rsa = await newKey('RSA_2048', 'ENCRYPT_DECRYPT');
    expect((await failure(ctx.kms.send(new GenerateDataKeyPairCommand({ KeyId: rsa.KeyId, KeyPairSpec: 'ECC_NIST_P256' })))).name).toBe('InvalidKeyUsageException');
  });
});

function pointJwk(point: Buffer): { x: string; y: string } {
  const n = (point.length - 1) / 2;
  return { x: point.subarray(1, 1 + n).toString('base64url'), y: point.subarray(1 + n).toString('base64url') };
}

describe('Ed25519 (ECC_NIST_EDWARDS25519)', () => {
  it('ED25519_SHA_512 signatures of RAW messages verify with node:crypto and with Verify; DIGEST is refused', async () => {
    const key = await newKey('ECC_NIST_EDWARDS25519', 'SIGN_VERIFY');
    expect(key.SigningAlgorithms).toEqual(['ED25519_SHA_512']);
    const pub = createPublicKey({ key: Buffer.from((await ctx.kms.send(new GetPublicKeyCommand({ KeyId: key.KeyId }))).PublicKey!), format: 'der', type: 'spki' });
    expect(pub.asymmetricKeyType).toBe('ed25519');
    const sig = (await ctx.kms.send(new SignCommand({ KeyId: key.KeyId, Message, SigningAlgorithm: 'ED25519_SHA_512' }))).Signature!;
    expect(sig.length).toBe(64);
    expect(nodeVerify(null, Message, pub, sig)).toBe(true);
    expect((await ctx.kms.send(new VerifyCommand({ KeyId: key.KeyId, Message, Signature: sig, SigningAlgorithm: 'ED25519_SHA_512' }))).SignatureValid).toBe(true);
    const bad = sig.slice();
    bad[3] = (bad[3] as number) ^ 1;
    expect((await failure(ctx.kms.send(new VerifyCommand({ KeyId: key.KeyId, Message, Signature: bad, SigningAlgorithm: 'ED25519_SHA_512' })))).name).toBe('KMSInvalidSignatureException');
    const digest = await failure(ctx.kms.send(new SignCommand({ KeyId: key.KeyId, Message: new Uint8Array(64), MessageType: 'DIGEST', SigningAlgorithm: 'ED25519_SHA_512' })));
    expect(digest.name).toBe('ValidationException');
    expect((await failure(ctx.kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_EDWARDS25519', KeyUsage: 'KEY_AGREEMENT' })))).name).toBe('ValidationException');
  });

  it('ED25519_PH_SHA_512 is refused with UnsupportedOperationException (the token ignores the Ed25519ph flag); other keys answer InvalidKeyUsageException', async () => {
    const key = await newKey('ECC_NIST_EDWARDS25519', 'SIGN_VERIFY');
    const digest = new Uint8Array(64);
    for (const MessageType of ['DIGEST', 'RAW'] as const) {
      const sign = await failure(ctx.kms.send(new SignCommand({ KeyId: key.KeyId, Message: digest, MessageType, SigningAlgorithm: 'ED25519_PH_SHA_512' })));
      expect(sign.name).toBe('UnsupportedOperationException');
      const verify = await failure(ctx.kms.send(new VerifyCommand({ KeyId: key.KeyId, Message: digest, MessageType, Signature: new Uint8Array(64), SigningAlgorithm: 'ED25519_PH_SHA_512' })));
      expect(verify.name).toBe('UnsupportedOperationException');
    }
    const ec = await newKey('ECC_NIST_P256', 'SIGN_VERIFY');
    expect((await failure(ctx.kms.send(new SignCommand({ KeyId: ec.KeyId, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: 'ED25519_PH_SHA_512' })))).name).toBe('InvalidKeyUsageException');
  });

  it('GenerateDataKeyPair gives Ed25519 pairs', async () => {
    const wrapping = (await ctx.kms.send(new CreateKeyCommand({}))).KeyMetadata!;
    const r = await ctx.kms.send(new GenerateDataKeyPairCommand({ KeyId: wrapping.KeyId, KeyPairSpec: 'ECC_NIST_EDWARDS25519' }));
    const priv = createPrivateKey({ key: Buffer.from(r.PrivateKeyPlaintext!), format: 'der', type: 'pkcs8' });
    const pub = createPublicKey({ key: Buffer.from(r.PublicKey!), format: 'der', type: 'spki' });
    expect(nodeVerify(null, Message, pub, nodeSign(null, Message, priv))).toBe(true);
  });
});
