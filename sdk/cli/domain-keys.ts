// `coffer domain-keys ...`: the domain keys wrapped key material lives under (CofferAdmin.*; system account only).
import { subject } from './args.js';
import type { Group } from './command.js';
import { listView, objectView } from './output.js';

export const domainKeys: Group = {
  list: {
    summary: 'list the domain keys with their state and how many key versions each wraps',
    usage: '',
    async run({ client }) {
      const r = await client().admin.describeDomainKeys();
      return listView(r, r.DomainKeys, ['DomainKeyId', 'State', 'KeyVersionCount']);
    },
  },
  rotate: {
    summary: 'make a new active domain key; the others retire and their key versions are rewrapped in the background',
    usage: '',
    async run({ client }) {
      const r = await client().admin.rotateDomainKey();
      return objectView(r, { DomainKeyId: r.DomainKeyId, RetiredDomainKeyIds: r.RetiredDomainKeyIds.join(' ') });
    },
  },
  destroy: {
    summary: 'destroy a retired domain key no key version is wrapped under (database backups taken before stop restoring)',
    usage: 'DOMAIN_KEY_ID',
    async run({ p, client }) {
      const r = await client().admin.destroyDomainKey({ DomainKeyId: subject(p, 0, 'domain key id') });
      return objectView(r, { DomainKeyId: r.DomainKeyId });
    },
  },
};
