// Request shapes of the key rotation operations with AWS's member constraints.
import { z } from 'zod';
import { int, keyIdMember, marker, oneOf } from './shapes.js';

export const kmsRotationRequests = {
  EnableKeyRotation: z.object({ KeyId: keyIdMember, RotationPeriodInDays: int(90, 2560).optional() }),
  DisableKeyRotation: z.object({ KeyId: keyIdMember }),
  GetKeyRotationStatus: z.object({ KeyId: keyIdMember }),
  RotateKeyOnDemand: z.object({ KeyId: keyIdMember }),
  ListKeyRotations: z.object({
    KeyId: keyIdMember,
    IncludeKeyMaterial: oneOf(['ALL_KEY_MATERIAL', 'ROTATIONS_ONLY'] as const).optional(),
    Limit: int(1, 1000).optional(),
    Marker: marker,
  }),
} as const;

export type KmsRotationOperation = keyof typeof kmsRotationRequests;
export type KmsRotationRequest<O extends KmsRotationOperation> = z.output<(typeof kmsRotationRequests)[O]>;
