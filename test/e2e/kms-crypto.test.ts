// End-to-end: Encrypt, Decrypt, ReEncrypt, GenerateDataKey(WithoutPlaintext), GenerateRandom through the AWS SDK.
import { describe, expect, it } from 'vitest';
import { createDecipheriv } from 'node:crypto';
import {
  CreateKeyCommand, DecryptCommand, DisableKeyCommand, EnableKeyCommand, EncryptCommand, GenerateDataKeyCommand,
  GenerateDataKeyWithoutPlaintextCommand, GenerateRandomCommand, ReEncryptCommand, ScheduleKeyDeletionCommand,
  CreateAliasCommand,
} from '@aws-sdk/client-kms';
import { failure, serverPerFile } from '../helpers/server.js';

// Small AES-GCM, HMAC and ECC_NIST_P256 calls synchronous, as a server with a worker per core runs them by default
// (hsm/sync-calls.ts); the other suites' servers (one process) keep every call on libuv's pool.
const ctx = serverPerFile({ env: { COFFER_HSM_SYNC_MAX_BYTES: '4096' } });

const newKey = async () => (await ctx.kms.send(new CreateKeyCommand({}))).KeyMetadata!;
const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | undefined) => new TextDecoder().decode(b);

describe('Encrypt and Decrypt', () => {
  it('runs on the synchronous token calls this file asks for (the server says so when it starts listening)', () => {
    expect(ctx.server.logs()).toMatch(/"hsmSyncMaxBytes":4096,"msg":"listening"/);
  });

  it('round-trips 1 to 4096 bytes, with and without a KeyId on Decrypt', async () => {
    const key = await newKey();
    for (const size of [1, 100, 4096]) {
      const Plaintext = new Uint8Array(size).map((_, i) => (i * 7) & 0xff);
      const enc = await ctx.kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext }));
      expect(enc.KeyId).toBe(key.Arn);
      expect(enc.EncryptionAlgorithm).toBe('SYMMETRIC_DEFAULT');
      const dec = await ctx.kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob }));
      expect(Buffer.from(dec.Plaintext!).equals(Buffer.from(Plaintext))).toBe(true);
      expect(dec.KeyId).toBe(key.Arn);
      const named = await ctx.kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, KeyId: key.Arn }));
      expect(Buffer.from(named.Plaintext!).equals(Buffer.from(Plaintext))).toBe(true);
    }
  });

  it('refuses empty and over-4096-byte plaintext with ValidationException', async () => {
    const key = await newKey();
    expect((await failure(ctx.kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: new Uint8Array(4097) })))).message).toContain(
      "at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096",
    );
    expect((await failure(ctx.kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: new Uint8Array(0) })))).name).toBe('ValidationException');
  });

  it('gives different ciphertexts for the same plaintext (fresh IVs)', async () => {
    const key = await newKey();
    const a = await ctx.kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: bytes('same') }));
    const b = await ctx.kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: bytes('same') }));
    expect(Buffer.from(a.CiphertextBlob!).equals(Buffer.from(b.CiphertextBlob!))).toBe(false);
  });

  it('binds the encryption context: missing, changed, extra, or {"ab":"c"} for {"a":"bc"} all fail alike', async () => {
    const key = await newKey();
    const enc = await ctx.kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: bytes('ctx'), EncryptionContext: { a: 'bc' } }));
    const ok = await ctx.kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { a: 'bc' } }));
    expect(text(ok.Plaintext)).toBe('ctx');
    const wrong: (Record<string, string> | undefined)[] = [undefined, { ab: 'c' }, { a: 'b' }, { a: 'bc', x: 'y' }];
    const errors = await Promise.all(wrong.map((EncryptionContext) => failure(ctx.kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext })))));
    for (const e of errors) expect(e).toEqual(errors[0]);
    expect(errors[0]!.name).toBe('InvalidCiphertextException');
  });

  it('a changed byte anywhere, truncation or extension gives InvalidCiphertextException', async () => {
    const key = await newKey();
    const blob = (await ctx.kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: bytes('tamper me') }))).CiphertextBlob!;
    const variants: Uint8Array[] = [blob.slice(0, blob.length - 1), new Uint8Array([...blob, 0])];
    for (let i = 0; i < blob.length; i++) {
      const v = blob.slice();
      v[i] = (v[i] as number) ^ 0x01;
      variants.push(v);
    }
    for (const CiphertextBlob of variants) {
      expect((await failure(ctx.kms.send(new DecryptCommand({ CiphertextBlob })))).name).toBe('InvalidCiphertextException');
    }
  });

  it('a blob naming an unknown key is InvalidCiphertextException; naming another key in KeyId is IncorrectKeyException', async () => {
    const a = await newKey();
    const b = await newKey();
    const blob = (await ctx.kms.send(new EncryptCommand({ KeyId: a.KeyId, Plaintext: bytes('x') }))).CiphertextBlob!;
    const unknown = blob.slice();
    unknown.set(new Uint8Array(16).fill(0x42), 1);
    expect((await failure(ctx.kms.send(new DecryptCommand({ CiphertextBlob: unknown })))).name).toBe('InvalidCiphertextException');
    // Pointing the header at another existing key: the AAD no longer matches.
    const swapped = blob.slice();
    swapped.set(Buffer.from(b.KeyId!.replace(/-/g, ''), 'hex'), 1);
    expect((await failure(ctx.kms.send(new DecryptCommand({ CiphertextBlob: swapped })))).name).toBe('InvalidCiphertextException');
    expect((await failure(ctx.kms.send(new DecryptCommand({ CiphertextBlob: blob, KeyId: b.KeyId })))).name).toBe('IncorrectKeyException');
  });

  it('refuses garbage blobs and non-symmetric algorithms', async () => {
    const key = await newKey();
    expect((await failure(ctx.kms.send(new DecryptCommand({ CiphertextBlob: bytes('not a ciphertext at all, clearly') })))).name).toBe(
      'InvalidCiphertextException',
    );
    expect(
      (await failure(ctx.kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: bytes('x'), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' })))).name,
    ).toBe('InvalidKeyUsageException');
  });

  it('DryRun answers DryRunOperationException and does nothing', async () => {
    const key = await newKey();
    expect((await failure(ctx.kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: bytes('x'), DryRun: true })))).name).toBe(
      'DryRunOperationException',
    );
  });

  it('a key disabled through this server refuses Encrypt at once although Encrypt just read it (the metadata cache is cleared by the change), and enabling restores it at once', async () => {
    const key = await newKey();
    await ctx.kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: bytes('x') }));
    await ctx.kms.send(new DisableKeyCommand({ KeyId: key.KeyId }));
    expect((await failure(ctx.kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: bytes('x') })))).name).toBe('DisabledException');
    await ctx.kms.send(new EnableKeyCommand({ KeyId: key.KeyId }));
    expect((await ctx.kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: bytes('x') }))).KeyId).toContain(key.KeyId);
  });

  it('a disabled key refuses Decrypt; a key pending deletion refuses with KMSInvalidStateException', async () => {
    const key = await newKey();
    const blob = (await ctx.kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: bytes('x') }))).CiphertextBlob!;
    await ctx.kms.send(new DisableKeyCommand({ KeyId: key.KeyId }));
    expect((await failure(ctx.kms.send(new DecryptCommand({ CiphertextBlob: blob })))).name).toBe('DisabledException');
    await ctx.kms.send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId, PendingWindowInDays: 7 }));
    expect((await failure(ctx.kms.send(new DecryptCommand({ CiphertextBlob: blob })))).name).toBe('KMSInvalidStateException');
  });
});

