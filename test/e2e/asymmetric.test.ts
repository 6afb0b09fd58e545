// End-to-end: ECC and RSA signing, RSA encryption, GetPublicKey and the spec × usage rules through the AWS SDK,
// every signature and public-key ciphertext checked independently with node:crypto; ReEncrypt between symmetric and RSA keys.
import { describe, expect, it } from 'vitest';
import { constants, createHash, createPublicKey, publicEncrypt, verify as nodeVerify, type KeyObject } from 'node:crypto';
import {
  CreateKeyCommand, DecryptCommand, DescribeKeyCommand, EncryptCommand, GetPublicKeyCommand, ReEncryptCommand, SignCommand, VerifyCommand,
  type KeySpec, type KeyUsageType, type SigningAlgorithmSpec,
} from '@aws-sdk/client-kms';
import { failure, serverPerFile } from '../helpers/server.js';

// Small AES-GCM, HMAC and ECC_NIST_P256 calls synchronous, as a server with a worker per core runs them by default
// (hsm/sync-calls.ts); the other suites' servers (one process) keep every call on libuv's pool.
const ctx = serverPerFile({ env: { COFFER_HSM_SYNC_MAX_BYTES: '4096' } });

const newKey = async (KeySpec: KeySpec, KeyUsage: KeyUsageType) => (await ctx.kms.send(new CreateKeyCommand({ KeySpec, KeyUsage }))).KeyMetadata!;
const publicKeyOf = async (KeyId: string): Promise<KeyObject> =>
  createPublicKey({ key: Buffer.from((await ctx.kms.send(new GetPublicKeyCommand({ KeyId }))).PublicKey!), format: 'der', type: 'spki' });
const message = new TextEncoder().encode('Coffer signs this message');

function nodeCheck(alg: string, key: KeyObject, signature: Uint8Array): boolean {
  const hash = `sha${alg.slice(-3)}`;
  const pss = alg.includes('PSS') ? { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(alg.slice(-3)) / 8 } : {};
  return nodeVerify(hash, message, { key, ...pss }, signature);
}

