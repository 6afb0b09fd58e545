// Thin handlers for Sign, Verify, GetPublicKey, GenerateMac, VerifyMac, DeriveSharedSecret and GenerateDataKeyPair(WithoutPlaintext).
import type { RequestContext, ServiceDeps } from '../../core/services/context.js';
import { deriveSharedSecret, generateDataKeyPair } from '../../core/services/key-agreement.js';
import { generateMac, verifyMac } from '../../core/services/mac.js';
import { getPublicKey, sign, verify } from '../../core/services/sign.js';
import type { KmsAsymmetricOperation, KmsAsymmetricRequest } from '../../sdk/contract/kms-asymmetric.js';
import { keyMaterialId } from '../../core/identifiers.js';
import { b64 } from './shape.js';

type Handler<O extends KmsAsymmetricOperation> = (deps: ServiceDeps, ctx: RequestContext, input: KmsAsymmetricRequest<O>) => Promise<object>;
export type KmsAsymmetricHandlers = { [O in KmsAsymmetricOperation]: Handler<O> };

export const kmsAsymmetricHandlers: KmsAsymmetricHandlers = {
  Sign: async (d, c, i) => {
    const r = await sign(d, c, i);
    return { KeyId: r.keyArn, Signature: b64(r.signature), SigningAlgorithm: r.algorithm };
  },
  Verify: async (d, c, i) => {
    const r = await verify(d, c, i);
    return { KeyId: r.keyArn, SignatureValid: true, SigningAlgorithm: r.algorithm };
  },
  GetPublicKey: async (d, c, i) => {
    const r = await getPublicKey(d, c, i.KeyId);
    return {
      KeyId: r.keyArn,
      PublicKey: b64(r.publicKey),
      CustomerMasterKeySpec: r.key.keySpec,
      KeySpec: r.key.keySpec,
      KeyUsage: r.key.keyUsage,
      ...r.algorithms,
    };
  },
  GenerateMac: async (d, c, i) => {
    const r = await generateMac(d, c, i);
    return { Mac: b64(r.mac), MacAlgorithm: i.MacAlgorithm, KeyId: r.keyArn };
  },
  VerifyMac: async (d, c, i) => {
    const r = await verifyMac(d, c, i);
    return { KeyId: r.keyArn, MacValid: true, MacAlgorithm: i.MacAlgorithm };
  },
  DeriveSharedSecret: async (d, c, i) => {
    const r = await deriveSharedSecret(d, c, i);
    const body = { KeyId: r.keyArn, SharedSecret: b64(r.secret), KeyAgreementAlgorithm: 'ECDH', KeyOrigin: r.origin };
    r.secret.fill(0);
    return body;
  },
  GenerateDataKeyPair: async (d, c, i) => {
    const r = await generateDataKeyPair(d, c, i, 'kms:GenerateDataKeyPair');
    const body = {
      PrivateKeyCiphertextBlob: b64(r.privateKeyCiphertext),
      PrivateKeyPlaintext: b64(r.privateKey),
      PublicKey: b64(r.publicKey),
      KeyId: r.keyArn,
      KeyPairSpec: i.KeyPairSpec,
      KeyMaterialId: keyMaterialId(r.versionId),
    };
    r.privateKey.fill(0);
    return body;
  },
  GenerateDataKeyPairWithoutPlaintext: async (d, c, i) => {
    const r = await generateDataKeyPair(d, c, i, 'kms:GenerateDataKeyPairWithoutPlaintext');
    r.privateKey.fill(0);
    return { PrivateKeyCiphertextBlob: b64(r.privateKeyCiphertext), PublicKey: b64(r.publicKey), KeyId: r.keyArn, KeyPairSpec: i.KeyPairSpec, KeyMaterialId: keyMaterialId(r.versionId) };
  },
};
