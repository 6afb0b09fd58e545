// End-to-end: key management operations through @aws-sdk/client-kms against the real server.
import { describe, expect, it } from 'vitest';
import {
  CancelKeyDeletionCommand, CreateAliasCommand, CreateKeyCommand, DeleteAliasCommand, DescribeKeyCommand, DisableKeyCommand,
  EnableKeyCommand, EncryptCommand, ListAliasesCommand, ListKeysCommand, ListResourceTagsCommand,
  ScheduleKeyDeletionCommand, TagResourceCommand, UntagResourceCommand, UpdateAliasCommand, UpdateKeyDescriptionCommand,
} from '@aws-sdk/client-kms';
import { ACCOUNT, failure, REGION, serverPerFile } from '../helpers/server.js';

const ctx = serverPerFile();

const create = async (Description = 'test key') => (await ctx.kms.send(new CreateKeyCommand({ Description }))).KeyMetadata!;

describe('CreateKey and DescribeKey', () => {
  it('creates an enabled symmetric key with AWS-shaped metadata and an AWS-shaped ARN', async () => {
    const md = await create('first');
    expect(md.KeyId).toMatch(/^[0-9a-f-]{36}$/);
    expect(md.Arn).toBe(`arn:aws:kms:${REGION}:${ACCOUNT}:key/${md.KeyId}`);
    expect(md).toMatchObject({
      AWSAccountId: ACCOUNT, Enabled: true, KeyState: 'Enabled', KeyUsage: 'ENCRYPT_DECRYPT', KeySpec: 'SYMMETRIC_DEFAULT',
      Origin: 'AWS_KMS', KeyManager: 'CUSTOMER', Description: 'first', EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'], MultiRegion: false,
    });
    expect(md.CreationDate).toBeInstanceOf(Date);
    expect(Math.abs(md.CreationDate!.getTime() - Date.now())).toBeLessThan(60_000);
  });

  it('describes a key by key id, key ARN, alias name and alias ARN', async () => {
    const md = await create();
    await ctx.kms.send(new CreateAliasCommand({ AliasName: 'alias/describe-me', TargetKeyId: md.KeyId }));
    for (const KeyId of [md.KeyId!, md.Arn!, 'alias/describe-me', `arn:aws:kms:${REGION}:${ACCOUNT}:alias/describe-me`]) {
      const got = await ctx.kms.send(new DescribeKeyCommand({ KeyId }));
      expect(got.KeyMetadata?.KeyId).toBe(md.KeyId);
    }
  });

  it('answers NotFoundException for unknown keys and aliases, with AWS wording', async () => {
    const id = '00000000-0000-4000-8000-000000000000';
    expect(await failure(ctx.kms.send(new DescribeKeyCommand({ KeyId: id })))).toMatchObject({
      name: 'NotFoundException', message: `Key 'arn:aws:kms:${REGION}:${ACCOUNT}:key/${id}' does not exist`, status: 400,
    });
    expect(await failure(ctx.kms.send(new DescribeKeyCommand({ KeyId: 'alias/nope' })))).toMatchObject({
      name: 'NotFoundException', message: `Alias arn:aws:kms:${REGION}:${ACCOUNT}:alias/nope is not found.`,
    });
    expect((await failure(ctx.kms.send(new DescribeKeyCommand({ KeyId: 'not-a-key' })))).name).toBe('NotFoundException');
  });

  it('refuses key specs, usages and origins it does not serve', async () => {
    expect((await failure(ctx.kms.send(new CreateKeyCommand({ KeyUsage: 'SIGN_VERIFY' })))).name).toBe('ValidationException');
    expect((await failure(ctx.kms.send(new CreateKeyCommand({ KeySpec: 'SYMMETRIC_DEFAULT', CustomerMasterKeySpec: 'SYMMETRIC_DEFAULT' })))).name).toBe('ValidationException');
    expect((await failure(ctx.kms.send(new CreateKeyCommand({ Description: 'x'.repeat(8193) })))).message).toContain(
      "at 'description' failed to satisfy constraint: Member must have length less than or equal to 8192",
    );
    expect((await failure(ctx.kms.send(new CreateKeyCommand({ Tags: [{ TagKey: 'aws:reserved', TagValue: 'v' }] })))).name).toBe('TagException');
  });
});

