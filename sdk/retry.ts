// The retry policy: which operations are safe to repeat, and exponential backoff with full jitter.

export interface RetryOptions {
  /** Attempts in all, including the first (1 disables retries). Default 3. */
  maxAttempts?: number;
  /** Base of the exponential backoff in ms. Default 100. */
  baseDelayMs?: number;
  /** Cap of a single backoff in ms. Default 5000. */
  maxDelayMs?: number;
}

/**
 * Operations whose repetition has no effect beyond the first: reads, cryptographic operations, setters to a value
 * (EnableKeyRotation, PutKeyPolicy, PutUserPolicy, UpdateAccessKey) and GetParametersForImport (a repetition only
 * hands out a fresh wrapping key and token, and the caller uses the pair it receives; the unused pair expires unused).
 */
const SAFE = new Set([
  'DescribeKey', 'GetKeyLastUsage', 'ListKeys', 'ListAliases', 'ListResourceTags', 'DescribeCustomKeyStores', 'ListGrants', 'ListRetirableGrants', 'ListKeyPolicies',
  'GetKeyPolicy', 'GetKeyRotationStatus', 'GetPublicKey', 'ListKeyRotations', 'GetParametersForImport',
  'Encrypt', 'Decrypt', 'ReEncrypt', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext', 'GenerateDataKeyPair',
  'GenerateDataKeyPairWithoutPlaintext', 'GenerateRandom', 'GenerateMac', 'VerifyMac', 'Sign', 'Verify', 'DeriveSharedSecret',
  'EnableKey', 'DisableKey', 'UpdateKeyDescription', 'TagResource', 'UntagResource', 'UpdateAlias', 'CancelKeyDeletion',
  'EnableKeyRotation', 'DisableKeyRotation', 'PutKeyPolicy',
  'PutUserPolicy', 'UpdateAccessKey', 'ListUsers', 'GetUser', 'ListUserTags', 'TagUser', 'UntagUser', 'ListAccessKeys', 'GetUserPolicy', 'ListUserPolicies',
  'LookupEvents', 'VerifyChain', 'DescribeDomainKeys',
]);

/**
 * Operations a repetition would act on again (a second key, grant, user, access key, rotation, domain key or checkpoint), or whose
 * repetition would turn a success into an error (a delete, revoke or retire answered NotFound the second time, a
 * spent import token; CreateGrant gives back the same grant only when it is named). They are retried only when the
 * request cannot have been acted on: the connection was never made, or the service answered ThrottlingException (a
 * request refused before any work). CofferAudit.GetPublicKey shares its name with TrentService.GetPublicKey; both read.
 */
export const NOT_SAFE: ReadonlySet<string> = new Set([
  'CreateKey', 'ScheduleKeyDeletion', 'CreateAlias', 'DeleteAlias', 'CreateGrant', 'RetireGrant', 'RevokeGrant',
  'RotateKeyOnDemand', 'ImportKeyMaterial', 'DeleteImportedKeyMaterial',
  'CreateAccount', 'CreateUser', 'DeleteUser', 'CreateAccessKey', 'DeleteAccessKey', 'DeleteUserPolicy',
  'CreateCheckpoint', 'RotateDomainKey', 'DestroyDomainKey',
]);

export const SAFE_OPERATIONS: ReadonlySet<string> = SAFE;

/** True when the operation (by name, without its target prefix) may be sent again after reaching the server. */
export function isIdempotent(operation: string): boolean {
  return SAFE.has(operation);
}

export function backoffDelay(attempt: number, opts: RetryOptions, random: () => number = Math.random): number {
  const base = opts.baseDelayMs ?? 100;
  const cap = opts.maxDelayMs ?? 5000;
  const ceiling = Math.min(cap, base * 2 ** (attempt - 1));
  return Math.floor(random() * ceiling);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
