// Thin handlers for EnableKeyRotation, DisableKeyRotation, GetKeyRotationStatus, RotateKeyOnDemand and ListKeyRotations.
import { keyArn, keyMaterialId } from '../../core/identifiers.js';
import { scopeOf, type RequestContext, type ServiceDeps } from '../../core/services/context.js';
import {
  disableKeyRotation, enableKeyRotation, getKeyRotationStatus, listKeyRotations, rotateKeyOnDemand,
} from '../../core/services/rotation.js';
import type { KmsRotationOperation, KmsRotationRequest } from '../../sdk/contract/kms-rotation.js';
import { epoch, paged } from './shape.js';

type Handler<O extends KmsRotationOperation> = (deps: ServiceDeps, ctx: RequestContext, input: KmsRotationRequest<O>) => Promise<object>;
export type KmsRotationHandlers = { [O in KmsRotationOperation]: Handler<O> };

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
    const page = await listKeyRotations(d, c, i.KeyId, i.Limit ?? 100, i.Marker ?? null);
    return paged(page, 'Rotations', (r) => ({
      KeyId: keyArn(scope, r.keyId), KeyMaterialId: keyMaterialId(r.versionId), RotationDate: epoch(r.rotationDate), RotationType: r.rotationType,
    }));
  },
};