describe('ListKeys', () => {
  it('pages with Limit and Marker and reports Truncated', async () => {
    for (let i = 0; i < 3; i++) await create(`list ${i}`);
    const seen = new Set<string>();
    let Marker: string | undefined;
    let pages = 0;
    do {
      const page = await ctx.kms.send(new ListKeysCommand({ Limit: 2, Marker }));
      for (const k of page.Keys ?? []) {
        expect(k.KeyArn).toBe(`arn:aws:kms:${REGION}:${ACCOUNT}:key/${k.KeyId}`);
        seen.add(k.KeyId!);
      }
      expect(page.Truncated).toBe(page.NextMarker !== undefined);
      Marker = page.NextMarker;
      pages++;
    } while (Marker);
    expect(pages).toBeGreaterThanOrEqual(2);
    const all = await ctx.kms.send(new ListKeysCommand({ Limit: 1000 }));
    expect(new Set(all.Keys!.map((k) => k.KeyId))).toEqual(seen);
  });

  it('refuses Limit 0 and a bad marker', async () => {
    expect((await failure(ctx.kms.send(new ListKeysCommand({ Limit: 0 })))).name).toBe('ValidationException');
    expect(await failure(ctx.kms.send(new ListKeysCommand({ Marker: 'garbage' })))).toMatchObject({ name: 'InvalidMarkerException', message: expect.stringContaining('marker that specifies where pagination should next begin is not valid') });
  });
});

