// End-to-end: imported key material for a symmetric key through the AWS SDK. Material is wrapped with node:crypto the way
// AWS's documentation tells users to wrap it with OpenSSL (test/helpers/wrap-material.ts). Key pairs and HMAC keys:
// import-asymmetric.test.ts.
import { describe, expect, it } from 'vitest';
import { createPublicKey, randomBytes } from 'node:crypto';
import {
  CreateKeyCommand, DecryptCommand, DeleteImportedKeyMaterialCommand, DescribeKeyCommand, EncryptCommand, GenerateDataKeyCommand, GetParametersForImportCommand,
  ImportKeyMaterialCommand, ListKeyRotationsCommand, type AlgorithmSpec, type WrappingKeySpec,
} from '@aws-sdk/client-kms';
import { failure, serverPerFile } from '../helpers/server.js';
import { oaep, wrap } from '../helpers/wrap-material.js';

const ctx = serverPerFile();

async function importInto(
  KeyId: string, material: Buffer, WrappingAlgorithm: AlgorithmSpec = 'RSAES_OAEP_SHA_256', WrappingKeySpec: WrappingKeySpec = 'RSA_2048', ValidTo?: Date,
) {
  const p = await ctx.kms.send(new GetParametersForImportCommand({ KeyId, WrappingAlgorithm, WrappingKeySpec }));
  const expiry = ValidTo ? { ExpirationModel: 'KEY_MATERIAL_EXPIRES' as const, ValidTo } : { ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' as const };
  return ctx.kms.send(new ImportKeyMaterialCommand({
    KeyId, ImportToken: p.ImportToken, EncryptedKeyMaterial: wrap(WrappingAlgorithm, p.PublicKey!, material), ...expiry,
  }));
}

const externalKey = async () => (await ctx.kms.send(new CreateKeyCommand({ Origin: 'EXTERNAL' }))).KeyMetadata!;

describe('imported key material', () => {
  it('a key of EXTERNAL origin is PendingImport, and GetParametersForImport gives a wrapping key and a 24-hour token', async () => {
    const key = await externalKey();
    expect(key).toMatchObject({ Origin: 'EXTERNAL', KeyState: 'PendingImport', Enabled: false });
    expect((await failure(ctx.kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: new Uint8Array([1]) })))).name).toBe('KMSInvalidStateException');
    const before = Date.now();
    const p = await ctx.kms.send(new GetParametersForImportCommand({ KeyId: key.KeyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_1', WrappingKeySpec: 'RSA_3072' }));
    expect(p.KeyId).toBe(key.Arn);
    expect(createPublicKey({ key: Buffer.from(p.PublicKey!), format: 'der', type: 'spki' }).asymmetricKeyDetails?.modulusLength).toBe(3072);
    expect(Math.round((p.ParametersValidTo!.getTime() - before) / 3_600_000)).toBe(24);
  });

  for (const alg of ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256', 'RSA_AES_KEY_WRAP_SHA_1', 'RSA_AES_KEY_WRAP_SHA_256'] as AlgorithmSpec[]) {
    it(`${alg}: imported material encrypts; after delete and re-import, old ciphertexts decrypt again`, async () => {
      const key = await externalKey();
      const material = randomBytes(32);
      await importInto(key.KeyId!, material, alg);
      expect((await ctx.kms.send(new DescribeKeyCommand({ KeyId: key.KeyId }))).KeyMetadata!.KeyState).toBe('Enabled');
      const enc = await ctx.kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: new TextEncoder().encode('imported') }));
      await ctx.kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: key.KeyId }));
      expect((await ctx.kms.send(new DescribeKeyCommand({ KeyId: key.KeyId }))).KeyMetadata!.KeyState).toBe('PendingImport');
      expect((await failure(ctx.kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob })))).name).toBe('KMSInvalidStateException');
      await importInto(key.KeyId!, material, alg);
      const dec = await ctx.kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob }));
      expect(new TextDecoder().decode(dec.Plaintext)).toBe('imported');
    });
  }

  it('refuses different material for a key that had material, a token of another key, and wrong-size material', async () => {
    const key = await externalKey();
    await importInto(key.KeyId!, randomBytes(32));
    await ctx.kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: key.KeyId }));
    expect((await failure(importInto(key.KeyId!, randomBytes(32)))).name).toBe('IncorrectKeyMaterialException');
    const other = await externalKey();
    const p = await ctx.kms.send(new GetParametersForImportCommand({ KeyId: other.KeyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }));
    const e = await failure(ctx.kms.send(new ImportKeyMaterialCommand({
      KeyId: key.KeyId, ImportToken: p.ImportToken, EncryptedKeyMaterial: oaep(p.PublicKey!, 'sha256', randomBytes(32)), ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
    })));
    expect(e.name).toBe('InvalidImportTokenException');
    expect((await failure(importInto(other.KeyId!, randomBytes(16)))).name).toBe('IncorrectKeyMaterialException');
    const wrongHash = await failure(ctx.kms.send(new ImportKeyMaterialCommand({
      KeyId: other.KeyId, ImportToken: p.ImportToken, EncryptedKeyMaterial: oaep(p.PublicKey!, 'sha1', randomBytes(32)), ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
    })));
    expect(wrongHash.name).toBe('InvalidCiphertextException');
  });

  it('DescribeKey shows ExpirationModel and ValidTo of imported material, and neither while the key is PendingImport', async () => {
    const key = await externalKey();
    const describe = async () => (await ctx.kms.send(new DescribeKeyCommand({ KeyId: key.KeyId }))).KeyMetadata!;
    const pending = await describe();
    expect(pending.KeyState).toBe('PendingImport');
    expect(pending.ExpirationModel).toBeUndefined();
    expect(pending.ValidTo).toBeUndefined();
    const material = randomBytes(32);
    const validTo = new Date(Math.floor(Date.now() / 1000) * 1000 + 86_400_000);
    await importInto(key.KeyId!, material, 'RSAES_OAEP_SHA_256', 'RSA_2048', validTo);
    const expiring = await describe();
    expect(expiring).toMatchObject({ KeyState: 'Enabled', ExpirationModel: 'KEY_MATERIAL_EXPIRES' });
    expect(expiring.ValidTo?.getTime()).toBe(validTo.getTime());
    await ctx.kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: key.KeyId }));
    const deleted = await describe();
    expect([deleted.KeyState, deleted.ExpirationModel, deleted.ValidTo]).toEqual(['PendingImport', undefined, undefined]);
    await importInto(key.KeyId!, material);
    const lasting = await describe();
    expect([lasting.KeyState, lasting.ExpirationModel, lasting.ValidTo]).toEqual(['Enabled', 'KEY_MATERIAL_DOES_NOT_EXPIRE', undefined]);
    const own = (await ctx.kms.send(new DescribeKeyCommand({ KeyId: (await ctx.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId }))).KeyMetadata!;
    expect(own.ExpirationModel).toBeUndefined();
  });

  it('KeyMaterialId: answered by import, DescribeKey, Decrypt and GenerateDataKey alike; the same material is not new material', async () => {
    const key = await externalKey();
    const material = randomBytes(32);
    const imported = await importInto(key.KeyId!, material);
    expect(imported.KeyId).toBe(key.Arn);
    const id = imported.KeyMaterialId!;
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect((await ctx.kms.send(new DescribeKeyCommand({ KeyId: key.KeyId }))).KeyMetadata!.CurrentKeyMaterialId).toBe(id);
    const enc = await ctx.kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: new Uint8Array([7]) }));
    expect((await ctx.kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob }))).KeyMaterialId).toBe(id);
    expect((await ctx.kms.send(new GenerateDataKeyCommand({ KeyId: key.KeyId, KeySpec: 'AES_256' }))).KeyMaterialId).toBe(id);
    const listed = await ctx.kms.send(new ListKeyRotationsCommand({ KeyId: key.KeyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }));
    expect(listed.Rotations).toEqual([{ KeyId: key.Arn, KeyMaterialId: id, KeyMaterialState: 'CURRENT', ImportState: 'IMPORTED', ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' }]);
    expect((await ctx.kms.send(new ListKeyRotationsCommand({ KeyId: key.KeyId }))).Rotations).toEqual([]);

    // The key's own material offered as new material (for an on-demand rotation: import-rotation.test.ts) is refused,
    // and each refusal leaves the token unspent.
    const p = await ctx.kms.send(new GetParametersForImportCommand({ KeyId: key.KeyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }));
    const again = (over: object) => ctx.kms.send(new ImportKeyMaterialCommand({
      KeyId: key.KeyId, ImportToken: p.ImportToken, EncryptedKeyMaterial: wrap('RSAES_OAEP_SHA_256', p.PublicKey!, material), ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE', ...over,
    }));
    expect(await failure(again({ ImportType: 'NEW_KEY_MATERIAL' }))).toMatchObject({ name: 'IncorrectKeyMaterialException', message: expect.stringContaining('already associated') });
    expect((await failure(again({ ImportType: 'NEW_KEY_MATERIAL', KeyMaterialId: id }))).name).toBe('ValidationException');
    expect((await failure(again({ KeyMaterialId: 'ab'.repeat(32) }))).name).toBe('NotFoundException');
    expect((await failure(again({ KeyMaterialId: 'not-hex' }))).name).toBe('ValidationException');
    expect((await again({ ImportType: 'EXISTING_KEY_MATERIAL', KeyMaterialId: id })).KeyMaterialId).toBe(id);

    expect((await failure(ctx.kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: key.KeyId, KeyMaterialId: 'cd'.repeat(32) })))).name).toBe('NotFoundException');
    expect(await ctx.kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: key.KeyId, KeyMaterialId: id }))).toMatchObject({ KeyId: key.Arn, KeyMaterialId: id });
    const pending = (await ctx.kms.send(new DescribeKeyCommand({ KeyId: key.KeyId }))).KeyMetadata!;
    expect(pending.KeyState).toBe('PendingImport');
    expect(pending.CurrentKeyMaterialId).toBeUndefined();
  });

  it('refuses import operations on keys of AWS_KMS origin', async () => {
    const own = (await ctx.kms.send(new CreateKeyCommand({}))).KeyMetadata!;
    const e = await failure(ctx.kms.send(new GetParametersForImportCommand({ KeyId: own.KeyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' })));
    expect(e.name).toBe('UnsupportedOperationException');
    expect((await failure(ctx.kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: own.KeyId })))).name).toBe('UnsupportedOperationException');
  });
});
