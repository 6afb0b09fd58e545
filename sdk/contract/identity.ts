// Request shapes of the CofferIdentity. operations: accounts, users, access keys and inline user policies (IAM's shapes).
import { z } from 'zod';
import { oneOf, str } from './shapes.js';

const userName = str(1, 64).regex(/^[\w+=,.@-]+$/, 'Member must satisfy regular expression pattern: [\\w+=,.@-]+');
const policyName = str(1, 128).regex(/^[\w+=,.@-]+$/, 'Member must satisfy regular expression pattern: [\\w+=,.@-]+');
/** IAM's tag pattern: letters, digits, spaces and _.:/=+-@ */
const tagKey = str(1, 128).regex(/^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$/u, 'Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+');
const tagValue = str(0, 256).regex(/^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u, 'Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*');
const userTags = z.array(z.object({ Key: tagKey, Value: tagValue })).max(50);
const accessKeyId = str(16, 128).regex(/^[\w]+$/, 'Member must satisfy regular expression pattern: [\\w]+');

export const identityRequests = {
  CreateAccount: z.object({ AccountName: str(1, 50), AccountId: str(12, 12).regex(/^\d{12}$/, 'Member must satisfy regular expression pattern: \\d{12}').optional() }),
  CreateUser: z.object({ UserName: userName, Tags: userTags.optional() }),
  DeleteUser: z.object({ UserName: userName }),
  /** Without UserName: the caller's own user, as IAM answers. */
  GetUser: z.object({ UserName: userName.optional() }),
  ListUsers: z.object({ Marker: str(1, 320).optional(), MaxItems: z.number().int().min(1).max(1000).optional() }),
  CreateAccessKey: z.object({ UserName: userName.optional() }),
  UpdateAccessKey: z.object({ UserName: userName.optional(), AccessKeyId: accessKeyId, Status: oneOf(['Active', 'Inactive'] as const) }),
  DeleteAccessKey: z.object({ UserName: userName.optional(), AccessKeyId: accessKeyId }),
  ListAccessKeys: z.object({ UserName: userName.optional(), Marker: str(1, 320).optional(), MaxItems: z.number().int().min(1).max(1000).optional() }),
  PutUserPolicy: z.object({ UserName: userName, PolicyName: policyName, PolicyDocument: str(1, 131072) }),
  GetUserPolicy: z.object({ UserName: userName, PolicyName: policyName }),
  DeleteUserPolicy: z.object({ UserName: userName, PolicyName: policyName }),
  TagUser: z.object({ UserName: userName, Tags: userTags.min(1) }),
  UntagUser: z.object({ UserName: userName, TagKeys: z.array(tagKey).min(1).max(50) }),
  ListUserTags: z.object({ UserName: userName, Marker: str(1, 320).optional(), MaxItems: z.number().int().min(1).max(1000).optional() }),
  ListUserPolicies: z.object({ UserName: userName, Marker: str(1, 320).optional(), MaxItems: z.number().int().min(1).max(1000).optional() }),
} as const;

export type IdentityOperation = keyof typeof identityRequests;
export type IdentityRequest<O extends IdentityOperation> = z.output<(typeof identityRequests)[O]>;
