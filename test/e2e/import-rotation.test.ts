// End-to-end: on-demand rotation of imported key material through the AWS SDK, as AWS KMS defines it: new material
// (ImportType NEW_KEY_MATERIAL) waits as PENDING_ROTATION until RotateKeyOnDemand makes it current; each material is
// deleted and re-imported on its own; deleting any but pending material makes the key PendingImport.
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import {
  CancelKeyDeletionCommand, CreateKeyCommand, DecryptCommand, DeleteImportedKeyMaterialCommand, DescribeKeyCommand, EncryptCommand, GetParametersForImportCommand,
  ImportKeyMaterialCommand, ListKeyRotationsCommand, RotateKeyOnDemandCommand, ScheduleKeyDeletionCommand, type ImportKeyMaterialCommandInput,
} from '@aws-sdk/client-kms';
import { call } from '../helpers/identity.js';
import { ADMIN, failure, serverPerFile } from '../helpers/server.js';
import { wrap } from '../helpers/wrap-material.js';

const ctx = serverPerFile();

type Extra = Partial<Pick<ImportKeyMaterialCommandInput, 'ImportType' | 'KeyMaterialId' | 'KeyMaterialDescription' | 'ExpirationModel' | 'ValidTo'>>;

/** A fresh import token for the key, and a function importing material with it. */
async function importer(KeyId: string) {
  const p = await ctx.kms.send(new GetParametersForImportCommand({ KeyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }));
  return (material: Buffer, extra: Extra = {}) => ctx.kms.send(new ImportKeyMaterialCommand({
    KeyId, ImportToken: p.ImportToken, EncryptedKeyMaterial: wrap('RSAES_OAEP_SHA_256', p.PublicKey!, material), ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE', ...extra,
  }));
}
const importInto = async (KeyId: string, material: Buffer, extra: Extra = {}) => (await importer(KeyId))(material, extra);

async function externalKeyWith(material: Buffer) {
  const key = (await ctx.kms.send(new CreateKeyCommand({ Origin: 'EXTERNAL' }))).KeyMetadata!;
  const first = await importInto(key.KeyId!, material);
  return { key, first: first.KeyMaterialId! };
}

const describeKey = async (KeyId: string) => (await ctx.kms.send(new DescribeKeyCommand({ KeyId }))).KeyMetadata!;
const allMaterial = async (KeyId: string) => (await ctx.kms.send(new ListKeyRotationsCommand({ KeyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }))).Rotations!;
const encrypt = async (KeyId: string, text: string) => (await ctx.kms.send(new EncryptCommand({ KeyId, Plaintext: new TextEncoder().encode(text) }))).CiphertextBlob!;
const decrypt = (CiphertextBlob: Uint8Array) => ctx.kms.send(new DecryptCommand({ CiphertextBlob }));

