// Thin handlers for key policies and grants: validated input in, a core service called, the AWS shape out.
import type { Grant } from '../../core/identity-model.js';
import { keyArn } from '../../core/identifiers.js';
import type { RequestContext, ServiceDeps } from '../../core/services/context.js';
import { createGrant, listGrants, listRetirableGrants, retireGrant, revokeGrant } from '../../core/services/grants.js';
import { getKeyPolicy, listKeyPolicies, putKeyPolicy } from '../../core/services/key-policies.js';
import type { KmsAccessOperation, KmsAccessRequest } from '../../sdk/contract/kms-access.js';
import { epoch, pageOf } from './shape.js';

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

export const kmsAccessHandlers: KmsAccessHandlers = {
  PutKeyPolicy: async (d, c, i) => (await putKeyPolicy(d, c, i), {}),
  GetKeyPolicy: async (d, c, i) => ({ Policy: await getKeyPolicy(d, c, i.KeyId, i.PolicyName), PolicyName: i.PolicyName ?? 'default' }),
  ListKeyPolicies: async (d, c, i) => ({ PolicyNames: await listKeyPolicies(d, c, i.KeyId), Truncated: false }),
  CreateGrant: async (d, c, i) => {
    const g = await createGrant(d, c, i);
    return { GrantToken: g.token, GrantId: g.grantId };
  },
  ListGrants: async (d, c, i) => pageOf((await listGrants(d, c, i)).grants, i.Limit ?? 50, i.Marker, 'Grants', (g) => grantEntry(d, g)),
  ListRetirableGrants: async (d, c, i) => pageOf(await listRetirableGrants(d, c, i.RetiringPrincipal), i.Limit ?? 50, i.Marker, 'Grants', (g) => grantEntry(d, g)),
  RetireGrant: async (d, c, i) => (await retireGrant(d, c, i), {}),
  RevokeGrant: async (d, c, i) => (await revokeGrant(d, c, i), {}),
};