describe('ReEncrypt', () => {
  it('moves a ciphertext to another key and context without exposing the plaintext', async () => {
    const a = await newKey();
    const b = await newKey();
    const blob = (await ctx.kms.send(new EncryptCommand({ KeyId: a.KeyId, Plaintext: bytes('move me'), EncryptionContext: { v: '1' } }))).CiphertextBlob!;
    const re = await ctx.kms.send(
      new ReEncryptCommand({ CiphertextBlob: blob, SourceEncryptionContext: { v: '1' }, DestinationKeyId: b.Arn, DestinationEncryptionContext: { v: '2' } }),
    );
    expect(re).toMatchObject({ SourceKeyId: a.Arn, KeyId: b.Arn, SourceEncryptionAlgorithm: 'SYMMETRIC_DEFAULT', DestinationEncryptionAlgorithm: 'SYMMETRIC_DEFAULT' });
    const dec = await ctx.kms.send(new DecryptCommand({ CiphertextBlob: re.CiphertextBlob, EncryptionContext: { v: '2' } }));
    expect(text(dec.Plaintext)).toBe('move me');
    expect(dec.KeyId).toBe(b.Arn);
    expect((await failure(ctx.kms.send(new ReEncryptCommand({ CiphertextBlob: blob, DestinationKeyId: b.KeyId })))).name).toBe('InvalidCiphertextException');
  });
});

