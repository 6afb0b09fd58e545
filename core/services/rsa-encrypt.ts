// Encrypt and Decrypt with RSA ENCRYPT_DECRYPT keys: encryption with the public key (RSAES-OAEP), decryption in the token.
import { constants, createPublicKey, publicEncrypt } from 'node:crypto';
import type { AuditDraft } from '../audit.js';
import type { ConditionValues } from '../authorization.js';
import type { EncryptionContext } from '../encryption-context.js';
import { invalidCiphertext, needs } from '../errors.js';
import { keyArn } from '../identifiers.js';
import { isRsa, type AsymmetricSpec } from '../key-spec.js';
import type { Key } from '../model.js';
import type { Hsm, Repositories } from '../ports.js';
import { scopeOf, type RequestContext, type ServiceDeps } from './context.js';
import { dryRunSucceeded, keyForEncryption } from './crypto.js';
import { resolveKey } from './resolve.js';

const OAEP_HASH: Record<string, { hash: 'sha1' | 'sha256'; bytes: number }> = {
  RSAES_OAEP_SHA_1: { hash: 'sha1', bytes: 20 },
  RSAES_OAEP_SHA_256: { hash: 'sha256', bytes: 32 },
};

/** AWS accepts no encryption context with asymmetric keys. */
export function refuseContext(context: EncryptionContext | undefined): void {
  needs(
    context === undefined || Object.keys(context).length === 0,
    'ValidationException',
    'EncryptionContext is not supported with asymmetric KMS keys.',
  );
}

export async function rsaEncrypt(hsm: Hsm, key: Key, algorithm: string, plaintext: Uint8Array): Promise<Uint8Array> {
  const oaep = OAEP_HASH[algorithm] as (typeof OAEP_HASH)[string];
  const k = Number(key.keySpec.slice(4)) / 8;
  const max = k - 2 * oaep.bytes - 2;
  needs(plaintext.length <= max, 'ValidationException', `Plaintext is too long for ${key.keySpec} with ${algorithm}: at most ${max} bytes.`);
  const spki = await hsm.publicKey(key.currentVersionId, key.keySpec as AsymmetricSpec);
  const pub = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  return publicEncrypt({ key: pub, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: oaep.hash }, plaintext);
}

export interface AsymmetricDecryptInput {
  CiphertextBlob: Uint8Array;
  KeyId?: string | undefined;
  EncryptionContext?: EncryptionContext | undefined;
  EncryptionAlgorithm?: string | undefined;
  DryRun?: boolean | undefined;
}

/** Decrypts with the RSA key the KeyId names; null when the KeyId is absent or names no RSA key (the symmetric path applies). */
export async function rsaDecryptIfNamed(
  deps: ServiceDeps,
  ctx: RequestContext,
  repos: Repositories,
  action: string,
  input: AsymmetricDecryptInput,
  draft: AuditDraft,
  conditions: ConditionValues = {},
): Promise<{ key: Key; plaintext: Uint8Array; algorithm: string } | null> {
  if (input.KeyId === undefined) return null;
  const named = await resolveKey(repos, scopeOf(deps, ctx), input.KeyId);
  if (!isRsa(named.keySpec)) return null;
  draft.keyArn = keyArn({ ...scopeOf(deps, ctx), accountId: named.accountId }, named.id);
  const key = await keyForEncryption(deps, ctx, repos, action, input.KeyId, input.EncryptionAlgorithm, input.EncryptionContext, draft, conditions);
  refuseContext(input.EncryptionContext);
  if (input.DryRun) throw dryRunSucceeded();
  const algorithm = input.EncryptionAlgorithm as string;
  if (input.CiphertextBlob.length !== Number(key.keySpec.slice(4)) / 8) throw invalidCiphertext();
  const plaintext = await deps.hsm.asymmetricDecrypt(key.currentVersionId, key.keySpec as AsymmetricSpec, algorithm, input.CiphertextBlob);
  return { key, plaintext, algorithm };
}
