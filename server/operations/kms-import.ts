// Thin handlers for GetParametersForImport, ImportKeyMaterial and DeleteImportedKeyMaterial.
import type { RequestContext, ServiceDeps } from '../../core/services/context.js';
import { deleteImportedKeyMaterial, getParametersForImport, importKeyMaterial } from '../../core/services/import-material.js';
import type { KmsImportOperation, KmsImportRequest } from '../../sdk/contract/kms-import.js';
import { b64, epoch } from './shape.js';

type Handler<O extends KmsImportOperation> = (deps: ServiceDeps, ctx: RequestContext, input: KmsImportRequest<O>) => Promise<object>;
export type KmsImportHandlers = { [O in KmsImportOperation]: Handler<O> };

/** KeyId (the ARN) and, for a symmetric key, KeyMaterialId: ImportKeyMaterial's and DeleteImportedKeyMaterial's answer. */
const materialAnswer = (r: { keyArn: string; keyMaterialId: string | null }) => ({ KeyId: r.keyArn, ...(r.keyMaterialId ? { KeyMaterialId: r.keyMaterialId } : {}) });

export const kmsImportHandlers: KmsImportHandlers = {
  GetParametersForImport: async (d, c, i) => {
    const r = await getParametersForImport(d, c, i);
    return { KeyId: r.keyArn, ImportToken: b64(r.importToken), PublicKey: b64(r.publicKey), ParametersValidTo: epoch(r.validTo) };
  },
  ImportKeyMaterial: async (d, c, i) => materialAnswer(await importKeyMaterial(d, c, i)),
  DeleteImportedKeyMaterial: async (d, c, i) => materialAnswer(await deleteImportedKeyMaterial(d, c, i.KeyId, i.KeyMaterialId)),
};
