// Finds the key a KeyId names (key id, key ARN, alias name or alias ARN) in the caller's account.
import { KmsError } from '../errors.js';
import { aliasArn, keyArn, parseKeyIdOnly, parseKeyReference, type Scope } from '../identifiers.js';
import type { Key } from '../model.js';
import type { Repositories } from '../ports.js';

export function keyNotFound(scope: Scope, keyId: string): KmsError {
  return noSuchKey(keyArn(scope, keyId));
}

/** AWS's NotFoundException for a key, by its ARN. */
export function noSuchKey(arn: string): KmsError {
  return new KmsError('NotFoundException', `Key '${arn}' does not exist`);
}

/** Any of the four forms. An ARN may name another account's key or alias: the authorizer decides whether it may be used. */
export async function resolveKey(repos: Repositories, callerScope: Scope, input: string): Promise<Key> {
  const ref = parseKeyReference(input, callerScope);
  const scope = { ...callerScope, accountId: ref.accountId ?? callerScope.accountId };
  if (ref.kind === 'alias') {
    const alias = await repos.aliases.get(scope.accountId, ref.aliasName);
    if (!alias) throw new KmsError('NotFoundException', `Alias ${aliasArn(scope, ref.aliasName)} is not found.`);
    const key = await repos.keys.get(scope.accountId, alias.keyId);
    if (!key) throw keyNotFound(scope, alias.keyId);
    return key;
  }
  const key = await repos.keys.get(scope.accountId, ref.keyId);
  if (!key) throw keyNotFound(scope, ref.keyId);
  return key;
}

/** Key id or key ARN only, for operations AWS does not let an alias name. */
export async function resolveKeyById(repos: Repositories, callerScope: Scope, input: string): Promise<Key> {
  const ref = parseKeyIdOnly(input, callerScope);
  const scope = { ...callerScope, accountId: ref.accountId ?? callerScope.accountId };
  const key = await repos.keys.get(scope.accountId, ref.keyId);
  if (!key) throw keyNotFound(scope, ref.keyId);
  return key;
}
