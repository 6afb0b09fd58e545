// The audit event: what every request records, allowed or refused. Holds no plaintext, ciphertext, key bytes or secrets.

export type AuditOutcome = 'Success' | 'Failure';

export interface AuditEvent {
  id: string;
  time: Date;
  requestId: string;
  operation: string;
  keyArn: string | null;
  callerArn: string | null;
  accessKeyId: string | null;
  sourceIp: string | null;
  userAgent: string | null;
  outcome: AuditOutcome;
  errorCode: string | null;
  /** Only the keys of the encryption context: values may be sensitive. */
  encryptionContextKeys: string[];
}

/** What a service fills in while it runs; the runner completes and stores it. */
export interface AuditDraft {
  keyArn: string | null;
  encryptionContextKeys: string[];
}

export function newDraft(): AuditDraft {
  return { keyArn: null, encryptionContextKeys: [] };
}

const MAX_USER_AGENT = 256;

export function truncateUserAgent(ua: string | null | undefined): string | null {
  if (!ua) return null;
  return ua.length > MAX_USER_AGENT ? ua.slice(0, MAX_USER_AGENT) : ua;
}
