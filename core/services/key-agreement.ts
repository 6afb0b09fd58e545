// DeriveSharedSecret (ECDH with KEY_AGREEMENT keys) and GenerateDataKeyPair(WithoutPlaintext).
import { createPublicKey, generateKeyPair as nodeGenerateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';
import type { EncryptionContext } from '../encryption-context.js';
import { KmsError, needs } from '../errors.js';
import { keyArn } from '../identifiers.js';
import type { AsymmetricSpec } from '../key-spec.js';
import { auditedRead } from './audited.js';
import { scopeOf, type RequestContext, type ServiceDeps } from './context.js';
import { dryRunSucceeded, keyForEncryption, sealUnderKey } from './crypto.js';
import { keyForUse } from './key-use.js';

const JWK_CURVE: Record<string, string> = { ECC_NIST_P256: 'P-256', ECC_NIST_P384: 'P-384', ECC_NIST_P521: 'P-521' };

/** The other side's uncompressed point from a DER SubjectPublicKeyInfo on the key's curve; ValidationException otherwise. */
function peerPoint(spki: Uint8Array, spec: string): Uint8Array {
  const invalid = () => new KmsError('ValidationException', `The public key is not a valid DER-encoded ${spec} SubjectPublicKeyInfo.`);
  let jwk;
  try {
    jwk = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }).export({ format: 'jwk' });
  } catch {
    throw invalid();
  }
  if (jwk.kty !== 'EC' || jwk.crv !== JWK_CURVE[spec] || !jwk.x || !jwk.y) throw invalid();
  return Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url')]);
}

export interface DeriveInput {
  KeyId: string;
  KeyAgreementAlgorithm: string;
  PublicKey: Uint8Array;
  DryRun?: boolean | undefined;
}

export function deriveSharedSecret(deps: ServiceDeps, ctx: RequestContext, input: DeriveInput): Promise<{ keyArn: string; secret: Uint8Array; origin: string }> {
  return auditedRead(deps, ctx, async (repos, draft) => {
    const { key, arn } = await keyForUse(deps, ctx, repos, draft, 'kms:DeriveSharedSecret', input.KeyId, 'KEY_AGREEMENT', {
      'kms:KeyAgreementAlgorithm': input.KeyAgreementAlgorithm,
    });
    needs(input.KeyAgreementAlgorithm === 'ECDH', 'InvalidKeyUsageException', `Algorithm ${input.KeyAgreementAlgorithm} is incompatible with key spec ${key.keySpec}.`);
    const point = peerPoint(input.PublicKey, key.keySpec);
    if (input.DryRun) throw dryRunSucceeded();
    const secret = await deps.hsm.deriveSharedSecret(key.currentVersionId, key.keySpec as AsymmetricSpec, point);
    return { keyArn: arn, secret, origin: key.origin };
  });
}

const generatePair = promisify(nodeGenerateKeyPair);
const PAIR_SPECS: Record<string, () => Promise<{ publicKey: Buffer; privateKey: Buffer }>> = Object.fromEntries([
  ...[2048, 3072, 4096].map((bits) => [`RSA_${bits}`, () => generatePair('rsa', { modulusLength: bits, ...DER })]),
  ...Object.entries({ ECC_NIST_P256: 'prime256v1', ECC_NIST_P384: 'secp384r1', ECC_NIST_P521: 'secp521r1', ECC_SECG_P256K1: 'secp256k1' })
    .map(([spec, namedCurve]) => [spec, () => generatePair('ec', { namedCurve, ...DER })]),
  ['ECC_NIST_EDWARDS25519', () => generatePair('ed25519', DER)],
]);
const DER = { publicKeyEncoding: { type: 'spki', format: 'der' }, privateKeyEncoding: { type: 'pkcs8', format: 'der' } } as const;

export interface DataKeyPairInput {
  KeyId: string;
  KeyPairSpec: string;
  EncryptionContext?: EncryptionContext | undefined;
  DryRun?: boolean | undefined;
}

export interface DataKeyPair {
  keyArn: string;
  publicKey: Uint8Array;
  privateKey: Uint8Array;
  privateKeyCiphertext: Uint8Array;
  /** The symmetric key version that sealed the private key. */
  versionId: string;
}

/**
 * A data key pair for use outside KMS: generated in process (its private key is handed to the caller anyway, as AWS
 * does), the PKCS#8 private key encrypted under the named symmetric key in the token.
 */
export function generateDataKeyPair(
  deps: ServiceDeps,
  ctx: RequestContext,
  input: DataKeyPairInput,
  action: 'kms:GenerateDataKeyPair' | 'kms:GenerateDataKeyPairWithoutPlaintext',
): Promise<DataKeyPair> {
  const scope = scopeOf(deps, ctx);
  return auditedRead(deps, ctx, async (repos, draft) => {
    const key = await keyForEncryption(deps, ctx, repos, action, input.KeyId, undefined, input.EncryptionContext, draft, { 'kms:DataKeyPairSpec': input.KeyPairSpec });
    const make = PAIR_SPECS[input.KeyPairSpec];
    needs(make, 'UnsupportedOperationException', `KeyPairSpec ${input.KeyPairSpec} is not supported by this server.`);
    if (input.DryRun) throw dryRunSucceeded();
    const { publicKey, privateKey } = await make();
    const privateKeyCiphertext = await sealUnderKey(deps.hsm, key, privateKey, input.EncryptionContext);
    return { keyArn: keyArn({ ...scope, accountId: key.accountId }, key.id), publicKey, privateKey, privateKeyCiphertext, versionId: key.currentVersionId };
  });
}
