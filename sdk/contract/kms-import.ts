// Request shapes of the imported key material operations with AWS's member constraints.
import { z } from 'zod';
import { blob, epochSeconds, keyIdMember, oneOf, str } from './shapes.js';

const WRAPPING_ALGORITHMS = [
  'RSAES_PKCS1_V1_5', 'RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256', 'RSA_AES_KEY_WRAP_SHA_1', 'RSA_AES_KEY_WRAP_SHA_256', 'SM2PKE',
] as const;
const WRAPPING_KEY_SPECS = ['RSA_2048', 'RSA_3072', 'RSA_4096', 'SM2'] as const;
const EXPIRATION_MODELS = ['KEY_MATERIAL_EXPIRES', 'KEY_MATERIAL_DOES_NOT_EXPIRE'] as const;

/** A KeyMaterialId: 64 lower-case hex digits. */
const keyMaterialId = str(64, 64).regex(/^[a-f0-9]+$/, 'Member must satisfy regular expression pattern: ^[a-f0-9]+$');

/** AWS JSON 1.1 timestamps are epoch seconds, decoded to a Date. */
const timestamp = epochSeconds.transform((s) => new Date(s * 1000));

export const kmsImportRequests = {
  GetParametersForImport: z.object({
    KeyId: keyIdMember,
    WrappingAlgorithm: oneOf(WRAPPING_ALGORITHMS),
    WrappingKeySpec: oneOf(WRAPPING_KEY_SPECS),
  }),
  ImportKeyMaterial: z.object({
    KeyId: keyIdMember,
    ImportToken: blob(1, 6144),
    EncryptedKeyMaterial: blob(1, 6144),
    ValidTo: timestamp.optional(),
    ExpirationModel: oneOf(EXPIRATION_MODELS).optional(),
    ImportType: oneOf(['NEW_KEY_MATERIAL', 'EXISTING_KEY_MATERIAL'] as const).optional(),
    KeyMaterialDescription: str(0, 256).optional(),
    KeyMaterialId: keyMaterialId.optional(),
  }),
  DeleteImportedKeyMaterial: z.object({ KeyId: keyIdMember, KeyMaterialId: keyMaterialId.optional() }),
} as const;

export type KmsImportOperation = keyof typeof kmsImportRequests;
export type KmsImportRequest<O extends KmsImportOperation> = z.output<(typeof kmsImportRequests)[O]>;