describe('key lifecycle', () => {
  it('updates the description', async () => {
    const md = await create('before');
    await ctx.kms.send(new UpdateKeyDescriptionCommand({ KeyId: md.KeyId, Description: 'after' }));
    expect((await ctx.kms.send(new DescribeKeyCommand({ KeyId: md.KeyId }))).KeyMetadata?.Description).toBe('after');
  });

  it('disables and enables: a disabled key refuses Encrypt with DisabledException', async () => {
    const md = await create();
    await ctx.kms.send(new DisableKeyCommand({ KeyId: md.KeyId }));
    expect((await ctx.kms.send(new DescribeKeyCommand({ KeyId: md.KeyId }))).KeyMetadata).toMatchObject({ Enabled: false, KeyState: 'Disabled' });
    expect(await failure(ctx.kms.send(new EncryptCommand({ KeyId: md.KeyId, Plaintext: Buffer.from('x') })))).toMatchObject({
      name: 'DisabledException', message: `${md.Arn} is disabled.`,
    });
    await ctx.kms.send(new EnableKeyCommand({ KeyId: md.Arn }));
    await ctx.kms.send(new EncryptCommand({ KeyId: md.KeyId, Plaintext: Buffer.from('x') }));
  });

  it('schedules deletion (7 to 30 days, default 30) and cancels it, leaving the key Disabled', async () => {
    const md = await create();
    const s = await ctx.kms.send(new ScheduleKeyDeletionCommand({ KeyId: md.KeyId }));
    expect(s).toMatchObject({ KeyId: md.Arn, KeyState: 'PendingDeletion', PendingWindowInDays: 30 });
    const days = (s.DeletionDate!.getTime() - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(29.9);
    expect(days).toBeLessThan(30.1);
    const described = (await ctx.kms.send(new DescribeKeyCommand({ KeyId: md.KeyId }))).KeyMetadata!;
    expect(described).toMatchObject({ KeyState: 'PendingDeletion', PendingDeletionWindowInDays: 30 });
    expect(described.DeletionDate).toBeInstanceOf(Date);
    expect(await failure(ctx.kms.send(new EncryptCommand({ KeyId: md.KeyId, Plaintext: Buffer.from('x') })))).toMatchObject({
      name: 'KMSInvalidStateException', message: `${md.Arn} is pending deletion.`,
    });
    expect((await failure(ctx.kms.send(new EnableKeyCommand({ KeyId: md.KeyId })))).name).toBe('KMSInvalidStateException');
    expect((await failure(ctx.kms.send(new ScheduleKeyDeletionCommand({ KeyId: md.KeyId })))).name).toBe('KMSInvalidStateException');
    expect(await ctx.kms.send(new CancelKeyDeletionCommand({ KeyId: md.KeyId }))).toMatchObject({ KeyId: md.Arn });
    const after = (await ctx.kms.send(new DescribeKeyCommand({ KeyId: md.KeyId }))).KeyMetadata!;
    expect(after).toMatchObject({ KeyState: 'Disabled', Enabled: false });
    expect(after.DeletionDate).toBeUndefined();
    expect((await failure(ctx.kms.send(new CancelKeyDeletionCommand({ KeyId: md.KeyId })))).name).toBe('KMSInvalidStateException');
  });

  it('refuses a waiting period outside 7 to 30 days', async () => {
    const md = await create();
    for (const PendingWindowInDays of [6, 31]) {
      expect((await failure(ctx.kms.send(new ScheduleKeyDeletionCommand({ KeyId: md.KeyId, PendingWindowInDays })))).name).toBe('ValidationException');
    }
    const s = await ctx.kms.send(new ScheduleKeyDeletionCommand({ KeyId: md.KeyId, PendingWindowInDays: 7 }));
    expect(s.PendingWindowInDays).toBe(7);
  });
});

describe('aliases', () => {
  it('creates, lists, retargets and deletes an alias', async () => {
    const a = await create('a');
    const b = await create('b');
    await ctx.kms.send(new CreateAliasCommand({ AliasName: 'alias/app/main', TargetKeyId: a.KeyId }));
    const listed = await ctx.kms.send(new ListAliasesCommand({ KeyId: a.KeyId }));
    expect(listed.Aliases).toEqual([
      expect.objectContaining({ AliasName: 'alias/app/main', AliasArn: `arn:aws:kms:${REGION}:${ACCOUNT}:alias/app/main`, TargetKeyId: a.KeyId }),
    ]);
    await ctx.kms.send(new UpdateAliasCommand({ AliasName: 'alias/app/main', TargetKeyId: b.Arn }));
    expect((await ctx.kms.send(new DescribeKeyCommand({ KeyId: 'alias/app/main' }))).KeyMetadata?.KeyId).toBe(b.KeyId);
    await ctx.kms.send(new DeleteAliasCommand({ AliasName: 'alias/app/main' }));
    expect((await failure(ctx.kms.send(new DescribeKeyCommand({ KeyId: 'alias/app/main' })))).name).toBe('NotFoundException');
    expect((await failure(ctx.kms.send(new DeleteAliasCommand({ AliasName: 'alias/app/main' })))).name).toBe('NotFoundException');
  });

  it('refuses a duplicate, a reserved or unprefixed name, and an alias as target', async () => {
    const a = await create();
    await ctx.kms.send(new CreateAliasCommand({ AliasName: 'alias/dup', TargetKeyId: a.KeyId }));
    expect(await failure(ctx.kms.send(new CreateAliasCommand({ AliasName: 'alias/dup', TargetKeyId: a.KeyId })))).toMatchObject({
      name: 'AlreadyExistsException', message: `An alias with the name arn:aws:kms:${REGION}:${ACCOUNT}:alias/dup already exists`,
    });
    expect((await failure(ctx.kms.send(new CreateAliasCommand({ AliasName: 'alias/aws/mine', TargetKeyId: a.KeyId })))).name).toBe('InvalidAliasNameException');
    expect((await failure(ctx.kms.send(new CreateAliasCommand({ AliasName: 'mine', TargetKeyId: a.KeyId })))).name).toBe('ValidationException');
    expect((await failure(ctx.kms.send(new CreateAliasCommand({ AliasName: 'alias/bad name', TargetKeyId: a.KeyId })))).name).toBe('ValidationException');
    expect((await failure(ctx.kms.send(new CreateAliasCommand({ AliasName: 'alias/x2', TargetKeyId: 'alias/dup' })))).name).toBe('NotFoundException');
    expect((await failure(ctx.kms.send(new UpdateAliasCommand({ AliasName: 'alias/none', TargetKeyId: a.KeyId })))).name).toBe('NotFoundException');
  });

  it('pages ListAliases', async () => {
    const a = await create();
    for (let i = 0; i < 3; i++) await ctx.kms.send(new CreateAliasCommand({ AliasName: `alias/page-${i}`, TargetKeyId: a.KeyId }));
    const first = await ctx.kms.send(new ListAliasesCommand({ KeyId: a.KeyId, Limit: 2 }));
    expect(first.Aliases).toHaveLength(2);
    expect(first.Truncated).toBe(true);
    const second = await ctx.kms.send(new ListAliasesCommand({ KeyId: a.KeyId, Limit: 2, Marker: first.NextMarker }));
    expect(second.Aliases!.map((x) => x.AliasName)).toEqual(['alias/page-2']);
    expect(second.Truncated).toBe(false);
    // A marker this server did not hand out is refused, not read as an alias name ('garbage' sorts after every alias/).
    expect(await failure(ctx.kms.send(new ListAliasesCommand({ KeyId: a.KeyId, Marker: 'garbage' })))).toMatchObject({ name: 'InvalidMarkerException', message: expect.stringContaining('marker that specifies where pagination') });
  });
});

describe('concurrent changes of state', () => {
  it('EnableKey racing ScheduleKeyDeletion on a disabled key ends pending deletion, as either order would', async () => {
    for (let round = 0; round < 8; round++) {
      const md = await create();
      await ctx.kms.send(new DisableKeyCommand({ KeyId: md.KeyId }));
      const [scheduled, enabled] = await Promise.allSettled([
        ctx.kms.send(new ScheduleKeyDeletionCommand({ KeyId: md.KeyId, PendingWindowInDays: 7 })),
        ctx.kms.send(new EnableKeyCommand({ KeyId: md.KeyId })),
      ]);
      expect(scheduled.status).toBe('fulfilled');
      if (enabled.status === 'rejected') expect((enabled.reason as Error).name).toBe('KMSInvalidStateException');
      const now = (await ctx.kms.send(new DescribeKeyCommand({ KeyId: md.KeyId }))).KeyMetadata!;
      expect(now.KeyState).toBe('PendingDeletion');
      expect(now.DeletionDate).toBeInstanceOf(Date);
    }
  });
});

describe('tags', () => {
  it('tags at creation, adds, overwrites, lists and removes', async () => {
    const md = (await ctx.kms.send(new CreateKeyCommand({ Tags: [{ TagKey: 'team', TagValue: 'a' }] }))).KeyMetadata!;
    await ctx.kms.send(new TagResourceCommand({ KeyId: md.KeyId, Tags: [{ TagKey: 'team', TagValue: 'b' }, { TagKey: 'env', TagValue: 'prod' }] }));
    const tags = await ctx.kms.send(new ListResourceTagsCommand({ KeyId: md.KeyId }));
    expect(tags.Tags).toEqual([{ TagKey: 'env', TagValue: 'prod' }, { TagKey: 'team', TagValue: 'b' }]);
    expect(tags.Truncated).toBe(false);
    await ctx.kms.send(new UntagResourceCommand({ KeyId: md.Arn, TagKeys: ['team'] }));
    expect((await ctx.kms.send(new ListResourceTagsCommand({ KeyId: md.KeyId }))).Tags).toEqual([{ TagKey: 'env', TagValue: 'prod' }]);
  });

  it('pages ListResourceTags with an opaque marker and refuses one it did not hand out', async () => {
    const tagKeys = ['a:b', 'env', 'garbage', 'team'];
    const md = (await ctx.kms.send(new CreateKeyCommand({ Tags: tagKeys.map((TagKey) => ({ TagKey, TagValue: 'v' })) }))).KeyMetadata!;
    const first = await ctx.kms.send(new ListResourceTagsCommand({ KeyId: md.KeyId, Limit: 3 }));
    expect(first.Tags!.map((t) => t.TagKey)).toEqual(['a:b', 'env', 'garbage']);
    expect(first.Truncated).toBe(true);
    const second = await ctx.kms.send(new ListResourceTagsCommand({ KeyId: md.KeyId, Limit: 3, Marker: first.NextMarker }));
    expect(second.Tags!.map((t) => t.TagKey)).toEqual(['team']);
    expect(second.Truncated).toBe(false);
    // A tag key is not a marker: read as one, 'env' would have skipped to 'garbage'.
    for (const Marker of ['env', 'garbage', `${first.NextMarker}x`]) {
      expect(await failure(ctx.kms.send(new ListResourceTagsCommand({ KeyId: md.KeyId, Marker })))).toMatchObject({ name: 'InvalidMarkerException', message: expect.stringContaining('marker that specifies where pagination') });
    }
  });

  it('refuses reserved tag keys and more than 50 tags', async () => {
    const md = await create();
    expect((await failure(ctx.kms.send(new TagResourceCommand({ KeyId: md.KeyId, Tags: [{ TagKey: 'aws:x', TagValue: '' }] })))).name).toBe('TagException');
    const many = Array.from({ length: 51 }, (_, i) => ({ TagKey: `k${i}`, TagValue: 'v' }));
    expect((await failure(ctx.kms.send(new TagResourceCommand({ KeyId: md.KeyId, Tags: many })))).name).toBe('TagException');
    expect((await ctx.kms.send(new ListResourceTagsCommand({ KeyId: md.KeyId }))).Tags).toEqual([]);
  });

  it('concurrent TagResource calls take turns at the quota: two of five sets of 20 fit, never more than 50 tags', async () => {
    const md = await create();
    const sets = Array.from({ length: 5 }, (_, s) => Array.from({ length: 20 }, (_, i) => ({ TagKey: `s${s}k${i}`, TagValue: 'v' })));
    const results = await Promise.allSettled(sets.map((Tags) => ctx.kms.send(new TagResourceCommand({ KeyId: md.KeyId, Tags }))));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
    for (const r of results) if (r.status === 'rejected') expect((r.reason as Error).name).toBe('TagException');
    const listed = await ctx.kms.send(new ListResourceTagsCommand({ KeyId: md.KeyId }));
    expect(listed.Tags).toHaveLength(40);
  });
});
