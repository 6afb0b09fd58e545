// The AWS Encryption SDK for JavaScript, unchanged, against Coffer: its KMS keyring calls GenerateDataKey on
// encrypt and Decrypt (with the key ARN from the message) on decrypt, and checks that each response's KeyId is
// the full key ARN it asked for.
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { buildClient, CommitmentPolicy, KmsKeyringNode } from '@aws-crypto/client-node';
import { CreateKeyCommand, DecryptCommand, GenerateDataKeyCommand, KMS } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, failure, REGION, startCoffer, type CofferProcess } from '../helpers/server.js';

const { encrypt, decrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
const CONTEXT = { purpose: 'e2e', tenant: 'acme' };

let coffer: CofferProcess;
let keyArn: string;
let otherKeyArn: string;
const regionsAsked: string[] = [];

/** The keyring wants the aggregated `KMS` client (it calls `generateDataKey`/`decrypt` methods); it is a KMSClient. */
function keyring(generatorKeyId: string): KmsKeyringNode {
  return new KmsKeyringNode({
    generatorKeyId,
    clientProvider: (region: string) => {
      regionsAsked.push(region);
      return new KMS({ endpoint: coffer.url, region: REGION, credentials: ADMIN, maxAttempts: 1 });
    },
  });
}

async function createKey(description: string): Promise<string> {
  const out = await coffer.client().send(new CreateKeyCommand({ Description: description }));
  const arn = out.KeyMetadata?.Arn;
  if (!arn) throw new Error(`CreateKey returned no ARN: ${JSON.stringify(out)}`);
  return arn;
}

beforeAll(async () => {
  coffer = await startCoffer();
  keyArn = await createKey('encryption sdk e2e');
  otherKeyArn = await createKey('encryption sdk e2e, other key');
});

afterAll(async () => {
  await coffer?.stop();
  if (coffer) rmSync(coffer.dataDir, { recursive: true, force: true });
});

describe('AWS Encryption SDK for JavaScript against Coffer', () => {
  it('GenerateDataKey answers with the full key ARN, as the KMS keyring requires', async () => {
    const out = await coffer.client().send(new GenerateDataKeyCommand({ KeyId: keyArn, NumberOfBytes: 32, EncryptionContext: CONTEXT }));
    expect(out.KeyId).toBe(keyArn);
    expect(out.Plaintext?.length).toBe(32);
  });

  it('round-trips a 1 MiB message under a KMS keyring with an encryption context', async () => {
    const plaintext = randomBytes(1024 * 1024);
    const { result } = await encrypt(keyring(keyArn), plaintext, { encryptionContext: CONTEXT });
    expect(result.length).toBeGreaterThan(plaintext.length);
    expect(Buffer.from(result).includes(plaintext.subarray(0, 64))).toBe(false);

    const { plaintext: decrypted, messageHeader } = await decrypt(keyring(keyArn), result);
    expect(Buffer.from(decrypted).equals(plaintext)).toBe(true);
    expect(messageHeader.encryptionContext).toMatchObject(CONTEXT);
    expect(messageHeader.encryptedDataKeys.map((k) => [k.providerId, k.providerInfo])).toEqual([['aws-kms', keyArn]]);
    expect(new Set(regionsAsked)).toEqual(new Set([REGION]));
  });

  it('refuses a tampered message', async () => {
    const plaintext = randomBytes(64 * 1024);
    const { result } = await encrypt(keyring(keyArn), plaintext, { encryptionContext: CONTEXT });
    const tampered = Buffer.from(result);
    const at = tampered.length - 1024; // inside the last frame's body, after the header and the data key
    tampered[at] = (tampered[at] as number) ^ 0x01;
    await expect(decrypt(keyring(keyArn), tampered)).rejects.toThrow(/unable to authenticate data/);
    // The untouched message still decrypts: the failure above is the tampering.
    const { plaintext: ok } = await decrypt(keyring(keyArn), result);
    expect(Buffer.from(ok).equals(plaintext)).toBe(true);
  });

  it('refuses a message whose encrypted data key was tampered with', async () => {
    const plaintext = randomBytes(1024);
    const { result, messageHeader } = await encrypt(keyring(keyArn), plaintext, { encryptionContext: CONTEXT });
    const edk = messageHeader.encryptedDataKeys[0]?.encryptedDataKey;
    if (!edk) throw new Error('no encrypted data key in the header');
    const tampered = Buffer.from(result);
    const at = tampered.indexOf(Buffer.from(edk));
    expect(at).toBeGreaterThan(0);
    const byte = at + Math.floor(edk.length / 2);
    tampered[byte] = (tampered[byte] as number) ^ 0x01;
    // The keyring asks Coffer, which refuses the changed data key.
    await expect(decrypt(keyring(keyArn), tampered)).rejects.toThrow(/InvalidCiphertextException/);
  });

  it('refuses to decrypt with a keyring for another Coffer key', async () => {
    const { result } = await encrypt(keyring(keyArn), randomBytes(4096), { encryptionContext: CONTEXT });
    // The message holds no data key for the other key, so the keyring has nothing to decrypt.
    await expect(decrypt(keyring(otherKeyArn), result)).rejects.toThrow(/unencryptedDataKey has not been set/);
  });

  it('Coffer refuses to decrypt the data key of the message under another key', async () => {
    const { messageHeader } = await encrypt(keyring(keyArn), randomBytes(1024), { encryptionContext: CONTEXT });
    const edk = messageHeader.encryptedDataKeys[0];
    if (!edk) throw new Error('no encrypted data key in the header');
    // The context the keyring sent to KMS is the message's, which the SDK extends with its signing key.
    const EncryptionContext = messageHeader.encryptionContext;
    const kms = coffer.client();
    const ok = await kms.send(new DecryptCommand({ KeyId: keyArn, CiphertextBlob: edk.encryptedDataKey, EncryptionContext }));
    expect(ok.KeyId).toBe(keyArn);
    const err = await failure(kms.send(new DecryptCommand({ KeyId: otherKeyArn, CiphertextBlob: edk.encryptedDataKey, EncryptionContext })));
    // As in AWS KMS: naming a key other than the one the blob was made under is IncorrectKeyException.
    expect(err.name).toBe('IncorrectKeyException');
  });
});
