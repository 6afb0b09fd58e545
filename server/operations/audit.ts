// Thin handlers for CofferAudit.*: LookupEvents in CloudTrail's shape, the audit-signing public key, checkpoints.
import type { ChainedEvent } from '../../core/audit-chain.js';
import { auditChainForVerification, auditPublicKey, checkpointNow, lookupEvents } from '../../core/services/audit-trail.js';
import type { RequestContext, ServiceDeps } from '../../core/services/context.js';
import type { AuditOperation, AuditRequest } from '../../sdk/contract/audit.js';
import { describeReport, verifyChain } from '../../sdk/audit/verify.js';
import { b64, epoch } from './shape.js';

type Handler<O extends AuditOperation> = (deps: ServiceDeps, ctx: RequestContext, input: AuditRequest<O>) => Promise<object>;

const fromEpoch = (s: number | undefined) => (s === undefined ? undefined : new Date(s * 1000));

/** CloudTrail's LookupEvents entry for one stored record. */
function lookupEntry(e: ChainedEvent) {
  const r = JSON.parse(e.record) as {
    eventID: string; eventName: string; readOnly: boolean; eventTime: string; eventSource: string;
    userIdentity?: { accessKeyId?: string | null; userName?: string | null };
    resources?: { type: string; ARN: string }[];
  };
  return {
    EventId: r.eventID,
    EventName: r.eventName,
    ReadOnly: String(r.readOnly),
    ...(r.userIdentity?.accessKeyId ? { AccessKeyId: r.userIdentity.accessKeyId } : {}),
    EventTime: epoch(new Date(r.eventTime)),
    EventSource: r.eventSource,
    ...(r.userIdentity?.userName ? { Username: r.userIdentity.userName } : {}),
    Resources: (r.resources ?? []).map((x) => ({ ResourceType: x.type, ResourceName: x.ARN })),
    CloudTrailEvent: e.record,
  };
}

export const auditHandlers: { [O in AuditOperation]: Handler<O> } = {
  LookupEvents: async (d, c, i) => {
    const attributes = (i.LookupAttributes ?? []).map((a) => ({ key: a.AttributeKey, value: a.AttributeValue }));
    const page = await lookupEvents(d, c, { attributes, start: fromEpoch(i.StartTime), end: fromEpoch(i.EndTime), maxResults: i.MaxResults ?? 50, nextToken: i.NextToken });
    return { Events: page.events.map(lookupEntry), ...(page.next ? { NextToken: page.next } : {}) };
  },
  GetPublicKey: async (d, c) => {
    const spki = await auditPublicKey(d, c);
    return { PublicKey: b64(spki), KeySpec: 'ECC_NIST_P256', SigningAlgorithms: ['ECDSA_SHA_256'], KeyUsage: 'SIGN_VERIFY' };
  },
  CreateCheckpoint: async (d, c) => {
    const cp = await checkpointNow(d, c);
    return { ChainSeq: cp.chainSeq, Hash: cp.hash, Time: cp.time.toISOString(), Signature: cp.signature, PublicKey: cp.publicKey };
  },
  VerifyChain: async (d, c) => {
    const { base, events, checkpoint } = await auditChainForVerification(d, c);
    const checkpoints = checkpoint ? [{ ...checkpoint, time: checkpoint.time.toISOString() }] : [];
    const r = await verifyChain(events, checkpoints, { base });
    return {
      Valid: r.ok,
      EventCount: r.events,
      ...(r.firstSeq !== null ? { FirstSeq: r.firstSeq } : {}),
      ...(r.lastSeq !== null ? { LastSeq: r.lastSeq } : {}),
      CheckpointsVerified: r.checkpoints,
      ...(r.broken ? { BrokenLink: { ChainSeq: r.broken.chainSeq, ...(r.broken.eventId ? { EventId: r.broken.eventId } : {}), Reason: r.broken.reason } } : {}),
      Summary: describeReport(r),
    };
  },
};
