// CreateAlias, UpdateAlias, DeleteAlias, ListAliases. Names start with alias/; alias/aws/ is reserved.
import { INVALID_MARKER_MESSAGE, KmsError, needs } from '../errors.js';
import { ALIAS_NAME, aliasArn, keyArn, type Scope } from '../identifiers.js';
import { assertStateAllows } from '../key-state.js';
import type { Alias, Page } from '../model.js';
import type { Repositories } from '../ports.js';
import { audited, auditedRead } from './audited.js';
import { authorize, scopeOf, type RequestContext, type ServiceDeps } from './context.js';
import { resolveKeyById } from './resolve.js';

function checkAliasName(name: string, forWrite: boolean): void {
  needs(
    name.startsWith('alias/'),
    'ValidationException',
    'Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html',
  );
  needs(ALIAS_NAME.test(name) && name.length > 'alias/'.length, 'InvalidAliasNameException', `Alias ${name} is not a valid alias name.`);
  if (forWrite) {
    needs(!name.startsWith('alias/aws/'), 'InvalidAliasNameException', 'Alias names that begin with alias/aws/ are reserved for AWS managed keys.');
  }
}

function aliasNotFound(scope: Scope, name: string): KmsError {
  return new KmsError('NotFoundException', `Alias ${aliasArn(scope, name)} is not found.`);
}

async function targetKey(deps: ServiceDeps, ctx: RequestContext, repos: Repositories, action: string, targetKeyId: string) {
  const scope = scopeOf(deps, ctx);
  const key = await resolveKeyById(repos, scope, targetKeyId);
  await authorize(deps, repos, ctx, action, key);
  assertStateAllows(key.state, keyArn(scope, key.id), 'manage');
  return key;
}

export function createAlias(deps: ServiceDeps, ctx: RequestContext, name: string, targetKeyId: string): Promise<void> {
  const scope = scopeOf(deps, ctx);
  return audited(deps, ctx, async (repos, draft) => {
    checkAliasName(name, true);
    const key = await targetKey(deps, ctx, repos, 'kms:CreateAlias', targetKeyId);
    draft.keyArn = keyArn(scope, key.id);
    const now = deps.clock.now();
    if (await repos.aliases.get(scope.accountId, name)) throw aliasExists(scope, name);
    try {
      await repos.aliases.insert({ accountId: scope.accountId, name, keyId: key.id, createdAt: now, updatedAt: now });
    } catch (e) {
      if (e instanceof KmsError && e.code === 'AlreadyExistsException') throw aliasExists(scope, name);
      throw e;
    }
  });
}

function aliasExists(scope: Scope, name: string): KmsError {
  return new KmsError('AlreadyExistsException', `An alias with the name ${aliasArn(scope, name)} already exists`);
}

export function updateAlias(deps: ServiceDeps, ctx: RequestContext, name: string, targetKeyId: string): Promise<void> {
  const scope = scopeOf(deps, ctx);
  return audited(deps, ctx, async (repos, draft) => {
    checkAliasName(name, true);
    const key = await targetKey(deps, ctx, repos, 'kms:UpdateAlias', targetKeyId);
    draft.keyArn = keyArn(scope, key.id);
    if (!(await repos.aliases.retarget(scope.accountId, name, key.id, deps.clock.now()))) throw aliasNotFound(scope, name);
  });
}

export function deleteAlias(deps: ServiceDeps, ctx: RequestContext, name: string): Promise<void> {
  const scope = scopeOf(deps, ctx);
  return audited(deps, ctx, async (repos, draft) => {
    checkAliasName(name, true);
    const alias = await repos.aliases.get(scope.accountId, name);
    if (!alias) throw aliasNotFound(scope, name);
    draft.keyArn = keyArn(scope, alias.keyId);
    await authorize(deps, repos, ctx, 'kms:DeleteAlias', await repos.keys.get(scope.accountId, alias.keyId));
    await repos.aliases.delete(scope.accountId, name);
  });
}

export function listAliases(
  deps: ServiceDeps,
  ctx: RequestContext,
  keyId: string | undefined,
  limit: number,
  marker: string | null,
): Promise<Page<Alias>> {
  const scope = scopeOf(deps, ctx);
  return auditedRead(deps, ctx, async (repos, draft) => {
    await authorize(deps, repos, ctx, 'kms:ListAliases', null);
    // The marker is the last alias name of the page before: anything else was not handed out here, and read as a
    // name it would silently skip or repeat aliases.
    needs(marker === null || (ALIAS_NAME.test(marker) && marker.length <= 256), 'InvalidMarkerException', INVALID_MARKER_MESSAGE);
    let forKey: string | null = null;
    if (keyId !== undefined) {
      forKey = (await resolveKeyById(repos, scope, keyId)).id;
      draft.keyArn = keyArn(scope, forKey);
    }
    return repos.aliases.list(scope.accountId, forKey, limit, marker);
  });
}