describe('ECC signing keys', () => {
  const cases: [KeySpec, SigningAlgorithmSpec, string][] = [
    ['ECC_NIST_P256', 'ECDSA_SHA_256', 'prime256v1'],
    ['ECC_NIST_P384', 'ECDSA_SHA_384', 'secp384r1'],
    ['ECC_NIST_P521', 'ECDSA_SHA_512', 'secp521r1'],
    ['ECC_SECG_P256K1', 'ECDSA_SHA_256', 'secp256k1'],
  ];
  for (const [spec, alg, curve] of cases) {
    it(`${spec}: RAW and DIGEST signatures are DER and verify with node:crypto and with Verify`, async () => {
      const key = await newKey(spec, 'SIGN_VERIFY');
      expect(key.KeySpec).toBe(spec);
      expect(key.SigningAlgorithms).toEqual([alg]);
      expect(key.EncryptionAlgorithms).toBeUndefined();
      const pub = await publicKeyOf(key.KeyId!);
      expect(pub.asymmetricKeyDetails?.namedCurve).toBe(curve);
      const raw = await ctx.kms.send(new SignCommand({ KeyId: key.KeyId, Message: message, SigningAlgorithm: alg }));
      expect(raw.KeyId).toBe(key.Arn);
      expect(raw.SigningAlgorithm).toBe(alg);
      expect(raw.Signature![0]).toBe(0x30);
      expect(nodeCheck(alg, pub, raw.Signature!)).toBe(true);
      const digest = createHash(`sha${alg.slice(-3)}`).update(message).digest();
      const dig = await ctx.kms.send(new SignCommand({ KeyId: key.KeyId, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: alg }));
      expect(nodeCheck(alg, pub, dig.Signature!)).toBe(true);
      const ok = await ctx.kms.send(new VerifyCommand({ KeyId: key.KeyId, Message: message, Signature: raw.Signature, SigningAlgorithm: alg }));
      expect(ok.SignatureValid).toBe(true);
      const ok2 = await ctx.kms.send(new VerifyCommand({ KeyId: key.KeyId, Message: digest, MessageType: 'DIGEST', Signature: dig.Signature, SigningAlgorithm: alg }));
      expect(ok2.SignatureValid).toBe(true);
    });
  }

  it('Verify answers KMSInvalidSignatureException for another message, a changed byte or garbage', async () => {
    const key = await newKey('ECC_NIST_P256', 'SIGN_VERIFY');
    const sig = (await ctx.kms.send(new SignCommand({ KeyId: key.KeyId, Message: message, SigningAlgorithm: 'ECDSA_SHA_256' }))).Signature!;
    const changed = sig.slice();
    changed[10] = (changed[10] as number) ^ 1;
    for (const [Message, Signature] of [[new Uint8Array([1]), sig], [message, changed], [message, new Uint8Array([1, 2, 3])]] as const) {
      const e = await failure(ctx.kms.send(new VerifyCommand({ KeyId: key.KeyId, Message, Signature, SigningAlgorithm: 'ECDSA_SHA_256' })));
      expect(e.name).toBe('KMSInvalidSignatureException');
    }
  });

  it('refuses a wrong algorithm, a wrong digest length, and signing with a symmetric key', async () => {
    const key = await newKey('ECC_NIST_P256', 'SIGN_VERIFY');
    expect((await failure(ctx.kms.send(new SignCommand({ KeyId: key.KeyId, Message: message, SigningAlgorithm: 'ECDSA_SHA_384' })))).name).toBe('InvalidKeyUsageException');
    const short = await failure(ctx.kms.send(new SignCommand({ KeyId: key.KeyId, Message: new Uint8Array(31), MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' })));
    expect(short.name).toBe('ValidationException');
    const sym = (await ctx.kms.send(new CreateKeyCommand({}))).KeyMetadata!;
    expect((await failure(ctx.kms.send(new SignCommand({ KeyId: sym.KeyId, Message: message, SigningAlgorithm: 'ECDSA_SHA_256' })))).name).toBe('InvalidKeyUsageException');
    expect((await failure(ctx.kms.send(new GetPublicKeyCommand({ KeyId: sym.KeyId })))).name).toBe('UnsupportedOperationException');
    expect((await failure(ctx.kms.send(new SignCommand({ KeyId: key.KeyId, Message: new Uint8Array(4097), SigningAlgorithm: 'ECDSA_SHA_256' })))).name).toBe('ValidationException');
  });

  it('refuses spec × usage pairs AWS refuses', async () => {
    const bad: [KeySpec, KeyUsageType][] = [
      ['ECC_SECG_P256K1', 'KEY_AGREEMENT'], ['ECC_NIST_P256', 'ENCRYPT_DECRYPT'], ['SYMMETRIC_DEFAULT', 'SIGN_VERIFY'],
      ['RSA_2048', 'KEY_AGREEMENT'], ['HMAC_256', 'ENCRYPT_DECRYPT'], ['RSA_2048', 'GENERATE_VERIFY_MAC'],
    ];
    for (const [KeySpec, KeyUsage] of bad) {
      expect((await failure(ctx.kms.send(new CreateKeyCommand({ KeySpec, KeyUsage })))).name).toBe('ValidationException');
    }
  });
});

describe('RSA keys', () => {
  it('RSA_2048 SIGN_VERIFY: all six algorithms sign RAW and DIGEST, verify with node:crypto and with Verify', async () => {
    const key = await newKey('RSA_2048', 'SIGN_VERIFY');
    expect(key.SigningAlgorithms).toHaveLength(6);
    const pub = await publicKeyOf(key.KeyId!);
    expect(pub.asymmetricKeyDetails?.modulusLength).toBe(2048);
    for (const alg of key.SigningAlgorithms!) {
      const sig = (await ctx.kms.send(new SignCommand({ KeyId: key.KeyId, Message: message, SigningAlgorithm: alg }))).Signature!;
      expect(sig.length).toBe(256);
      expect(nodeCheck(alg, pub, sig)).toBe(true);
      const digest = createHash(`sha${alg.slice(-3)}`).update(message).digest();
      const dsig = (await ctx.kms.send(new SignCommand({ KeyId: key.KeyId, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: alg }))).Signature!;
      expect(nodeCheck(alg, pub, dsig)).toBe(true);
      expect((await ctx.kms.send(new VerifyCommand({ KeyId: key.KeyId, Message: message, Signature: sig, SigningAlgorithm: alg }))).SignatureValid).toBe(true);
      const bad = sig.slice();
      bad[0] = (bad[0] as number) ^ 1;
      expect((await failure(ctx.kms.send(new VerifyCommand({ KeyId: key.KeyId, Message: message, Signature: bad, SigningAlgorithm: alg })))).name).toBe('KMSInvalidSignatureException');
    }
  });

  for (const spec of ['RSA_3072', 'RSA_4096'] as const) {
    it(`${spec} SIGN_VERIFY: PSS and PKCS#1 v1.5 signatures verify with node:crypto`, async () => {
      const key = await newKey(spec, 'SIGN_VERIFY');
      const pub = await publicKeyOf(key.KeyId!);
      expect(pub.asymmetricKeyDetails?.modulusLength).toBe(Number(spec.slice(4)));
      for (const alg of ['RSASSA_PSS_SHA_512', 'RSASSA_PKCS1_V1_5_SHA_256'] as const) {
        const sig = (await ctx.kms.send(new SignCommand({ KeyId: key.KeyId, Message: message, SigningAlgorithm: alg }))).Signature!;
        expect(nodeCheck(alg, pub, sig)).toBe(true);
      }
    });
  }

  for (const spec of ['RSA_2048', 'RSA_3072', 'RSA_4096'] as const) {
    it(`${spec} ENCRYPT_DECRYPT: Encrypt and node:crypto ciphertexts decrypt with OAEP SHA-1 and SHA-256`, async () => {
      const key = await newKey(spec, 'ENCRYPT_DECRYPT');
      expect(key.EncryptionAlgorithms).toEqual(['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256']);
      const pub = await publicKeyOf(key.KeyId!);
      for (const [alg, oaepHash] of [['RSAES_OAEP_SHA_1', 'sha1'], ['RSAES_OAEP_SHA_256', 'sha256']] as const) {
        const enc = await ctx.kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: message, EncryptionAlgorithm: alg }));
        expect(enc.EncryptionAlgorithm).toBe(alg);
        expect(enc.CiphertextBlob!.length).toBe(Number(spec.slice(4)) / 8);
        const local = publicEncrypt({ key: pub, oaepHash, padding: constants.RSA_PKCS1_OAEP_PADDING }, message);
        for (const CiphertextBlob of [enc.CiphertextBlob!, local]) {
          const dec = await ctx.kms.send(new DecryptCommand({ KeyId: key.KeyId, CiphertextBlob, EncryptionAlgorithm: alg }));
          expect(Buffer.from(dec.Plaintext!).equals(Buffer.from(message))).toBe(true);
          expect(dec.EncryptionAlgorithm).toBe(alg);
        }
      }
    });
  }

  it('RSA decryption failures are all the one InvalidCiphertextException; context and SYMMETRIC_DEFAULT are refused', async () => {
    const key = await newKey('RSA_2048', 'ENCRYPT_DECRYPT');
    const enc = await ctx.kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: message, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }));
    const changed = enc.CiphertextBlob!.slice();
    changed[5] = (changed[5] as number) ^ 1;
    const errors = [
      await failure(ctx.kms.send(new DecryptCommand({ KeyId: key.KeyId, CiphertextBlob: enc.CiphertextBlob, EncryptionAlgorithm: 'RSAES_OAEP_SHA_1' }))),
      await failure(ctx.kms.send(new DecryptCommand({ KeyId: key.KeyId, CiphertextBlob: changed, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }))),
      await failure(ctx.kms.send(new DecryptCommand({ KeyId: key.KeyId, CiphertextBlob: changed.subarray(1), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }))),
    ];
    for (const e of errors) expect(e).toEqual(errors[0]);
    expect(errors[0]!.name).toBe('InvalidCiphertextException');
    const withContext = await failure(ctx.kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: message, EncryptionAlgorithm: 'RSAES_OAEP_SHA_1', EncryptionContext: { a: 'b' } })));
    expect(withContext.name).toBe('ValidationException');
    expect((await failure(ctx.kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: message })))).name).toBe('InvalidKeyUsageException');
  });

  it('GetPublicKey and DescribeKey return the metadata AWS returns', async () => {
    const key = await newKey('RSA_3072', 'ENCRYPT_DECRYPT');
    const r = await ctx.kms.send(new GetPublicKeyCommand({ KeyId: key.KeyId }));
    expect(r).toMatchObject({ KeyId: key.Arn, KeySpec: 'RSA_3072', CustomerMasterKeySpec: 'RSA_3072', KeyUsage: 'ENCRYPT_DECRYPT', EncryptionAlgorithms: ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'] });
    expect(r.SigningAlgorithms).toBeUndefined();
    const d = (await ctx.kms.send(new DescribeKeyCommand({ KeyId: key.KeyId }))).KeyMetadata!;
    expect(d).toMatchObject({ KeySpec: 'RSA_3072', KeyUsage: 'ENCRYPT_DECRYPT', EncryptionAlgorithms: ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'] });
  });
});

describe('ReEncrypt between symmetric and RSA keys', () => {
  it('symmetric → RSA → RSA → symmetric keeps the plaintext and reports both algorithms', async () => {
    const sym = await newKey('SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT');
    const [rsa1, rsa2] = [await newKey('RSA_2048', 'ENCRYPT_DECRYPT'), await newKey('RSA_3072', 'ENCRYPT_DECRYPT')];
    const enc = await ctx.kms.send(new EncryptCommand({ KeyId: sym.KeyId, Plaintext: message, EncryptionContext: { a: 'b' } }));
    const toRsa = await ctx.kms.send(new ReEncryptCommand({
      CiphertextBlob: enc.CiphertextBlob, SourceEncryptionContext: { a: 'b' }, DestinationKeyId: rsa1.KeyId, DestinationEncryptionAlgorithm: 'RSAES_OAEP_SHA_256',
    }));
    expect(toRsa).toMatchObject({ SourceKeyId: sym.Arn, KeyId: rsa1.Arn, SourceEncryptionAlgorithm: 'SYMMETRIC_DEFAULT', DestinationEncryptionAlgorithm: 'RSAES_OAEP_SHA_256' });
    const dec = await ctx.kms.send(new DecryptCommand({ KeyId: rsa1.KeyId, CiphertextBlob: toRsa.CiphertextBlob, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }));
    expect(Buffer.from(dec.Plaintext!).equals(Buffer.from(message))).toBe(true);
    const rsaToRsa = await ctx.kms.send(new ReEncryptCommand({
      CiphertextBlob: toRsa.CiphertextBlob, SourceKeyId: rsa1.KeyId, SourceEncryptionAlgorithm: 'RSAES_OAEP_SHA_256', DestinationKeyId: rsa2.KeyId, DestinationEncryptionAlgorithm: 'RSAES_OAEP_SHA_1',
    }));
    expect(rsaToRsa).toMatchObject({ SourceKeyId: rsa1.Arn, KeyId: rsa2.Arn, SourceEncryptionAlgorithm: 'RSAES_OAEP_SHA_256', DestinationEncryptionAlgorithm: 'RSAES_OAEP_SHA_1' });
    const back = await ctx.kms.send(new ReEncryptCommand({
      CiphertextBlob: rsaToRsa.CiphertextBlob, SourceKeyId: rsa2.KeyId, SourceEncryptionAlgorithm: 'RSAES_OAEP_SHA_1', DestinationKeyId: sym.KeyId,
    }));
    expect(back).toMatchObject({ SourceKeyId: rsa2.Arn, KeyId: sym.Arn, SourceEncryptionAlgorithm: 'RSAES_OAEP_SHA_1', DestinationEncryptionAlgorithm: 'SYMMETRIC_DEFAULT' });
    const plain = await ctx.kms.send(new DecryptCommand({ CiphertextBlob: back.CiphertextBlob }));
    expect(Buffer.from(plain.Plaintext!).equals(Buffer.from(message))).toBe(true);
  });

  it('refuses an RSA destination without an RSA algorithm or with a context, and an RSA source without SourceKeyId', async () => {
    const sym = await newKey('SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT');
    const rsa = await newKey('RSA_2048', 'ENCRYPT_DECRYPT');
    const enc = await ctx.kms.send(new EncryptCommand({ KeyId: sym.KeyId, Plaintext: message }));
    expect((await failure(ctx.kms.send(new ReEncryptCommand({ CiphertextBlob: enc.CiphertextBlob, DestinationKeyId: rsa.KeyId })))).name).toBe('InvalidKeyUsageException');
    const withContext = ctx.kms.send(new ReEncryptCommand({
      CiphertextBlob: enc.CiphertextBlob, DestinationKeyId: rsa.KeyId, DestinationEncryptionAlgorithm: 'RSAES_OAEP_SHA_1', DestinationEncryptionContext: { a: 'b' },
    }));
    expect((await failure(withContext)).name).toBe('ValidationException');
    const rsaBlob = (await ctx.kms.send(new EncryptCommand({ KeyId: rsa.KeyId, Plaintext: message, EncryptionAlgorithm: 'RSAES_OAEP_SHA_1' }))).CiphertextBlob;
    expect((await failure(ctx.kms.send(new ReEncryptCommand({ CiphertextBlob: rsaBlob, DestinationKeyId: sym.KeyId })))).name).toBe('InvalidCiphertextException');
  });
});