describe('GenerateDataKey', () => {
  it('returns a data key whose ciphertext decrypts to it, by KeySpec or NumberOfBytes, through an alias', async () => {
    const key = await newKey();
    await ctx.kms.send(new CreateAliasCommand({ AliasName: 'alias/dk', TargetKeyId: key.KeyId }));
    const d = await ctx.kms.send(new GenerateDataKeyCommand({ KeyId: 'alias/dk', KeySpec: 'AES_256', EncryptionContext: { p: 'q' } }));
    expect(d.KeyId).toBe(key.Arn);
    expect(d.Plaintext).toHaveLength(32);
    const back = await ctx.kms.send(new DecryptCommand({ CiphertextBlob: d.CiphertextBlob, EncryptionContext: { p: 'q' } }));
    expect(Buffer.from(back.Plaintext!).equals(Buffer.from(d.Plaintext!))).toBe(true);
    expect((await ctx.kms.send(new GenerateDataKeyCommand({ KeyId: key.KeyId, KeySpec: 'AES_128' }))).Plaintext).toHaveLength(16);
    expect((await ctx.kms.send(new GenerateDataKeyCommand({ KeyId: key.KeyId, NumberOfBytes: 1024 }))).Plaintext).toHaveLength(1024);
  });

  it('needs exactly one of KeySpec and NumberOfBytes, in 1 to 1024', async () => {
    const key = await newKey();
    expect((await failure(ctx.kms.send(new GenerateDataKeyCommand({ KeyId: key.KeyId })))).name).toBe('ValidationException');
    expect((await failure(ctx.kms.send(new GenerateDataKeyCommand({ KeyId: key.KeyId, KeySpec: 'AES_256', NumberOfBytes: 32 })))).name).toBe('ValidationException');
    expect((await failure(ctx.kms.send(new GenerateDataKeyCommand({ KeyId: key.KeyId, NumberOfBytes: 1025 })))).name).toBe('ValidationException');
  });

  it('WithoutPlaintext returns only the ciphertext, which decrypts to a usable key', async () => {
    const key = await newKey();
    const d = await ctx.kms.send(new GenerateDataKeyWithoutPlaintextCommand({ KeyId: key.KeyId, KeySpec: 'AES_256' }));
    expect((d as { Plaintext?: unknown }).Plaintext).toBeUndefined();
    const pt = (await ctx.kms.send(new DecryptCommand({ CiphertextBlob: d.CiphertextBlob }))).Plaintext!;
    expect(pt).toHaveLength(32);
    // It is a real AES-256 key: usable with node:crypto.
    expect(() => createDecipheriv('aes-256-gcm', pt, Buffer.alloc(12))).not.toThrow();
  });
});

describe('GenerateRandom', () => {
  it('returns 1 to 1024 random bytes', async () => {
    const a = await ctx.kms.send(new GenerateRandomCommand({ NumberOfBytes: 32 }));
    const b = await ctx.kms.send(new GenerateRandomCommand({ NumberOfBytes: 32 }));
    expect(a.Plaintext).toHaveLength(32);
    expect(Buffer.from(a.Plaintext!).equals(Buffer.from(b.Plaintext!))).toBe(false);
    expect((await ctx.kms.send(new GenerateRandomCommand({ NumberOfBytes: 1024 }))).Plaintext).toHaveLength(1024);
    expect((await failure(ctx.kms.send(new GenerateRandomCommand({ NumberOfBytes: 8, CustomKeyStoreId: 'cks-1234567890abcdef0' })))).name).toBe(
      'UnsupportedOperationException',
    );
    for (const NumberOfBytes of [0, 1025]) {
      expect((await failure(ctx.kms.send(new GenerateRandomCommand({ NumberOfBytes })))).name).toBe('ValidationException');
    }
  });
});
