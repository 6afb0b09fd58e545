// Every operation family of the wire contract with its target prefix and the namespace of its client methods.
import { adminRequests } from './admin.js';
import { auditRequests } from './audit.js';
import { identityRequests } from './identity.js';
import { kmsRequests } from './kms.js';
import { kmsAccessRequests } from './kms-access.js';
import { kmsAsymmetricRequests } from './kms-asymmetric.js';
import { kmsImportRequests } from './kms-import.js';
import { kmsRotationRequests } from './kms-rotation.js';

/** All TrentService. (AWS KMS) operations Coffer serves. */
export const trentRequests = { ...kmsRequests, ...kmsAsymmetricRequests, ...kmsRotationRequests, ...kmsImportRequests, ...kmsAccessRequests };
export type TrentOperation = keyof typeof trentRequests;
export type IdentityOperationName = keyof typeof identityRequests;
export type AuditOperationName = keyof typeof auditRequests;
export type AdminOperationName = keyof typeof adminRequests;

export interface Family {
  /** X-Amz-Target prefix, e.g. "CofferIdentity." */
  prefix: string;
  /** Where the client's methods live: null on the client itself (`client.sign`), else `client.identity.createUser`. */
  namespace: 'identity' | 'audit' | 'admin' | null;
  operations: readonly string[];
}

export const FAMILIES: readonly Family[] = [
  { prefix: 'TrentService.', namespace: null, operations: Object.keys(trentRequests) },
  { prefix: 'CofferIdentity.', namespace: 'identity', operations: Object.keys(identityRequests) },
  { prefix: 'CofferAudit.', namespace: 'audit', operations: Object.keys(auditRequests) },
  { prefix: 'CofferAdmin.', namespace: 'admin', operations: Object.keys(adminRequests) },
];
