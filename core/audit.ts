// The audit event: what every request records, allowed or refused, and its CloudTrail-shaped record.
// Holds no plaintext, ciphertext, key bytes, secrets, grant tokens or encryption-context values.
import { canonicalJson } from './audit-chain.js';

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
  /** CloudTrail fields beyond the above (optional so older callers still compile). */
  userName?: string | null;
  accountId?: string | null;
  region?: string;
  errorMessage?: string | null;
  /** Already redacted through requestParameters(). */
  requestParameters?: Record<string, unknown> | null;
  /** ReEncrypt's source key when it opened the ciphertext (keyArn is then the destination). */
  sourceKeyArn?: string | null;
}

/** What a service fills in while it runs; the runner completes and stores it. */
export interface AuditDraft {
  keyArn: string | null;
  encryptionContextKeys: string[];
  /** Set by ReEncrypt once the source opened. */
  sourceKeyArn?: string | null;
}

export function newDraft(): AuditDraft {
  return { keyArn: null, encryptionContextKeys: [] };
}

/** The successful cryptographic operations GetKeyLastUsage reports (AWS's KeyLastUsageTrackingOperation less ML-KEM's). */
export const USAGE_TRACKED_OPERATIONS: ReadonlySet<string> = new Set([
  'Decrypt', 'DeriveSharedSecret', 'Encrypt', 'GenerateDataKey', 'GenerateDataKeyPair', 'GenerateDataKeyPairWithoutPlaintext',
  'GenerateDataKeyWithoutPlaintext', 'GenerateMac', 'ReEncrypt', 'Sign', 'Verify', 'VerifyMac',
]);

/** A key's last successful cryptographic use, from the event that recorded it. */
export interface KeyLastUse {
  operation: string;
  time: Date;
  eventId: string;
  requestId: string;
}

/** The keys whose last usage an event counts as (ReEncrypt: source and destination), as ARNs; none unless it succeeded. */
export function keysUsedBy(e: AuditEvent): string[] {
  return e.outcome === 'Success' && USAGE_TRACKED_OPERATIONS.has(e.operation) ? resourceArns(e) : [];
}

/** The keys of an event's record: ReEncrypt lists its source key before the destination, as CloudTrail does. */
function resourceArns(e: AuditEvent): string[] {
  if (!e.keyArn) return [];
  return e.sourceKeyArn && e.sourceKeyArn !== e.keyArn ? [e.sourceKeyArn, e.keyArn] : [e.keyArn];
}

const MAX_USER_AGENT = 256;
const MAX_STRING = 256;
const MAX_MESSAGE = 512;

export function truncateUserAgent(ua: string | null | undefined): string | null {
  if (!ua) return null;
  return ua.length > MAX_USER_AGENT ? ua.slice(0, MAX_USER_AGENT) : ua;
}

/** Placeholder for every encryption-context value (see README, "Audit trail"). */
export const REDACTED = '***';

/**
 * The request members an audit record may carry, and how: 'scalar' keeps a string (truncated), number or boolean;
 * 'strings' keeps an array of strings; 'contextKeys' keeps a context's keys with every value replaced by REDACTED.
 * Everything else (Plaintext, CiphertextBlob, GrantTokens, Policy, Tags values, ImportToken, EncryptedKeyMaterial,
 * grant Constraints ...) is dropped.
 */
const ALLOWED: Readonly<Record<string, 'scalar' | 'strings' | 'contextKeys'>> = {
  KeyId: 'scalar', SourceKeyId: 'scalar', DestinationKeyId: 'scalar', TargetKeyId: 'scalar', AliasName: 'scalar',
  EncryptionAlgorithm: 'scalar', SourceEncryptionAlgorithm: 'scalar', DestinationEncryptionAlgorithm: 'scalar',
  KeySpec: 'scalar', CustomerMasterKeySpec: 'scalar', KeyUsage: 'scalar', Origin: 'scalar', NumberOfBytes: 'scalar',
  PendingWindowInDays: 'scalar', Description: 'scalar', Limit: 'scalar', Marker: 'scalar', DryRun: 'scalar',
  MultiRegion: 'scalar', BypassPolicyLockoutSafetyCheck: 'scalar', SigningAlgorithm: 'scalar', MessageType: 'scalar',
  MacAlgorithm: 'scalar', KeyAgreementAlgorithm: 'scalar', StartTime: 'scalar', EndTime: 'scalar', MaxResults: 'scalar',
  DomainKeyId: 'scalar', WrappingAlgorithm: 'scalar', WrappingKeySpec: 'scalar', ExpirationModel: 'scalar', ValidTo: 'scalar',
  ImportType: 'scalar', KeyMaterialId: 'scalar', KeyMaterialDescription: 'scalar', IncludeKeyMaterial: 'scalar',
  RotationPeriodInDays: 'scalar', KeyPairSpec: 'scalar', GranteePrincipal: 'scalar', RetiringPrincipal: 'scalar', Name: 'scalar',
  TagKeys: 'strings', Operations: 'strings',
  EncryptionContext: 'contextKeys', SourceEncryptionContext: 'contextKeys', DestinationEncryptionContext: 'contextKeys',
};

const lowerFirst = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);
const clip = (s: string, n = MAX_STRING) => (s.length > n ? s.slice(0, n) : s);

function keepScalar(v: unknown): unknown {
  if (typeof v === 'string') return clip(v);
  if (typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))) return v;
  return undefined;
}

