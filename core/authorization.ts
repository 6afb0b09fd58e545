// The authorization seam every use case calls before it acts: (caller, action, key, request context) -> allow,
// or AccessDeniedException. The policy evaluator plugs in here; until then, owners-only.
import { KmsError } from './errors.js';
import type { Caller, Key } from './model.js';
import type { Repositories } from './ports.js';

/** Condition-key values of one request, e.g. 'kms:EncryptionContext:tenant' -> 'a', 'kms:EncryptionContextKeys' -> ['tenant']. */
export type ConditionValues = Record<string, string | string[] | number | boolean | undefined>;

export interface AuthorizationRequest {
  /** The IAM action, e.g. 'kms:Encrypt'. */
  action: string;
  /** The key acted on; null for account-level actions (CreateKey, ListKeys, GenerateRandom ...). */
  key: Key | null;
  /** The resource ARN the decision is about (the key ARN, or '*' for account-level actions). */
  resource: string;
  conditions: ConditionValues;
}

export interface Authorizer {
  /** Throws AccessDeniedException when the caller may not; resolves otherwise. */
  authorize(repos: Repositories, caller: Caller, request: AuthorizationRequest): Promise<void>;
}

/** AWS's message form; `why` defaults to "because no resource-based policy allows the <action> action". */
export function accessDenied(caller: Caller, request: AuthorizationRequest, why?: string): KmsError {
  const reason = why ?? `because no resource-based policy allows the ${request.action} action`;
  return new KmsError(
    'AccessDeniedException',
    `User: ${caller.arn} is not authorized to perform: ${request.action} on resource: ${request.resource} ${reason}`,
  );
}

/** Callers may use the keys of their own account. */
export const ownerOnlyAuthorizer: Authorizer = {
  async authorize(_repos, caller, request) {
    if (request.key && request.key.accountId !== caller.accountId) throw accessDenied(caller, request);
  },
};
