// Audit test helpers: services over a fresh Postgres database and a SoftHSM token, events appended through the
// real runner, the `coffer audit` CLI run in-process, and signed calls to CofferAudit.* operations.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { ownerOnlyAuthorizer } from '../../core/authorization.js';
import { eventIdsFrom } from '../../core/event-id.js';
import { systemClock, type Clock } from '../../core/ports.js';
import { audited, auditedRead } from '../../core/services/audited.js';
import type { RequestContext, ServiceDeps } from '../../core/services/context.js';
import { DrizzleUnitOfWork, type UnitOfWorkTuning } from '../../db/index.js';
import { ensureDevToken, openHsm, type Pkcs11Hsm } from '../../hsm/index.js';
import { runAudit } from '../../sdk/cli/audit.js';
import { ADMIN, REGION } from './server.js';

export async function openTestToken(): Promise<Pkcs11Hsm> {
  const dataDir = mkdtempSync(join(tmpdir(), 'coffer-audit-hsm-'));
  const token = await ensureDevToken({ dataDir, label: `coffer-audit-${randomUUID().slice(0, 8)}` });
  return openHsm({ ...token, poolSize: 3 });
}

export async function servicesOver(url: string, hsm: Pkcs11Hsm, clock: Clock = systemClock, tuning: UnitOfWorkTuning = {}): Promise<ServiceDeps & { uow: DrizzleUnitOfWork }> {
  const uow = await DrizzleUnitOfWork.open({ url }, tuning);
  return { uow, hsm, clock, authorizer: ownerOnlyAuthorizer, region: REGION, newId: randomUUID, newEventId: eventIdsFrom(randomBytes) };
}

export function adminContext(operation = 'ListKeys'): RequestContext {
  return {
    requestId: randomUUID(),
    operation,
    caller: { arn: 'arn:aws:iam::111122223333:user/admin', accountId: '111122223333', userName: 'admin', accessKeyId: ADMIN.accessKeyId },
    sourceIp: '127.0.0.1',
    userAgent: 'audit-test',
    requestParameters: { keyId: 'alias/test' },
    audit: { recorded: false },
  };
}

/**
 * Appends `n` events through the real runners, `concurrency` at a time: with `mixed`, every other one as a request
 * that changes no state (group commit, auditedRead), the others in a unit of work as a state change does (audited).
 */
export async function appendEvents(deps: ServiceDeps, n: number, concurrency = 1, mixed = false): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next += 1;
      const runner = mixed && next % 2 === 0 ? auditedRead : audited;
      await runner(deps, adminContext(), async () => null);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/** Runs `coffer audit ...` in-process; returns the exit code and what it printed. */
export async function audit(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runAudit(argv, { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) }, env: {} });
  return { code, stdout, stderr };
}

/** A SigV4-signed AWS JSON 1.1 call to the server (for targets the AWS SDK has no client for). */
export async function call(serverUrl: string, target: string, body: object = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const url = new URL(serverUrl);
  const headers = { host: url.host, 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': target };
  const signer = new SignatureV4({ service: 'kms', region: REGION, credentials: ADMIN, sha256: Sha256 });
  const text = JSON.stringify(body);
  const signed = await signer.sign({ method: 'POST', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: '/', headers, body: text });
  const { host: _host, ...sendable } = signed.headers as Record<string, string>;
  const res = await fetch(serverUrl, { method: 'POST', headers: sendable, body: text });
  const out = await res.text();
  return { status: res.status, body: out ? (JSON.parse(out) as Record<string, unknown>) : {} };
}
