// Where envelope encryption gets its data keys: from KMS through a CofferClient, from a cache, or fixed (test vectors).
import type { CofferClient } from '../client.js';
import type { EncryptionContext } from './format.js';

export interface EncryptionMaterials {
  /** 32 plaintext bytes; the receiver zeroes them after use, so a provider hands out its own copy. */
  dataKey: Uint8Array;
  encryptedDataKey: Uint8Array;
  keyArn: string;
}

export interface EncryptionRequest {
  keyId: string;
  encryptionContext: EncryptionContext;
  /** Plaintext bytes this message will carry, when known (a stream's is not). */
  plaintextLength?: number | undefined;
}

export interface DecryptionRequest {
  keyArn: string;
  encryptedDataKey: Uint8Array;
  encryptionContext: EncryptionContext;
}

export interface MaterialsProvider {
  getEncryptionMaterials(req: EncryptionRequest): Promise<EncryptionMaterials>;
  /** Resolves to the 32-byte plaintext data key (the receiver zeroes it after use). */
  getDecryptionMaterials(req: DecryptionRequest): Promise<Uint8Array>;
}

/** Data keys from KMS: GenerateDataKey (AES_256) to encrypt; Decrypt, pinned to the header's key ARN, to decrypt. */
export function kmsMaterials(client: CofferClient, grantTokens?: string[]): MaterialsProvider {
  return {
    async getEncryptionMaterials({ keyId, encryptionContext }) {
      const r = await client.generateDataKey({ KeyId: keyId, KeySpec: 'AES_256', EncryptionContext: encryptionContext, GrantTokens: grantTokens });
      if (!r.Plaintext || !r.CiphertextBlob || !r.KeyId) throw new Error('GenerateDataKey answered without a data key');
      return { dataKey: r.Plaintext, encryptedDataKey: r.CiphertextBlob, keyArn: r.KeyId };
    },
    async getDecryptionMaterials({ keyArn, encryptedDataKey, encryptionContext }) {
      const r = await client.decrypt({ CiphertextBlob: encryptedDataKey, KeyId: keyArn, EncryptionContext: encryptionContext, GrantTokens: grantTokens });
      if (!r.Plaintext) throw new Error('Decrypt answered without a plaintext');
      return r.Plaintext;
    },
  };
}

/** A fixed data key, without KMS: for test vectors and offline checks. */
export function staticMaterials(m: { dataKey: Uint8Array; encryptedDataKey: Uint8Array; keyArn: string }): MaterialsProvider {
  return {
    getEncryptionMaterials: async () => ({ dataKey: Uint8Array.from(m.dataKey), encryptedDataKey: m.encryptedDataKey, keyArn: m.keyArn }),
    getDecryptionMaterials: async () => Uint8Array.from(m.dataKey),
  };
}

export const isProvider = (x: CofferClient | MaterialsProvider): x is MaterialsProvider =>
  typeof (x as Partial<MaterialsProvider>).getEncryptionMaterials === 'function';
