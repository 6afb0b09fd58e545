// End-to-end: key rotation through the AWS SDK: on-demand rotations make new versions, every earlier ciphertext still
// decrypts and the newest version encrypts; rotation settings, limits and the refusals AWS gives.
import { describe, expect, it } from 'vitest';
import {
  CreateKeyCommand, DecryptCommand, DescribeKeyCommand, DisableKeyCommand, ReEncryptCommand, DisableKeyRotationCommand, EnableKeyRotationCommand, EncryptCommand,
  GetKeyRotationStatusCommand, ListKeyRotationsCommand, RotateKeyOnDemandCommand,
} from '@aws-sdk/client-kms';
import { failure, serverPerFile } from '../helpers/server.js';

const ctx = serverPerFile();

const newKey = async () => (await ctx.kms.send(new CreateKeyCommand({}))).KeyMetadata!;
/** The key version id a Coffer ciphertext names (header bytes 17..32). */
const versionOf = (blob: Uint8Array) => Buffer.from(blob.subarray(17, 33)).toString('hex');

describe('on-demand rotation', () => {
  it('ciphertexts of each of four versions decrypt after three rotations, and the newest version encrypts', async () => {
    const key = await newKey();
    const blobs: Uint8Array[] = [];
    const encrypt = async (i: number) =>
      (await ctx.kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: new TextEncoder().encode(`v${i}`), EncryptionContext: { v: String(i) } }))).CiphertextBlob!;
    blobs.push(await encrypt(1));
    for (let i = 2; i <= 4; i++) {
      const r = await ctx.kms.send(new RotateKeyOnDemandCommand({ KeyId: key.KeyId }));
      expect(r.KeyId).toBe(key.Arn);
      // Done when RotateKeyOnDemand answers: the rotation is listed, and none is in progress (no OnDemandRotationStartDate).
      expect((await ctx.kms.send(new ListKeyRotationsCommand({ KeyId: key.KeyId }))).Rotations).toHaveLength(i - 1);
      expect((await ctx.kms.send(new GetKeyRotationStatusCommand({ KeyId: key.KeyId }))).OnDemandRotationStartDate).toBeUndefined();
      blobs.push(await encrypt(i));
    }
    expect(new Set(blobs.map(versionOf)).size).toBe(4);
    for (const [i, blob] of blobs.entries()) {
      const dec = await ctx.kms.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: { v: String(i + 1) } }));
      expect(new TextDecoder().decode(dec.Plaintext)).toBe(`v${i + 1}`);
    }
    const newest = await encrypt(5);
    expect(versionOf(newest)).toBe(versionOf(blobs[3]!));
    // KeyMaterialId: each version's own; DescribeKey names the current one, the newest rotation's, and Decrypt the blob's.
    const rotations = (await ctx.kms.send(new ListKeyRotationsCommand({ KeyId: key.KeyId }))).Rotations!;
    const ids = rotations.map((r) => r.KeyMaterialId);
    expect(new Set([key.CurrentKeyMaterialId, ...ids]).size).toBe(4);
    expect((await ctx.kms.send(new DescribeKeyCommand({ KeyId: key.KeyId }))).KeyMetadata!.CurrentKeyMaterialId).toBe(ids[2]);
    expect((await ctx.kms.send(new DecryptCommand({ CiphertextBlob: blobs[0], EncryptionContext: { v: '1' } }))).KeyMaterialId).toBe(key.CurrentKeyMaterialId);
    const re = await ctx.kms.send(new ReEncryptCommand({ CiphertextBlob: blobs[1], SourceEncryptionContext: { v: '2' }, DestinationKeyId: key.KeyId }));
    expect(re).toMatchObject({ SourceKeyMaterialId: ids[0], DestinationKeyMaterialId: ids[2] });
    expect(rotations.map((r) => r.KeyMaterialState)).toEqual(['NON_CURRENT', 'NON_CURRENT', 'CURRENT']);
    // ALL_KEY_MATERIAL adds the first material (no rotation date), paged like the rotations.
    const all = async (Marker?: string) => ctx.kms.send(new ListKeyRotationsCommand({ KeyId: key.KeyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL', Limit: 3, Marker }));
    const firstPage = await all();
    expect(firstPage.Rotations![0]).toEqual({ KeyId: key.Arn, KeyMaterialId: key.CurrentKeyMaterialId, KeyMaterialState: 'NON_CURRENT' });
    expect(firstPage.Truncated).toBe(true);
    const lastPage = await all(firstPage.NextMarker);
    expect([...firstPage.Rotations!, ...lastPage.Rotations!].map((r) => r.KeyMaterialId)).toEqual([key.CurrentKeyMaterialId, ...ids]);
    expect(lastPage).toMatchObject({ Truncated: false, Rotations: [{ KeyMaterialState: 'CURRENT', RotationType: 'ON_DEMAND' }] });
    expect((await failure(all('not-a-marker'))).name).toBe('InvalidMarkerException');
    const list = await ctx.kms.send(new ListKeyRotationsCommand({ KeyId: key.KeyId }));
    expect(list.Rotations).toHaveLength(3);
    expect(list.Rotations!.every((r) => r.RotationType === 'ON_DEMAND' && r.KeyId === key.Arn && r.RotationDate instanceof Date)).toBe(true);
    const page = await ctx.kms.send(new ListKeyRotationsCommand({ KeyId: key.KeyId, Limit: 2 }));
    expect(page.Rotations).toHaveLength(2);
    expect(page.Truncated).toBe(true);
    const rest = await ctx.kms.send(new ListKeyRotationsCommand({ KeyId: key.KeyId, Marker: page.NextMarker }));
    expect(rest.Rotations).toHaveLength(1);
    expect(rest.Truncated).toBe(false);
  });

  it('allows 25 on-demand rotations per key, then LimitExceededException', async () => {
    const key = await newKey();
    for (let i = 0; i < 25; i++) await ctx.kms.send(new RotateKeyOnDemandCommand({ KeyId: key.KeyId }));
    expect((await failure(ctx.kms.send(new RotateKeyOnDemandCommand({ KeyId: key.KeyId })))).name).toBe('LimitExceededException');
  });

  it('concurrent on-demand rotations of one key all succeed, one after another, each a version of its own', async () => {
    const key = await newKey();
    const results = await Promise.allSettled(Array.from({ length: 6 }, () => ctx.kms.send(new RotateKeyOnDemandCommand({ KeyId: key.KeyId }))));
    expect(results.map((r) => (r.status === 'rejected' ? (r.reason as Error).name : 'ok'))).toEqual(Array(6).fill('ok'));
    const rotations = (await ctx.kms.send(new ListKeyRotationsCommand({ KeyId: key.KeyId }))).Rotations!;
    expect(new Set(rotations.map((r) => r.KeyMaterialId)).size).toBe(6);
    expect((await ctx.kms.send(new DescribeKeyCommand({ KeyId: key.KeyId }))).KeyMetadata!.CurrentKeyMaterialId).toBe(rotations[5]!.KeyMaterialId);
  });

  it('refuses asymmetric and HMAC keys with UnsupportedOperationException, and alias names with NotFoundException', async () => {
    const rsa = (await ctx.kms.send(new CreateKeyCommand({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' }))).KeyMetadata!;
    const hmac = (await ctx.kms.send(new CreateKeyCommand({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' }))).KeyMetadata!;
    for (const k of [rsa, hmac]) {
      expect((await failure(ctx.kms.send(new RotateKeyOnDemandCommand({ KeyId: k.KeyId })))).name).toBe('UnsupportedOperationException');
      expect((await failure(ctx.kms.send(new EnableKeyRotationCommand({ KeyId: k.KeyId })))).name).toBe('UnsupportedOperationException');
    }
    expect((await failure(ctx.kms.send(new RotateKeyOnDemandCommand({ KeyId: 'alias/nope' })))).name).toBe('NotFoundException');
  });

  it('refuses a disabled key with DisabledException', async () => {
    const key = await newKey();
    await ctx.kms.send(new DisableKeyCommand({ KeyId: key.KeyId }));
    expect((await failure(ctx.kms.send(new RotateKeyOnDemandCommand({ KeyId: key.KeyId })))).name).toBe('DisabledException');
    expect((await failure(ctx.kms.send(new EnableKeyRotationCommand({ KeyId: key.KeyId })))).name).toBe('DisabledException');
  });
});

describe('automatic rotation settings', () => {
  it('is off by default; Enable with the default 365 days or a period, Disable, and the status AWS reports', async () => {
    const key = await newKey();
    expect(await ctx.kms.send(new GetKeyRotationStatusCommand({ KeyId: key.KeyId }))).toMatchObject({ KeyRotationEnabled: false, KeyId: key.Arn });
    const before = Date.now();
    await ctx.kms.send(new EnableKeyRotationCommand({ KeyId: key.KeyId }));
    const on = await ctx.kms.send(new GetKeyRotationStatusCommand({ KeyId: key.KeyId }));
    expect(on).toMatchObject({ KeyRotationEnabled: true, RotationPeriodInDays: 365 });
    const next = on.NextRotationDate!.getTime() - before;
    expect(Math.round(next / 86_400_000)).toBe(365);
    await ctx.kms.send(new EnableKeyRotationCommand({ KeyId: key.KeyId, RotationPeriodInDays: 90 }));
    expect((await ctx.kms.send(new GetKeyRotationStatusCommand({ KeyId: key.KeyId }))).RotationPeriodInDays).toBe(90);
    await ctx.kms.send(new DisableKeyRotationCommand({ KeyId: key.KeyId }));
    const off = await ctx.kms.send(new GetKeyRotationStatusCommand({ KeyId: key.KeyId }));
    expect(off.KeyRotationEnabled).toBe(false);
    expect(off.NextRotationDate).toBeUndefined();
  });

  it('refuses periods outside 90..2560 days with ValidationException', async () => {
    const key = await newKey();
    for (const RotationPeriodInDays of [89, 2561]) {
      const e = await failure(ctx.kms.send(new EnableKeyRotationCommand({ KeyId: key.KeyId, RotationPeriodInDays })));
      expect(e.name).toBe('ValidationException');
      expect(e.message).toContain('rotationPeriodInDays');
    }
  });
});