function keepMember(kind: 'scalar' | 'strings' | 'contextKeys', v: unknown): unknown {
  if (kind === 'scalar') return keepScalar(v);
  if (kind === 'strings') return Array.isArray(v) ? v.filter((x) => typeof x === 'string').slice(0, 50).map((x) => clip(x)) : undefined;
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
  return Object.fromEntries(Object.keys(v).slice(0, 64).map((k) => [clip(k), REDACTED]));
}

/** The allow-listed, camel-cased request parameters of a parsed request body, or null when none remain. */
export function requestParameters(body: unknown): Record<string, unknown> | null {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return null;
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(body as Record<string, unknown>)) {
    const kind = Object.prototype.hasOwnProperty.call(ALLOWED, name) ? ALLOWED[name] : undefined;
    if (!kind) continue;
    const kept = keepMember(kind, value);
    if (kept !== undefined) out[lowerFirst(name)] = kept;
  }
  return Object.keys(out).length > 0 ? out : null;
}

const READ_ONLY = /^(Describe|List|Get|Lookup|Encrypt|Decrypt|ReEncrypt|GenerateDataKey|GenerateRandom|GenerateMac|Sign|Verify)/;

/** CloudTrail's eventTime: seconds precision, UTC. */
export const cloudTrailTime = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * The CloudTrail record of an event (eventVersion 1.08, eventSource kms.amazonaws.com), as an object: the readable
 * definition that cloudTrailRecordJson (what the audit writer stores) is tested byte-equal against.
 */
export function cloudTrailRecord(e: AuditEvent): Record<string, unknown> {
  const accountId = e.accountId ?? null;
  const identity = e.callerArn
    ? { type: 'IAMUser', principalId: e.accessKeyId, arn: e.callerArn, accountId, accessKeyId: e.accessKeyId, userName: e.userName ?? null }
    : { type: 'Unknown', accessKeyId: e.accessKeyId };
  const success = e.outcome === 'Success';
  return {
    eventVersion: '1.08',
    userIdentity: identity,
    eventTime: cloudTrailTime(e.time),
    eventSource: 'kms.amazonaws.com',
    eventName: e.operation,
    awsRegion: e.region ?? null,
    sourceIPAddress: e.sourceIp,
    userAgent: e.userAgent,
    ...(e.errorCode ? { errorCode: e.errorCode, errorMessage: e.errorMessage ? clip(e.errorMessage, MAX_MESSAGE) : null } : {}),
    requestParameters: e.requestParameters ?? null,
    responseElements: success && e.keyArn ? { keyId: e.keyArn } : null,
    requestID: e.requestId,
    eventID: e.id,
    readOnly: READ_ONLY.test(e.operation),
    resources: resourceArns(e).map((arn) => ({ accountId: arn.split(':')[4] ?? accountId, type: 'AWS::KMS::Key', ARN: arn })),
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: accountId,
    eventCategory: 'Management',
  };
}

/** `,"key":value` in canonical JSON, or nothing for an undefined value (canonicalJson omits such members). */
const member = (key: string, value: unknown): string => (value === undefined ? '' : `,"${key}":${canonicalJson(value)}`);

/**
 * canonicalJson(cloudTrailRecord(e)), written directly in the canonical key order: every request's audit event is
 * serialised on the request path, and the generic form (build the record, sort each object's keys, recurse) was
 * 3-4% of an Encrypt's main-thread time. test/unit/audit-chain.test.ts holds the two equal over generated events.
 */
export function cloudTrailRecordJson(e: AuditEvent): string {
  const accountId = e.accountId ?? null;
  const success = e.outcome === 'Success';
  // Members joined with a leading comma each; "type" is always there, so slicing the first comma off is safe.
  const identity = e.callerArn
    ? member('accessKeyId', e.accessKeyId) + member('accountId', accountId) + member('arn', e.callerArn) + member('principalId', e.accessKeyId) +
      ',"type":"IAMUser"' + member('userName', e.userName ?? null)
    : member('accessKeyId', e.accessKeyId) + ',"type":"Unknown"';
  const resources = `[${resourceArns(e)
    .map((arn) => `{"ARN":${canonicalJson(arn)},"accountId":${canonicalJson(arn.split(':')[4] ?? accountId)},"type":"AWS::KMS::Key"}`)
    .join(',')}]`;
  return (
    `{"awsRegion":${canonicalJson(e.region ?? null)}` +
    (e.errorCode ? member('errorCode', e.errorCode) + member('errorMessage', e.errorMessage ? clip(e.errorMessage, MAX_MESSAGE) : null) : '') +
    ',"eventCategory":"Management"' +
    member('eventID', e.id) +
    member('eventName', e.operation) +
    ',"eventSource":"kms.amazonaws.com"' +
    `,"eventTime":${canonicalJson(cloudTrailTime(e.time))}` +
    ',"eventType":"AwsApiCall","eventVersion":"1.08","managementEvent":true' +
    `,"readOnly":${READ_ONLY.test(e.operation)}` +
    `,"recipientAccountId":${canonicalJson(accountId)}` +
    member('requestID', e.requestId) +
    `,"requestParameters":${canonicalJson(e.requestParameters ?? null)}` +
    `,"resources":${resources}` +
    `,"responseElements":${success && e.keyArn ? `{"keyId":${canonicalJson(e.keyArn)}}` : 'null'}` +
    member('sourceIPAddress', e.sourceIp) +
    member('userAgent', e.userAgent) +
    `,"userIdentity":{${identity.slice(1)}}}`
  );
}