describe('on-demand rotation of imported key material', () => {
  it('new material is PENDING_ROTATION and unused until RotateKeyOnDemand makes it current; both materials decrypt', async () => {
    const [a, b] = [randomBytes(32), randomBytes(32)];
    const { key, first } = await externalKeyWith(a);
    const before = await encrypt(key.KeyId!, 'under a');

    const validTo = new Date(Date.now() + 86_400_000);
    const imported = await importInto(key.KeyId!, b, { ImportType: 'NEW_KEY_MATERIAL', KeyMaterialDescription: 'FY27 material', ExpirationModel: 'KEY_MATERIAL_EXPIRES', ValidTo: validTo });
    const second = imported.KeyMaterialId!;
    expect(second).toMatch(/^[0-9a-f]{64}$/);
    expect(second).not.toBe(first);
    expect(await allMaterial(key.KeyId!)).toEqual([
      { KeyId: key.Arn, KeyMaterialId: first, KeyMaterialState: 'CURRENT', ImportState: 'IMPORTED', ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' },
      {
        KeyId: key.Arn, KeyMaterialId: second, KeyMaterialState: 'PENDING_ROTATION', ImportState: 'IMPORTED', KeyMaterialDescription: 'FY27 material',
        ExpirationModel: 'KEY_MATERIAL_EXPIRES', ValidTo: validTo,
      },
    ]);
    expect((await ctx.kms.send(new ListKeyRotationsCommand({ KeyId: key.KeyId }))).Rotations).toEqual([]);
    // Pending material encrypts nothing yet.
    expect((await decrypt(await encrypt(key.KeyId!, 'still a'))).KeyMaterialId).toBe(first);
    expect((await describeKey(key.KeyId!)).CurrentKeyMaterialId).toBe(first);

    const rotatedAt = Date.now();
    expect((await ctx.kms.send(new RotateKeyOnDemandCommand({ KeyId: key.KeyId }))).KeyId).toBe(key.Arn);
    const described = await describeKey(key.KeyId!);
    expect(described).toMatchObject({ KeyState: 'Enabled', CurrentKeyMaterialId: second, ExpirationModel: 'KEY_MATERIAL_EXPIRES' });
    const after = await encrypt(key.KeyId!, 'under b');
    expect((await decrypt(after)).KeyMaterialId).toBe(second);
    const old = await decrypt(before);
    expect([new TextDecoder().decode(old.Plaintext), old.KeyMaterialId]).toEqual(['under a', first]);

    // The audit trail names the import's type, description and expiry; never its token or wrapped material.
    const found = await call(ctx.server.url, ADMIN, 'LookupEvents', { LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'ImportKeyMaterial' }] }, 'CofferAudit.');
    const records = (found.body.Events as Array<{ CloudTrailEvent: string }>).map((e) => JSON.parse(e.CloudTrailEvent) as { requestParameters: Record<string, unknown> });
    const logged = records.find((r) => r.requestParameters.importType === 'NEW_KEY_MATERIAL' && r.requestParameters.keyId === key.KeyId)!;
    expect(logged.requestParameters).toEqual({
      keyId: key.KeyId, importType: 'NEW_KEY_MATERIAL', keyMaterialDescription: 'FY27 material', expirationModel: 'KEY_MATERIAL_EXPIRES', validTo: validTo.getTime() / 1000,
    });

    const rotations = (await ctx.kms.send(new ListKeyRotationsCommand({ KeyId: key.KeyId }))).Rotations!;
    expect(rotations).toHaveLength(1);
    expect(rotations[0]).toMatchObject({ KeyMaterialId: second, KeyMaterialState: 'CURRENT', RotationType: 'ON_DEMAND', ImportState: 'IMPORTED' });
    expect(rotations[0]!.RotationDate!.getTime()).toBeGreaterThanOrEqual(Math.floor(rotatedAt / 1000) * 1000);
    expect((await allMaterial(key.KeyId!)).map((r) => [r.KeyMaterialId, r.KeyMaterialState])).toEqual([[first, 'NON_CURRENT'], [second, 'CURRENT']]);
  });

  it('RotateKeyOnDemand without pending material, and new material while some is pending, are refused; deleting pending material leaves the key Enabled', async () => {
    const { key } = await externalKeyWith(randomBytes(32));
    const refused = await failure(ctx.kms.send(new RotateKeyOnDemandCommand({ KeyId: key.KeyId })));
    expect(refused).toMatchObject({ name: 'KMSInvalidStateException', message: expect.stringContaining('no imported key material pending rotation') });

    const pending = (await importInto(key.KeyId!, randomBytes(32), { ImportType: 'NEW_KEY_MATERIAL' })).KeyMaterialId!;
    const third = randomBytes(32);
    const withToken = await importer(key.KeyId!);
    expect(await failure(withToken(third, { ImportType: 'NEW_KEY_MATERIAL' }))).toMatchObject({ name: 'KMSInvalidStateException', message: expect.stringContaining(pending) });

    // Pending material was never the key's: deleting it removes it and the key stays usable.
    expect(await ctx.kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: key.KeyId, KeyMaterialId: pending }))).toMatchObject({ KeyMaterialId: pending });
    expect((await describeKey(key.KeyId!)).KeyState).toBe('Enabled');
    expect((await allMaterial(key.KeyId!)).map((r) => r.KeyMaterialState)).toEqual(['CURRENT']);
    expect((await failure(ctx.kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: key.KeyId, KeyMaterialId: pending })))).name).toBe('NotFoundException');

    // The refused import did not spend the token: it imports the third material now.
    const replaced = (await withToken(third, { ImportType: 'NEW_KEY_MATERIAL' })).KeyMaterialId!;
    expect(replaced).not.toBe(pending);
    expect((await allMaterial(key.KeyId!)).map((r) => [r.KeyMaterialId, r.KeyMaterialState])).toEqual([[expect.any(String), 'CURRENT'], [replaced, 'PENDING_ROTATION']]);
  });

  it('deleting non-current material makes the key PendingImport until that material, found by its value, is re-imported', async () => {
    const [a, b] = [randomBytes(32), randomBytes(32)];
    const { key, first } = await externalKeyWith(a);
    const underA = await encrypt(key.KeyId!, 'a');
    const second = (await importInto(key.KeyId!, b, { ImportType: 'NEW_KEY_MATERIAL', KeyMaterialDescription: 'b' })).KeyMaterialId!;
    await ctx.kms.send(new RotateKeyOnDemandCommand({ KeyId: key.KeyId }));
    const underB = await encrypt(key.KeyId!, 'b');

    await ctx.kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: key.KeyId, KeyMaterialId: first }));
    // PendingImport, while its current material (still imported) keeps showing its expiry.
    expect(await describeKey(key.KeyId!)).toMatchObject({ KeyState: 'PendingImport', ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' });
    expect((await allMaterial(key.KeyId!)).map((r) => [r.KeyMaterialId, r.ImportState])).toEqual([[first, 'PENDING_IMPORT'], [second, 'IMPORTED']]);
    for (const blob of [underA, underB]) expect((await failure(decrypt(blob))).name).toBe('KMSInvalidStateException');
    expect((await failure(ctx.kms.send(new RotateKeyOnDemandCommand({ KeyId: key.KeyId })))).name).toBe('KMSInvalidStateException');

    // Other material, or the right material under another material's id, is refused.
    expect((await failure(importInto(key.KeyId!, randomBytes(32)))).name).toBe('IncorrectKeyMaterialException');
    expect((await failure(importInto(key.KeyId!, a, { KeyMaterialId: second }))).name).toBe('IncorrectKeyMaterialException');

    // A PendingImport key whose deletion is cancelled goes back to PendingImport, not to a Disabled key without material.
    await ctx.kms.send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId, PendingWindowInDays: 7 }));
    await ctx.kms.send(new CancelKeyDeletionCommand({ KeyId: key.KeyId }));
    expect((await describeKey(key.KeyId!)).KeyState).toBe('PendingImport');

    // No ImportType: existing material, matched by its value; the description the material had stays.
    expect((await importInto(key.KeyId!, a)).KeyMaterialId).toBe(first);
    expect((await describeKey(key.KeyId!)).KeyState).toBe('Enabled');
    expect(new TextDecoder().decode((await decrypt(underA)).Plaintext)).toBe('a');
    expect(new TextDecoder().decode((await decrypt(underB)).Plaintext)).toBe('b');
    expect((await allMaterial(key.KeyId!)).map((r) => r.KeyMaterialDescription)).toEqual([undefined, 'b']);

    // Deleting without a KeyMaterialId deletes the current material.
    expect((await ctx.kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: key.KeyId }))).KeyMaterialId).toBe(second);
    expect((await allMaterial(key.KeyId!)).map((r) => r.ImportState)).toEqual(['IMPORTED', 'PENDING_IMPORT']);
    expect((await importInto(key.KeyId!, b, { ImportType: 'EXISTING_KEY_MATERIAL', KeyMaterialId: second })).KeyMaterialId).toBe(second);
    expect((await describeKey(key.KeyId!)).KeyState).toBe('Enabled');
  });

  it('racing imports of new material, and a rotation racing the deletion of the pending material, each end in one clear answer', async () => {
    const { key } = await externalKeyWith(randomBytes(32));
    const importers = await Promise.all([importer(key.KeyId!), importer(key.KeyId!), importer(key.KeyId!)]);
    const imports = await Promise.allSettled(importers.map((imp) => imp(randomBytes(32), { ImportType: 'NEW_KEY_MATERIAL' })));
    const outcome = (r: PromiseSettledResult<unknown>) => (r.status === 'rejected' ? (r.reason as Error).name : 'ok');
    expect(imports.map(outcome).sort()).toEqual(['KMSInvalidStateException', 'KMSInvalidStateException', 'ok']);
    const pending = (imports.find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<{ KeyMaterialId?: string }>).value.KeyMaterialId!;

    const [rotated, deleted] = await Promise.allSettled([
      ctx.kms.send(new RotateKeyOnDemandCommand({ KeyId: key.KeyId })),
      ctx.kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: key.KeyId, KeyMaterialId: pending })),
    ]);
    const states = (await allMaterial(key.KeyId!)).map((r) => [r.KeyMaterialId === pending, r.KeyMaterialState, r.ImportState]);
    if (outcome(rotated) === 'ok') {
      // Rotated first: the deletion then took the now current material, and the key awaits it again.
      expect(outcome(deleted)).toBe('ok');
      expect(states).toEqual([[false, 'NON_CURRENT', 'IMPORTED'], [true, 'CURRENT', 'PENDING_IMPORT']]);
      expect((await describeKey(key.KeyId!)).KeyState).toBe('PendingImport');
    } else {
      // Deleted first: nothing was left to rotate to.
      expect([outcome(rotated), outcome(deleted)]).toEqual(['KMSInvalidStateException', 'ok']);
      expect(states).toEqual([[false, 'CURRENT', 'IMPORTED']]);
    }
  });

  it('ImportType, KeyMaterialId and KeyMaterialDescription are refused for other key specs, and EXISTING_KEY_MATERIAL for a key that never had any', async () => {
    const hmac = (await ctx.kms.send(new CreateKeyCommand({ Origin: 'EXTERNAL', KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' }))).KeyMetadata!;
    expect((await failure(importInto(hmac.KeyId!, randomBytes(32), { KeyMaterialDescription: 'x' }))).name).toBe('ValidationException');
    const fresh = (await ctx.kms.send(new CreateKeyCommand({ Origin: 'EXTERNAL' }))).KeyMetadata!;
    expect((await failure(importInto(fresh.KeyId!, randomBytes(32), { ImportType: 'EXISTING_KEY_MATERIAL' }))).name).toBe('IncorrectKeyMaterialException');
    const tooLong = await failure(importInto(fresh.KeyId!, randomBytes(32), { KeyMaterialDescription: 'd'.repeat(257) }));
    expect(tooLong.name).toBe('ValidationException');
  });
});
