// Thin handlers for CofferAdmin.*: the domain keys of the wrapped key store (core/services/domain-keys.ts).
import type { RequestContext, ServiceDeps } from '../../core/services/context.js';
import { describeDomainKeys, destroyDomainKey, rotateDomainKey } from '../../core/services/domain-keys.js';
import type { AdminOperation, AdminRequest } from '../../sdk/contract/admin.js';
import { epoch } from './shape.js';

type Handler<O extends AdminOperation> = (deps: ServiceDeps, ctx: RequestContext, input: AdminRequest<O>) => Promise<object>;

export const adminHandlers: { [O in AdminOperation]: Handler<O> } = {
  DescribeDomainKeys: async (d, c) => {
    const { wrapped, keys } = await describeDomainKeys(d, c);
    return {
      KeyStore: wrapped ? 'WRAPPED' : 'TOKEN',
      DomainKeys: keys.map((k) => ({ DomainKeyId: k.id, State: k.state, KeyVersionCount: k.keyVersions, ...(k.createdAt ? { CreationDate: epoch(k.createdAt) } : {}) })),
    };
  },
  RotateDomainKey: async (d, c) => {
    const r = await rotateDomainKey(d, c);
    return { DomainKeyId: r.active, RetiredDomainKeyIds: r.retired };
  },
  DestroyDomainKey: async (d, c, i) => {
    await destroyDomainKey(d, c, i.DomainKeyId);
    return { DomainKeyId: i.DomainKeyId };
  },
};
