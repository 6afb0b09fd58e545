// Key rotation for symmetric keys: Enable/DisableKeyRotation, GetKeyRotationStatus, RotateKeyOnDemand, ListKeyRotations,
// and the automatic rotation the background job runs. Each rotation of a key whose material Coffer makes is a new key
// version with a new root key in the token; an EXTERNAL key's on-demand rotation makes the material imported for it current.
import type { ConditionValues } from '../authorization.js';
import { drainClaims } from './claimed-jobs.js';
import { INVALID_MARKER_MESSAGE, KmsError, needs } from '../errors.js';
import { keyArn } from '../identifiers.js';
import { assertStateAllows } from '../key-state.js';
import type { ImportedMaterial, Key, KeyVersion, Page, Rotation, RotationSettings, RotationType } from '../model.js';
import { materialState, pendingVersion, type KeyMaterialState } from '../imported-material.js';
import type { Repositories } from '../ports.js';
import { audited, auditedRead } from './audited.js';
import { authorize, scopeOf, type RequestContext, type ServiceDeps } from './context.js';
import { resolveKeyById } from './resolve.js';
import { lockKey } from './key-use.js';

export const DEFAULT_ROTATION_DAYS = 365;
export const MAX_ON_DEMAND_ROTATIONS = 25;
const DAY_MS = 86_400_000;

/**
 * Finds the key (id or ARN only, as AWS requires for rotation) and authorizes; refuses keys that cannot rotate. With
 * `imported`, a symmetric EXTERNAL key may too (RotateKeyOnDemand to its material pending rotation).
 */
async function rotatableKey(
  deps: ServiceDeps, ctx: RequestContext, repos: Repositories, draft: { keyArn: string | null }, action: string, input: string, op: 'manage' | 'read', imported = false, conditions: ConditionValues = {},
): Promise<Key> {
  const scope = scopeOf(deps, ctx);
  const key = await resolveKeyById(repos, scope, input);
  const arn = keyArn({ ...scope, accountId: key.accountId }, key.id);
  draft.keyArn = arn;
  await authorize(deps, repos, ctx, action, key, conditions);
  assertStateAllows(key.state, arn, op);
  if (op === 'manage') {
    needs(key.keySpec === 'SYMMETRIC_DEFAULT', 'UnsupportedOperationException', `${arn} key spec ${key.keySpec} does not support automatic or on-demand rotation.`);
    const origins = imported ? ['AWS_KMS', 'EXTERNAL'] : ['AWS_KMS'];
    needs(origins.includes(key.origin), 'UnsupportedOperationException', `${arn} origin ${key.origin} does not support ${imported ? 'on-demand' : 'automatic'} rotation.`);
  }
  return key;
}

export function enableKeyRotation(deps: ServiceDeps, ctx: RequestContext, keyId: string, periodDays: number | undefined): Promise<void> {
  return audited(deps, ctx, async (repos, draft) => {
    const days = periodDays ?? DEFAULT_ROTATION_DAYS;
    const key = await rotatableKey(deps, ctx, repos, draft, 'kms:EnableKeyRotation', keyId, 'manage', false, { 'kms:RotationPeriodInDays': days });
    if (key.state === 'Disabled') throw new KmsError('DisabledException', `${draft.keyArn} is disabled.`);
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

/**
 * Makes a new version: a new root key in the token, the version row, the rotation row; the key's current version
 * moves. The caller holds the key's row lock (KeyRepository.lockForUpdate), so versions are numbered one at a time.
 */
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
    const found = await rotatableKey(deps, ctx, repos, draft, 'kms:RotateKeyOnDemand', keyId, 'manage', true);
    const key = await lockKey(repos, found, draft.keyArn!, 'crypto');
    const done = await repos.rotations.countOnDemand(key.id);
    needs(done < MAX_ON_DEMAND_ROTATIONS, 'LimitExceededException', `${draft.keyArn} has reached the limit of ${MAX_ON_DEMAND_ROTATIONS} on-demand rotations.`);
    if (key.origin === 'EXTERNAL') await rotateToPending(deps, repos, key, draft.keyArn!);
    else await rotate(deps, repos, key, 'ON_DEMAND');
    return key;
  });
}

