// Turns domain records into AWS's response shapes: ARNs, epoch-second dates, base64 blobs.
import { aliasArn, keyArn, type Scope } from '../../core/identifiers.js';
import type { Alias, ImportedMaterial, Key, Page } from '../../core/model.js';
import { algorithmsOf } from '../../core/key-spec.js';

export const epoch = (d: Date) => d.getTime() / 1000;
export const b64 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');

/** ExpirationModel and ValidTo of an EXTERNAL key's material, as AWS shows them: absent while the key awaits material. */
function importedMetadata(key: Key, imported: ImportedMaterial | null) {
  if (key.origin !== 'EXTERNAL' || key.state === 'PendingImport' || !imported) return {};
  const expires = imported.expirationModel === 'KEY_MATERIAL_EXPIRES' && imported.validTo;
  return { ExpirationModel: imported.expirationModel, ...(expires ? { ValidTo: epoch(expires) } : {}) };
}

export function keyMetadata(key: Key, scope: Scope, imported: ImportedMaterial | null = null) {
  return {
    AWSAccountId: key.accountId,
    KeyId: key.id,
    Arn: keyArn({ region: scope.region, accountId: key.accountId }, key.id),
    CreationDate: epoch(key.createdAt),
    Enabled: key.state === 'Enabled',
    Description: key.description,
    KeyUsage: key.keyUsage,
    KeyState: key.state,
    ...(key.deletionDate ? { DeletionDate: epoch(key.deletionDate) } : {}),
    ...(key.pendingWindowDays ? { PendingDeletionWindowInDays: key.pendingWindowDays } : {}),
    Origin: key.origin,
    KeyManager: 'CUSTOMER',
    CustomerMasterKeySpec: key.keySpec,
    KeySpec: key.keySpec,
    ...algorithmsOf(key.keySpec, key.keyUsage),
    MultiRegion: false,
    ...importedMetadata(key, imported),
  };
}

export function aliasEntry(alias: Alias, scope: Scope) {
  return {
    AliasName: alias.name,
    AliasArn: aliasArn(scope, alias.name),
    TargetKeyId: alias.keyId,
    CreationDate: epoch(alias.createdAt),
    LastUpdatedDate: epoch(alias.updatedAt),
  };
}

export function paged<T, R>(page: Page<T>, member: string, map: (t: T) => R): Record<string, unknown> {
  return { [member]: page.items.map(map), Truncated: page.next !== null, ...(page.next !== null ? { NextMarker: page.next } : {}) };
}
