// Key rotation for symmetric keys: Enable/DisableKeyRotation, GetKeyRotationStatus, RotateKeyOnDemand, ListKeyRotations,
// and the automatic rotation the background job runs. Each rotation is a new key version with a new root key in the token.
import { drainClaims } from './claimed-jobs.js';
import { INVALID_MARKER_MESSAGE, KmsError, needs } from '../errors.js';
import { keyArn } from '../identifiers.js';
import { assertStateAllows } from '../key-state.js';
import type { ImportedMaterial, Key, KeyVersion, Page, Rotation, RotationSettings, RotationType } from '../model.js';
import type { Repositories } from '../ports.js';
import { audited, auditedRead } from './audited.js';
import { authorize, scopeOf, type RequestContext, type ServiceDeps } from './context.js';
import { resolveKeyById } from './resolve.js';

export const DEFAULT_ROTATION_DAYS = 365;
export const MAX_ON_DEMAND_ROTATIONS = 25;
const DAY_MS = 86_400_000;

/** Finds the key (id or ARN only, as AWS requires for rotation) and authorizes; refuses keys that cannot rotate. */
async function rotatableKey(deps: ServiceDeps, ctx: RequestContext, repos: Repositories, draft: { keyArn: string | null }, action: string, input: string, op: 'manage' | 'read'): Promise<Key> {
  const scope = scopeOf(deps, ctx);
  const key = await resolveKeyById(repos, scope, input);
  const arn = keyArn({ ...scope, accountId: key.accountId }, key.id);
  draft.keyArn = arn;
  await authorize(deps, repos, ctx, action, key);
  assertStateAllows(key.state, arn, op);
  if (op === 'manage') {
    needs(key.keySpec === 'SYMMETRIC_DEFAULT', 'UnsupportedOperationException', `${arn} key spec ${key.keySpec} does not support automatic or on-demand rotation.`);
    needs(key.origin === 'AWS_KMS', 'UnsupportedOperationException', `${arn} origin ${key.origin} does not support rotation.`);
  }
  return key;
}

export function enableKeyRotation(deps: ServiceDeps, ctx: RequestContext, keyId: string, periodDays: number | undefined): Promise<void> {
  return audited(deps, ctx, async (repos, draft) => {
    const key = await rotatableKey(deps, ctx, repos, draft, 'kms:EnableKeyRotation', keyId, 'manage');
    if (key.state === 'Disabled') throw new KmsError('DisabledException', `${draft.keyArn} is disabled.`);
    const days = periodDays ?? DEFAULT_ROTATION_DAYS;
    const now = deps.clock.now();
    await repos.rotations.putSettings({ keyId: key.id, enabled: true, periodDays: days, nextRotationDate: new Date(now.getTime() + days * DAY_MS) });
  });
}

export function disableKeyRotation(deps: ServiceDeps, ctx: RequestContext, keyId: string): Promise<void> {
  return audited(deps, ctx, async (repos, draft) => {
    const key = await rotatableKey(deps, ctx, repos, draft, 'kms:DisableKeyRotation', keyId, 'manage');
    if (key.state === 'Disabled') throw new KmsError('DisabledException', `${draft.keyArn} is disabled.`);
    const current = await repos.rotations.getSettings(key.id);
    await repos.rotations.putSettings({ keyId: key.id, enabled: false, periodDays: current?.periodDays ?? DEFAULT_ROTATION_DAYS, nextRotationDate: null });
  });
}

export function getKeyRotationStatus(deps: ServiceDeps, ctx: RequestContext, keyId: string): Promise<{ key: Key; settings: RotationSettings | null }> {
  return auditedRead(deps, ctx, async (repos, draft) => {
    const key = await rotatableKey(deps, ctx, repos, draft, 'kms:GetKeyRotationStatus', keyId, 'read');
    needs(key.keySpec === 'SYMMETRIC_DEFAULT', 'UnsupportedOperationException', `${draft.keyArn} key spec ${key.keySpec} does not support rotation.`);
    return { key, settings: await repos.rotations.getSettings(key.id) };
  });
}

