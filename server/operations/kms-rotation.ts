// Thin handlers for EnableKeyRotation, DisableKeyRotation, GetKeyRotationStatus, RotateKeyOnDemand and ListKeyRotations.
import { keyArn, keyMaterialId } from '../../core/identifiers.js';
import type { ImportedMaterial } from '../../core/model.js';
import { scopeOf, type RequestContext, type ServiceDeps } from '../../core/services/context.js';
import {
  disableKeyRotation, enableKeyRotation, getKeyRotationStatus, listKeyRotations, rotateKeyOnDemand,
} from '../../core/services/rotation.js';
import type { KmsRotationOperation, KmsRotationRequest } from '../../sdk/contract/kms-rotation.js';
import { epoch, expiryOf, paged } from './shape.js';

type Handler<O extends KmsRotationOperation> = (deps: ServiceDeps, ctx: RequestContext, input: KmsRotationRequest<O>) => Promise<object>;
export type KmsRotationHandlers = { [O in KmsRotationOperation]: Handler<O> };

/** An EXTERNAL key's material: ImportState, its description, and its ExpirationModel and ValidTo while it is imported. */
const importState = (m: ImportedMaterial | null) => ({
  ImportState: m?.imported ? 'IMPORTED' : 'PENDING_IMPORT',
  ...(m?.description ? { KeyMaterialDescription: m.description } : {}),
  ...(m?.imported ? expiryOf(m) : {}),
});

export const kmsRotationHandlers: KmsRotationHandlers = {
  EnableKeyRotation: async (d, c, i) => (await enableKeyRotation(d, c, i.KeyId, i.RotationPeriodInDays), {}),
  DisableKeyRotation: async (d, c, i) => (await disableKeyRotation(d, c, i.KeyId), {}),
  GetKeyRotationStatus: async (d, c, i) => {
    const { key, settings } = await getKeyRotationStatus(d, c, i.KeyId);
    const enabled = settings?.enabled === true;
    return {
      KeyRotationEnabled: enabled,
      KeyId: keyArn({ ...scopeOf(d, c), accountId: key.accountId }, key.id),
      ...(enabled && settings ? { RotationPeriodInDays: settings.periodDays } : {}),
      ...(enabled && settings?.nextRotationDate ? { NextRotationDate: epoch(settings.nextRotationDate) } : {}),
      // No OnDemandRotationStartDate: AWS sends it while an on-demand rotation is in progress, and RotateKeyOnDemand
      // here completes the rotation in its own transaction before it answers, so none is ever in progress.
    };
  },
  RotateKeyOnDemand: async (d, c, i) => {
    const key = await rotateKeyOnDemand(d, c, i.KeyId);
    return { KeyId: keyArn({ ...scopeOf(d, c), accountId: key.accountId }, key.id) };
  },
  ListKeyRotations: async (d, c, i) => {
    const scope = scopeOf(d, c);
    const { key, page } = await listKeyRotations(d, c, i.KeyId, i.Limit ?? 100, i.Marker ?? null, i.IncludeKeyMaterial === 'ALL_KEY_MATERIAL');
    const arn = keyArn({ ...scope, accountId: key.accountId }, key.id);
    return paged(page, 'Rotations', (m) => ({
      KeyId: arn,
      KeyMaterialId: keyMaterialId(m.versionId),
      KeyMaterialState: m.state,
      ...(key.origin === 'EXTERNAL' ? importState(m.imported) : {}),
      ...(m.rotation ? { RotationDate: epoch(m.rotation.rotationDate), RotationType: m.rotation.rotationType } : {}),
    }));
  },
};
