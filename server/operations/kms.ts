// Thin handlers for the KMS operations: validated input in, a core service called, the AWS shape out.
import { KmsError } from '../../core/errors.js';
import { keyArn, keyMaterialId } from '../../core/identifiers.js';
import { scopeOf, type RequestContext, type ServiceDeps } from '../../core/services/context.js';
import { createKey } from '../../core/services/create-key.js';
import { decrypt, encrypt, generateDataKey, generateRandom, reEncrypt } from '../../core/services/encrypt.js';
import {
  cancelKeyDeletion, describeKey, disableKey, enableKey, listKeys, scheduleKeyDeletion, updateKeyDescription,
} from '../../core/services/key-lifecycle.js';
import { createAlias, deleteAlias, listAliases, updateAlias } from '../../core/services/aliases.js';
import { describeCustomKeyStores } from '../../core/services/custom-key-stores.js';
import { listResourceTags, tagResource, untagResource } from '../../core/services/tags.js';
import { getKeyLastUsage } from '../../core/services/key-usage.js';
import type { KmsOperation, KmsRequest } from '../../sdk/contract/kms.js';
import { aliasEntry, b64, epoch, keyMetadata, paged } from './shape.js';

type Handler<O extends KmsOperation> = (deps: ServiceDeps, ctx: RequestContext, input: KmsRequest<O>) => Promise<object>;
export type KmsHandlers = { [O in KmsOperation]: Handler<O> };

/** Members AWS has for Nitro Enclaves and custom key stores, which Coffer does not offer: refused, never ignored. */
function refuseUnsupported(members: Record<string, unknown>): void {
  for (const [name, value] of Object.entries(members)) {
    if (value !== undefined) throw new KmsError('UnsupportedOperationException', `${name} is not supported by this server.`);
  }
}

/** KeyMaterialId of the symmetric key version an operation used; nothing for an RSA key (AWS sends none). */
const materialOf = (versionId: string | null) => (versionId ? { KeyMaterialId: keyMaterialId(versionId) } : {});

