// CofferAdmin.*DomainKey*: the domain keys wrapped key material lives under (COFFER_KEY_STORE=wrapped). They span
// every account, so only principals of the system account may see or change them (their policies still apply).
// The work happens in the token and in the adapter's own store, not in a unit of work: each request's event is
// recorded once it is done, success or failure.
import { KmsError } from '../errors.js';
import type { DomainKeys, DomainKeyStatus } from '../ports.js';
import { auditedRead } from './audited.js';
import { authorize, systemAccountOnly, type RequestContext, type ServiceDeps } from './context.js';

/** Blobs a rewrap run handles per batch (each batch one query, then one swap per blob). */
export const REWRAP_BATCH = 100;

const systemCaller = (deps: ServiceDeps, ctx: RequestContext, action: string) => systemAccountOnly(deps, ctx, action, "domain keys protect every account's keys");

function wrappedStore(deps: ServiceDeps): DomainKeys {
  const dk = deps.hsm.domainKeys;
  if (dk === null) throw new KmsError('UnsupportedOperationException', 'Domain keys exist only when key material is wrapped (COFFER_KEY_STORE=wrapped); this server keeps each key version as a token object.');
  return dk;
}

export async function describeDomainKeys(deps: ServiceDeps, ctx: RequestContext): Promise<{ wrapped: boolean; keys: DomainKeyStatus[] }> {
  return auditedRead(deps, ctx, async (repos) => {
    systemCaller(deps, ctx, 'coffer:DescribeDomainKeys');
    await authorize(deps, repos, ctx, 'coffer:DescribeDomainKeys', null);
    const dk = deps.hsm.domainKeys;
    return { wrapped: dk !== null, keys: dk === null ? [] : await dk.describe() };
  });
}

/** A new active domain key; the blobs under the retired ones are rewrapped by the background job (`rewrapDomainKeys`). */
export async function rotateDomainKey(deps: ServiceDeps, ctx: RequestContext): Promise<{ active: string; retired: string[] }> {
  return auditedRead(deps, ctx, async (repos) => {
    systemCaller(deps, ctx, 'coffer:RotateDomainKey');
    await authorize(deps, repos, ctx, 'coffer:RotateDomainKey', null);
    return wrappedStore(deps).rotate();
  }).then((r) => {
    deps.domainKeyRotated?.();
    return r;
  });
}

export async function destroyDomainKey(deps: ServiceDeps, ctx: RequestContext, id: string): Promise<void> {
  await auditedRead(deps, ctx, async (repos) => {
    systemCaller(deps, ctx, 'coffer:DestroyDomainKey');
    await authorize(deps, repos, ctx, 'coffer:DestroyDomainKey', null);
    await wrappedStore(deps).destroy(id);
  });
}

/**
 * The background job's rotation (COFFER_DOMAIN_KEY_ROTATION_DAYS): rotates when the active domain key is at least
 * `periodDays` old, audited as RotateDomainKey by the job. Returns whether it rotated.
 */
export async function rotateDueDomainKey(deps: ServiceDeps, dk: DomainKeys, periodDays: number): Promise<boolean> {
  if (!(periodDays > 0)) return false;
  const [active] = await dk.describe();
  const now = deps.clock.now();
  if (active?.state !== 'ACTIVE' || active.createdAt === null || now.getTime() - active.createdAt.getTime() < periodDays * DAY_MS) return false;
  await dk.rotate();
  const time = deps.clock.now();
  await deps.uow.repos.audit.append({
    id: deps.newEventId(time), time, requestId: deps.newId(), operation: 'RotateDomainKey', keyArn: null, callerArn: null,
    accessKeyId: null, sourceIp: null, userAgent: 'coffer-domain-key-job', outcome: 'Success', errorCode: null, encryptionContextKeys: [],
  });
  return true;
}

const DAY_MS = 86_400_000;

/**
 * The background job: rewraps every blob not under the active domain key, a batch at a time, up to `max` of them in
 * one run. Returns how many it rewrapped; blobs it could not unwrap are left and counted in `failed`.
 */
export async function rewrapDomainKeys(dk: DomainKeys, max: number): Promise<{ rewrapped: number; failed: number }> {
  let rewrapped = 0;
  let failed = 0;
  let after: string | null = null;
  do {
    const batch = await dk.rewrap(Math.min(REWRAP_BATCH, max - rewrapped - failed), after);
    rewrapped += batch.rewrapped;
    failed += batch.failed;
    after = batch.last;
  } while (after !== null && rewrapped + failed < max);
  return { rewrapped, failed };
}