/** An EXTERNAL key's on-demand rotation: the material imported for it (PENDING_ROTATION) becomes current. */
async function rotateToPending(deps: ServiceDeps, repos: Repositories, key: Key, arn: string): Promise<void> {
  const pending = pendingVersion(key, await repos.keys.listVersions(key.id));
  const material = pending && (await repos.imports.list(key.id)).find((m) => m.versionId === pending.id);
  needs(
    material?.imported === true,
    'KMSInvalidStateException',
    `${arn} has no imported key material pending rotation. Import new key material with ImportType NEW_KEY_MATERIAL first.`,
  );
  await repos.rotations.promote({ keyId: key.id, versionId: material.versionId, version: pending!.version, rotationDate: deps.clock.now(), rotationType: 'ON_DEMAND' });
}

/** One key material of ListKeyRotations: a version, with its rotation (none for the first material or one pending). */
export interface MaterialEntry {
  versionId: string;
  version: number;
  rotation: Rotation | null;
  state: KeyMaterialState;
  /** An EXTERNAL key's record of this material (import state, expiry, description), else null. */
  imported: ImportedMaterial | null;
}

export interface KeyMaterials {
  key: Key;
  page: Page<MaterialEntry>;
}

/**
 * The key's rotations (AWS's ROTATIONS_ONLY), or with `allMaterial` (ALL_KEY_MATERIAL) its first material and any
 * pending rotation too. Either way paged by version number; a key has a few dozen versions at most, so the second
 * form pages in memory.
 */
export function listKeyRotations(deps: ServiceDeps, ctx: RequestContext, keyId: string, limit: number, marker: string | null, allMaterial = false): Promise<KeyMaterials> {
  return auditedRead(deps, ctx, async (repos, draft) => {
    const key = await rotatableKey(deps, ctx, repos, draft, 'kms:ListKeyRotations', keyId, 'read');
    needs(key.keySpec === 'SYMMETRIC_DEFAULT', 'UnsupportedOperationException', `${draft.keyArn} key spec ${key.keySpec} does not support rotation.`);
    const materials = new Map((key.origin === 'EXTERNAL' ? await repos.imports.list(key.id) : []).map((m) => [m.versionId, m]));
    const versions = await repos.keys.listVersions(key.id);
    const pending = pendingVersion(key, versions);
    const entry = (v: Pick<KeyVersion, 'id' | 'version'>, rotation: Rotation | null): MaterialEntry => ({
      versionId: v.id, version: v.version, rotation, state: materialState(key, v, pending), imported: materials.get(v.id) ?? null,
    });
    if (!allMaterial) {
      const page = await repos.rotations.list(key.id, limit, marker);
      return { key, page: { next: page.next, items: page.items.map((r) => entry({ id: r.versionId, version: r.version }, r)) } };
    }
    needs(marker === null || /^[0-9]{1,9}$/.test(marker), 'InvalidMarkerException', INVALID_MARKER_MESSAGE);
    const rotations = new Map((await repos.rotations.list(key.id, 10_000, null)).items.map((r) => [r.versionId, r]));
    const after = versions.filter((v) => marker === null || v.version > Number(marker));
    const items = after.slice(0, limit).map((v) => entry(v, rotations.get(v.id) ?? null));
    return { key, page: { items, next: after.length > limit ? String(items[items.length - 1]?.version) : null } };
  });
}

/** The background job: rotates every key due, each claimed with FOR UPDATE SKIP LOCKED so one instance rotates it once. */
export function rotateDueKeys(deps: ServiceDeps): Promise<number> {
  return drainClaims(deps, {
    operation: 'RotateKey',
    userAgent: 'coffer-rotation-job',
    claim: (repos, now) => repos.rotations.claimDueForRotation(now),
    handle: async (repos, { settings: due, key }) => {
      // The claim locked the settings row; an on-demand rotation of the key locks the key's row.
      await repos.keys.lockForUpdate(key.id);
      const version = await rotate(deps, repos, key, 'AUTOMATIC');
      await repos.rotations.putSettings({ ...due, nextRotationDate: new Date(version.createdAt.getTime() + due.periodDays * DAY_MS) });
      return key;
    },
  });
}
