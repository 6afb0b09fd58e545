// Use cases over the audit trail itself: LookupEvents, the audit-signing public key, and signed checkpoints.
import { checkpointDigest, type ChainedEvent, type Checkpoint } from '../audit-chain.js';
import { KmsError } from '../errors.js';
import { keyArn } from '../identifiers.js';
import type { AuditLookupFilter } from '../ports.js';
import { audited, auditedRead } from './audited.js';
import { authorize, scopeOf, systemAccountOnly, type RequestContext, type ServiceDeps } from './context.js';

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

/**
 * Signs the chain head with the token's audit-signing key and stores the checkpoint; null when the head is
 * already checkpointed (or the chain is empty) and `force` is false.
 */
export async function createCheckpoint(deps: ServiceDeps, force = false): Promise<Checkpoint | null> {
  const audit = deps.uow.repos.audit;
  const head = await audit.head();
  if (head.seq === 0) return null;
  const last = await audit.lastCheckpoint();
  if (!force && last && last.chainSeq >= head.seq) return null;
  const time = deps.clock.now();
  const signature = await deps.hsm.signAuditDigest(checkpointDigest(head.seq, head.hash, time));
  const checkpoint: Checkpoint = { chainSeq: head.seq, hash: head.hash, time, signature: b64(signature), publicKey: b64(await deps.hsm.auditPublicKey()) };
  await audit.insertCheckpoint(checkpoint);
  return checkpoint;
}

export interface LookupInput {
  attributes: { key: 'EventId' | 'EventName' | 'Username' | 'ResourceName' | 'AccessKeyId'; value: string }[];
  start?: Date | undefined;
  end?: Date | undefined;
  maxResults: number;
  nextToken?: string | undefined;
}

const TOKEN = /^c([1-9][0-9]{0,17})$/;

function parseToken(token: string | undefined): number | null {
  if (token === undefined) return null;
  const m = TOKEN.exec(Buffer.from(token, 'base64url').toString('latin1'));
  if (!m) throw new KmsError('ValidationException', 'The NextToken is not valid.');
  return Number(m[1]);
}

const tokenOf = (seq: number) => Buffer.from(`c${seq}`, 'latin1').toString('base64url');

/** The filter: always the caller's own account; one value per attribute key. */
function filterOf(deps: ServiceDeps, ctx: RequestContext, input: LookupInput): AuditLookupFilter {
  const scope = scopeOf(deps, ctx);
  const f: AuditLookupFilter = { accountId: ctx.caller.accountId, start: input.start, end: input.end };
  for (const { key, value } of input.attributes) {
    if (key === 'EventId') f.eventId = value;
    else if (key === 'EventName') f.eventName = value;
    else if (key === 'AccessKeyId') f.accessKeyId = value;
    else if (key === 'Username') f.callerArn = value.startsWith('arn:') ? value : `arn:aws:iam::${scope.accountId}:user/${value}`;
    else f.keyArn = value.startsWith('arn:') ? value : keyArn(scope, value);
  }
  return f;
}

/** Events of the caller's account, newest first (no policy engine yet: any caller of the account may read them). */
export function lookupEvents(deps: ServiceDeps, ctx: RequestContext, input: LookupInput): Promise<{ events: ChainedEvent[]; next: string | null }> {
  return auditedRead(deps, ctx, async (repos) => {
    await authorize(deps, repos, ctx, 'coffer:LookupEvents', null);
    if (input.start && input.end && input.start > input.end) throw new KmsError('ValidationException', 'StartTime must not be after EndTime.');
    const rows = await repos.audit.lookup(filterOf(deps, ctx, input), input.maxResults + 1, parseToken(input.nextToken));
    const events = rows.slice(0, input.maxResults);
    const last = events[events.length - 1];
    return { events, next: rows.length > input.maxResults && last ? tokenOf(last.chainSeq) : null };
  });
}

export function auditPublicKey(deps: ServiceDeps, ctx: RequestContext): Promise<Uint8Array> {
  return auditedRead(deps, ctx, async (repos) => {
    await authorize(deps, repos, ctx, 'coffer:GetAuditPublicKey', null);
    return deps.hsm.auditPublicKey();
  });
}

/** The whole chain from its base and the last checkpoint, handed to an independent verifier (CofferAudit.VerifyChain). */
export async function auditChainForVerification(
  deps: ServiceDeps,
  ctx: RequestContext,
): Promise<{ base: { seq: number; hash: string }; events: AsyncIterable<ChainedEvent>; checkpoint: Checkpoint | null }> {
  await audited(deps, ctx, async (repos) => {
    wholeChainCaller(deps, ctx, 'coffer:VerifyAuditChain');
    await authorize(deps, repos, ctx, 'coffer:VerifyAuditChain', null);
  });
  const audit = deps.uow.repos.audit;
  const head = await audit.head();
  const checkpoint = await audit.lastCheckpoint();
  async function* events(): AsyncIterable<ChainedEvent> {
    for (let after = head.baseSeq; ; ) {
      const page = await audit.chain(after, VERIFY_PAGE);
      if (page.length === 0) return;
      yield* page;
      after = (page[page.length - 1] as ChainedEvent).chainSeq;
    }
  }
  return { base: { seq: head.baseSeq, hash: head.baseHash }, events: events(), checkpoint };
}

const VERIFY_PAGE = 1000;

/**
 * One chain holds every account's events, so its counts and head tell one tenant about the others' activity:
 * verifying it and checkpointing it are for principals of the system account only (their policies still apply).
 */
const wholeChainCaller = (deps: ServiceDeps, ctx: RequestContext, action: string) => systemAccountOnly(deps, ctx, action, 'the audit chain spans every account');

/** On demand (administrators, tests): the checkpoint is made after this request's own event commits. */
export async function checkpointNow(deps: ServiceDeps, ctx: RequestContext): Promise<Checkpoint> {
  await audited(deps, ctx, async (repos) => {
    wholeChainCaller(deps, ctx, 'coffer:CreateCheckpoint');
    await authorize(deps, repos, ctx, 'coffer:CreateCheckpoint', null);
  });
  return (await createCheckpoint(deps, true)) as Checkpoint;
}