export const kmsHandlers: KmsHandlers = {
  CreateKey: async (d, c, i) => ({ KeyMetadata: keyMetadata(await createKey(d, c, i), scopeOf(d, c)) }),
  DescribeKey: async (d, c, i) => {
    const { key, imported } = await describeKey(d, c, i.KeyId);
    return { KeyMetadata: keyMetadata(key, scopeOf(d, c), imported) };
  },
  GetKeyLastUsage: async (d, c, i) => {
    const { key, last, trackingStart } = await getKeyLastUsage(d, c, i.KeyId);
    return {
      KeyId: key.id,
      KeyLastUsage: last ? { Operation: last.operation, Timestamp: epoch(last.time), CloudTrailEventId: last.eventId, KmsRequestId: last.requestId } : {},
      TrackingStartDate: epoch(trackingStart),
      KeyCreationDate: epoch(key.createdAt),
    };
  },
  ListKeys: async (d, c, i) => {
    const scope = scopeOf(d, c);
    const page = await listKeys(d, c, i.Limit ?? 100, i.Marker ?? null);
    return paged(page, 'Keys', (k) => ({ KeyId: k.id, KeyArn: keyArn(scope, k.id) }));
  },
  UpdateKeyDescription: async (d, c, i) => (await updateKeyDescription(d, c, i.KeyId, i.Description), {}),
  EnableKey: async (d, c, i) => (await enableKey(d, c, i.KeyId), {}),
  DisableKey: async (d, c, i) => (await disableKey(d, c, i.KeyId), {}),
  ScheduleKeyDeletion: async (d, c, i) => {
    const key = await scheduleKeyDeletion(d, c, i.KeyId, i.PendingWindowInDays);
    return {
      KeyId: keyArn({ ...scopeOf(d, c), accountId: key.accountId }, key.id),
      DeletionDate: epoch(key.deletionDate as Date),
      KeyState: key.state,
      PendingWindowInDays: key.pendingWindowDays,
    };
  },
  CancelKeyDeletion: async (d, c, i) => {
    const key = await cancelKeyDeletion(d, c, i.KeyId);
    return { KeyId: keyArn({ ...scopeOf(d, c), accountId: key.accountId }, key.id) };
  },
  Encrypt: async (d, c, i) => {
    const r = await encrypt(d, c, i);
    return { CiphertextBlob: b64(r.ciphertext), KeyId: r.keyArn, EncryptionAlgorithm: r.algorithm };
  },
  Decrypt: async (d, c, i) => {
    refuseUnsupported({ Recipient: i.Recipient });
    const r = await decrypt(d, c, i);
    const body = { KeyId: r.keyArn, Plaintext: b64(r.plaintext), EncryptionAlgorithm: r.algorithm, ...materialOf(r.versionId) };
    r.plaintext.fill(0);
    return body;
  },
  ReEncrypt: async (d, c, i) => {
    const r = await reEncrypt(d, c, i);
    return {
      CiphertextBlob: b64(r.ciphertext),
      SourceKeyId: r.sourceKeyArn,
      KeyId: r.keyArn,
      SourceEncryptionAlgorithm: r.sourceAlgorithm,
      DestinationEncryptionAlgorithm: r.destinationAlgorithm,
      ...(r.sourceVersionId ? { SourceKeyMaterialId: keyMaterialId(r.sourceVersionId) } : {}),
      ...(r.destinationVersionId ? { DestinationKeyMaterialId: keyMaterialId(r.destinationVersionId) } : {}),
    };
  },
  GenerateDataKey: async (d, c, i) => {
    refuseUnsupported({ Recipient: i.Recipient });
    const r = await generateDataKey(d, c, i);
    const body = { CiphertextBlob: b64(r.ciphertext), Plaintext: b64(r.plaintext), KeyId: r.keyArn, KeyMaterialId: keyMaterialId(r.versionId) };
    r.plaintext.fill(0);
    return body;
  },
  GenerateDataKeyWithoutPlaintext: async (d, c, i) => {
    const r = await generateDataKey(d, c, i, 'kms:GenerateDataKeyWithoutPlaintext');
    r.plaintext.fill(0);
    return { CiphertextBlob: b64(r.ciphertext), KeyId: r.keyArn, KeyMaterialId: keyMaterialId(r.versionId) };
  },
  GenerateRandom: async (d, c, i) => {
    refuseUnsupported({ Recipient: i.Recipient, CustomKeyStoreId: i.CustomKeyStoreId });
    return { Plaintext: b64(await generateRandom(d, c, i.NumberOfBytes)) };
  },
  CreateAlias: async (d, c, i) => (await createAlias(d, c, i.AliasName, i.TargetKeyId), {}),
  UpdateAlias: async (d, c, i) => (await updateAlias(d, c, i.AliasName, i.TargetKeyId), {}),
  DeleteAlias: async (d, c, i) => (await deleteAlias(d, c, i.AliasName), {}),
  ListAliases: async (d, c, i) => {
    const scope = scopeOf(d, c);
    const page = await listAliases(d, c, i.KeyId, i.Limit ?? 50, i.Marker ?? null);
    return paged(page, 'Aliases', (a) => aliasEntry(a, scope));
  },
  TagResource: async (d, c, i) => (await tagResource(d, c, i.KeyId, i.Tags), {}),
  UntagResource: async (d, c, i) => (await untagResource(d, c, i.KeyId, i.TagKeys), {}),
  ListResourceTags: async (d, c, i) => paged(await listResourceTags(d, c, i.KeyId, i.Limit ?? 50, i.Marker ?? null), 'Tags', (t) => t),
  DescribeCustomKeyStores: async (d, c, i) => paged(await describeCustomKeyStores(d, c, i), 'CustomKeyStores', (s) => s),
};