/** Makes a new version: a new root key in the token, the version row, the rotation row; the key's current version moves. */
export async function rotate(deps: ServiceDeps, repos: Repositories, key: Key, type: RotationType): Promise<KeyVersion> {
  const versions = await repos.keys.listVersions(key.id);
  const now = deps.clock.now();
  const version: KeyVersion = { id: deps.newId(), keyId: key.id, version: Math.max(0, ...versions.map((v) => v.version)) + 1, createdAt: now };
  await deps.hsm.createRootKey(version.id);
  try {
    await repos.rotations.addRotation(version, { keyId: key.id, versionId: version.id, version: version.version, rotationDate: now, rotationType: type });
  } catch (e) {
    await deps.hsm.destroyRootKey(version.id).catch(() => undefined);
    throw e;
  }
  return version;
}

export function rotateKeyOnDemand(deps: ServiceDeps, ctx: RequestContext, keyId: string): Promise<Key> {
  return audited(deps, ctx, async (repos, draft) => {
    const key = await rotatableKey(deps, ctx, repos, draft, 'kms:RotateKeyOnDemand', keyId, 'manage');
    if (key.state === 'Disabled') throw new KmsError('DisabledException', `${draft.keyArn} is disabled.`);
    const done = await repos.rotations.countOnDemand(key.id);
    needs(done < MAX_ON_DEMAND_ROTATIONS, 'LimitExceededException', `${draft.keyArn} has reached the limit of ${MAX_ON_DEMAND_ROTATIONS} on-demand rotations.`);
    await rotate(deps, repos, key, 'ON_DEMAND');
    return key;
  });
}

/** One key material of ListKeyRotations: a version, with its rotation (none for the first material). */
export interface MaterialEntry {
  versionId: string;
  version: number;
  rotation: Rotation | null;
}

export interface KeyMaterials {
  key: Key;
  /** An EXTERNAL key's imported material (expiry), else null. */
  imported: ImportedMaterial | null;
  page: Page<MaterialEntry>;
}

/**
 * The key's rotations (AWS's ROTATIONS_ONLY), or with `allMaterial` (ALL_KEY_MATERIAL) its first material too. Either
 * way paged by version number; a key has a few dozen versions at most, so the second form pages in memory.
 */
export function listKeyRotations(deps: ServiceDeps, ctx: RequestContext, keyId: string, limit: number, marker: string | null, allMaterial = false): Promise<KeyMaterials> {
  return auditedRead(deps, ctx, async (repos, draft) => {
    const key = await rotatableKey(deps, ctx, repos, draft, 'kms:ListKeyRotations', keyId, 'read');
    needs(key.keySpec === 'SYMMETRIC_DEFAULT', 'UnsupportedOperationException', `${draft.keyArn} key spec ${key.keySpec} does not support rotation.`);
    const imported = key.origin === 'EXTERNAL' ? await repos.imports.get(key.id) : null;
    if (!allMaterial) {
      const page = await repos.rotations.list(key.id, limit, marker);
      return { key, imported, page: { next: page.next, items: page.items.map((r) => ({ versionId: r.versionId, version: r.version, rotation: r })) } };
    }
    needs(marker === null || /^[0-9]{1,9}$/.test(marker), 'InvalidMarkerException', INVALID_MARKER_MESSAGE);
    const rotations = new Map((await repos.rotations.list(key.id, 10_000, null)).items.map((r) => [r.versionId, r]));
    const after = (await repos.keys.listVersions(key.id)).filter((v) => marker === null || v.version > Number(marker));
    const items = after.slice(0, limit).map((v) => ({ versionId: v.id, version: v.version, rotation: rotations.get(v.id) ?? null }));
    return { key, imported, page: { items, next: after.length > limit ? String(items[items.length - 1]?.version) : null } };
  });
}

/** The background job: rotates every key due, each claimed with FOR UPDATE SKIP LOCKED so one instance rotates it once. */
export function rotateDueKeys(deps: ServiceDeps): Promise<number> {
  return drainClaims(deps, {
    operation: 'RotateKey',
    userAgent: 'coffer-rotation-job',
    claim: (repos, now) => repos.rotations.claimDueForRotation(now),
    handle: async (repos, { settings: due, key }) => {
      const version = await rotate(deps, repos, key, 'AUTOMATIC');
      await repos.rotations.putSettings({ ...due, nextRotationDate: new Date(version.createdAt.getTime() + due.periodDays * DAY_MS) });
      return key;
    },
  });
}
