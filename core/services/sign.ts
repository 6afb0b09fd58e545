// Sign, Verify and GetPublicKey with asymmetric keys: the message is hashed here and the digest signed in the token
// (Ed25519: the message itself, PureEdDSA).
import { createHash } from 'node:crypto';
import { KmsError, needs } from '../errors.js';
import {
  algorithmsOf, HASH_BYTES, hashOf, isAsymmetric, isEd, signingAlgorithmsOf, type AsymmetricSpec, type KeyAlgorithms, type SigningAlgorithm,
} from '../key-spec.js';
import type { Key } from '../model.js';
import { auditedRead } from './audited.js';
import type { RequestContext, ServiceDeps } from './context.js';
import { dryRunSucceeded } from './crypto.js';
import { keyForUse } from './key-use.js';

export interface SignInput {
  KeyId: string;
  Message: Uint8Array;
  MessageType?: string | undefined;
  SigningAlgorithm: string;
  DryRun?: boolean | undefined;
}

/** The digest to sign: the hash of a RAW message, or the DIGEST itself after its length is checked. */
function digestOf(input: SignInput, algorithm: SigningAlgorithm): Uint8Array {
  if (algorithm === 'ED25519_SHA_512') {
    // PureEdDSA hashes inside the algorithm: the token signs the message itself.
    needs((input.MessageType ?? 'RAW') === 'RAW', 'ValidationException', 'ED25519_SHA_512 requires MessageType RAW.');
    return input.Message;
  }
  const hash = hashOf(algorithm);
  if ((input.MessageType ?? 'RAW') === 'RAW') return createHash(hash).update(input.Message).digest();
  needs(input.Message.length === HASH_BYTES[hash], 'ValidationException', `Digest is invalid length for algorithm ${algorithm}.`);
  return input.Message;
}

function checkAlgorithm(key: Key, algorithm: string): SigningAlgorithm {
  // AWS offers Ed25519ph for these keys. SoftHSM 2.6.1 ignores the phFlag of CKM_EDDSA's parameters and returns a
  // PureEdDSA signature (measured), so Coffer refuses it rather than return a signature no Ed25519ph verifier accepts.
  needs(
    !(isEd(key.keySpec) && algorithm === 'ED25519_PH_SHA_512'),
    'UnsupportedOperationException',
    'ED25519_PH_SHA_512 is not supported: the HSM cannot sign Ed25519ph (prehashed) messages. Use ED25519_SHA_512.',
  );
  const allowed: string[] = signingAlgorithmsOf(key.keySpec);
  needs(
    allowed.includes(algorithm),
    'InvalidKeyUsageException',
    `Algorithm ${algorithm} is incompatible with key spec ${key.keySpec}.`,
  );
  return algorithm as SigningAlgorithm;
}

const conditions = (input: SignInput) => ({ 'kms:SigningAlgorithm': input.SigningAlgorithm, 'kms:MessageType': input.MessageType ?? 'RAW' });

export function sign(deps: ServiceDeps, ctx: RequestContext, input: SignInput): Promise<{ keyArn: string; signature: Uint8Array; algorithm: string }> {
  return auditedRead(deps, ctx, async (repos, draft) => {
    const { key, arn } = await keyForUse(deps, ctx, repos, draft, 'kms:Sign', input.KeyId, 'SIGN_VERIFY', conditions(input));
    const algorithm = checkAlgorithm(key, input.SigningAlgorithm);
    const digest = digestOf(input, algorithm);
    if (input.DryRun) throw dryRunSucceeded();
    const signature = await deps.hsm.sign(key.currentVersionId, key.keySpec as AsymmetricSpec, algorithm, digest);
    return { keyArn: arn, signature, algorithm };
  });
}

export interface VerifyInput extends SignInput {
  Signature: Uint8Array;
}

/** Resolves when the signature is valid; KMSInvalidSignatureException otherwise, as AWS answers. */
export function verify(deps: ServiceDeps, ctx: RequestContext, input: VerifyInput): Promise<{ keyArn: string; algorithm: string }> {
  return auditedRead(deps, ctx, async (repos, draft) => {
    const { key, arn } = await keyForUse(deps, ctx, repos, draft, 'kms:Verify', input.KeyId, 'SIGN_VERIFY', conditions(input));
    const algorithm = checkAlgorithm(key, input.SigningAlgorithm);
    const digest = digestOf(input, algorithm);
    if (input.DryRun) throw dryRunSucceeded();
    const valid = await deps.hsm.verify(key.currentVersionId, key.keySpec as AsymmetricSpec, algorithm, digest, input.Signature);
    if (!valid) throw new KmsError('KMSInvalidSignatureException', 'The signature is not valid.');
    return { keyArn: arn, algorithm };
  });
}

export interface PublicKeyResult {
  key: Key;
  keyArn: string;
  publicKey: Uint8Array;
  algorithms: KeyAlgorithms;
}

export function getPublicKey(deps: ServiceDeps, ctx: RequestContext, keyIdInput: string): Promise<PublicKeyResult> {
  return auditedRead(deps, ctx, async (repos, draft) => {
    const { key, arn } = await keyForUse(deps, ctx, repos, draft, 'kms:GetPublicKey', keyIdInput, null);
    needs(isAsymmetric(key.keySpec), 'UnsupportedOperationException', `${arn} key spec ${key.keySpec} has no public key.`);
    const publicKey = await deps.hsm.publicKey(key.currentVersionId, key.keySpec as AsymmetricSpec);
    return { key, keyArn: arn, publicKey, algorithms: algorithmsOf(key.keySpec, key.keyUsage) };
  });
}
