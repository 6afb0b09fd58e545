// Request shapes of the KMS access-control operations: key policies and grants, with AWS's member constraints.
import { z } from 'zod';
import { grantTokens, int, keyIdMember, marker, oneOf, str } from './shapes.js';

export const GRANT_OPERATION_NAMES = [
  'Decrypt', 'Encrypt', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext', 'ReEncryptFrom', 'ReEncryptTo', 'Sign', 'Verify',
  'GetPublicKey', 'CreateGrant', 'RetireGrant', 'DescribeKey', 'GenerateDataKeyPair', 'GenerateDataKeyPairWithoutPlaintext',
  'GenerateMac', 'VerifyMac', 'DeriveSharedSecret',
] as const;

const policyName = str(1, 128).regex(/^[\w]+$/, 'Member must satisfy regular expression pattern: [\\w]+');
const principal = str(1, 256).regex(/^[\w+=,.@:/-]+$/, 'Member must satisfy regular expression pattern: ^[\\w+=,.@:/-]+$');
const grantId = str(1, 128);
const context = z.record(z.string(), z.string());
const dryRun = z.boolean().optional();

export const kmsAccessRequests = {
  PutKeyPolicy: z.object({
    KeyId: keyIdMember,
    PolicyName: policyName.optional(),
    Policy: str(1, 32768),
    BypassPolicyLockoutSafetyCheck: z.boolean().optional(),
  }),
  GetKeyPolicy: z.object({ KeyId: keyIdMember, PolicyName: policyName.optional() }),
  ListKeyPolicies: z.object({ KeyId: keyIdMember, Limit: int(1, 1000).optional(), Marker: marker }),
  CreateGrant: z.object({
    KeyId: keyIdMember,
    GranteePrincipal: principal,
    RetiringPrincipal: principal.optional(),
    Operations: z.array(oneOf(GRANT_OPERATION_NAMES)),
    Constraints: z.object({ EncryptionContextSubset: context.optional(), EncryptionContextEquals: context.optional() }).optional(),
    GrantTokens: grantTokens,
    Name: str(1, 256).regex(/^[a-zA-Z0-9:/_-]+$/, 'Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$').optional(),
    DryRun: dryRun,
  }),
  ListGrants: z.object({
    KeyId: keyIdMember,
    Limit: int(1, 1000).optional(),
    Marker: marker,
    GrantId: grantId.optional(),
    GranteePrincipal: principal.optional(),
  }),
  ListRetirableGrants: z.object({ RetiringPrincipal: principal, Limit: int(1, 1000).optional(), Marker: marker }),
  RetireGrant: z.object({ GrantToken: str(1, 8192).optional(), KeyId: keyIdMember.optional(), GrantId: grantId.optional(), DryRun: dryRun }),
  RevokeGrant: z.object({ KeyId: keyIdMember, GrantId: grantId, DryRun: dryRun }),
} as const;

export type KmsAccessOperation = keyof typeof kmsAccessRequests;
export type KmsAccessRequest<O extends KmsAccessOperation> = z.output<(typeof kmsAccessRequests)[O]>;
