// Wraps key material for ImportKeyMaterial the way AWS's documentation tells users to with OpenSSL: the SDK's own
// wrapping (sdk/import-material.ts), under the names the tests use.
import type { AlgorithmSpec } from '@aws-sdk/client-kms';
import { oaepEncrypt, wrapKeyMaterial, type WrappingAlgorithm } from '../../sdk/import-material.js';

export const oaep = oaepEncrypt;

export const wrap = (algorithm: AlgorithmSpec, publicKey: Uint8Array, material: Uint8Array): Buffer => wrapKeyMaterial(algorithm as WrappingAlgorithm, publicKey, material);
