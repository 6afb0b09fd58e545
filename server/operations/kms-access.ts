// Thin handlers for key policies and grants: validated input in, a core service called, the AWS shape out.
import type { Grant } from '../../core/identity-model.js';
import { keyArn } from '../../core/identifiers.js';
import type { RequestContext, ServiceDeps } from '../../core/services/context.js';
import { createGrant, listGrants, listRetirableGrants, retireGrant, revokeGrant } from '../../core/services/grants.js';
import { getKeyPolicy, listKeyPolicies, putKeyPolicy } from '../../core/services/key-policies.js';
import type { KmsAccessOperation, KmsAccessRequest } from '../../sdk/contract/kms-access.js';
import { epoch } from './shape.js';

type Handler<O extends KmsAccessOperation> = (deps: ServiceDeps, ctx: RequestContext, input: KmsAccessRequest<O>) => Promise<object>;
export type KmsAccessHandlers = { [O in KmsAccessOperation]: Handler<O> };

function grantEntry(deps: ServiceDeps, g: Grant) {
  return {
    KeyId: keyArn({ region: deps.region, accountId: g.keyAccountId }, g.keyId),
    GrantId: g.grantId,
    ...(g.name !== null ? { Name: g.name } : {}),
    CreationDate: epoch(g.createdAt),
    GranteePrincipal: g.granteePrincipal,
    ...(g.retiringPrincipal !== null ? { RetiringPrincipal: g.retiringPrincipal } : {}),
    IssuingAccount: `arn:aws:iam::${g.issuingAccount}:root`,
    Operations: g.operations,
    ...(g.constraints !== null ? { Constraints: g.constraints } : {}),
  };
}

/** In-memory pages over a short list; the marker is the index of the next item. */
function page<T>(items: T[], limit: number | undefined, marker: string | undefined, member: string, map: (t: T) => unknown) {
  const start = marker === undefined ? 0 : Number(marker);
  const from = Number.isInteger(start) && start >= 0 ? start : 0;
  const end = from + (limit ?? 50);
  const truncated = end < items.length;
  return { [member]: items.slice(from, end).map(map), Truncated: truncated, ...(truncated ? { NextMarker: String(end) } : {}) };
}

export const kmsAccessHandlers: KmsAccessHandlers = {
  PutKeyPolicy: async (d, c, i) => (await putKeyPolicy(d, c, i), {}),
  GetKeyPolicy: async (d, c, i) => ({ Policy: await getKeyPolicy(d, c, i.KeyId, i.PolicyName), PolicyName: i.PolicyName ?? 'default' }),
  ListKeyPolicies: async (d, c, i) => ({ PolicyNames: await listKeyPolicies(d, c, i.KeyId), Truncated: false }),
  CreateGrant: async (d, c, i) => {
    const g = await createGrant(d, c, i);
    return { GrantToken: g.token, GrantId: g.grantId };
  },
  ListGrants: async (d, c, i) => page((await listGrants(d, c, i)).grants, i.Limit, i.Marker, 'Grants', (g) => grantEntry(d, g)),
  ListRetirableGrants: async (d, c, i) => page(await listRetirableGrants(d, c, i.RetiringPrincipal), i.Limit, i.Marker, 'Grants', (g) => grantEntry(d, g)),
  RetireGrant: async (d, c, i) => (await retireGrant(d, c, i), {}),
  RevokeGrant: async (d, c, i) => (await revokeGrant(d, c, i), {}),
};
