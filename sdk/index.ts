// The public entry of @coffer/sdk: the client, its errors, envelope encryption and the data-key cache.
export * from './client.js';
export * from './errors.js';
export type { Credentials } from './sigv4.js';
export { signRequest } from './sigv4.js';
export { isIdempotent } from './retry.js';
export type { RetryOptions } from './retry.js';
export * from './contract/responses.js';
export { kmsRequests, KMS_OPERATIONS, type KmsOperation } from './contract/kms.js';
export * from './envelope/index.js';
export * from './import-material.js';
export * from './contract/responses-families.js';
export { FAMILIES, trentRequests, type Family, type TrentOperation } from './contract/operations.js';
