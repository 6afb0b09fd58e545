// `coffer iam ...`: users, access keys and inline policies, with AWS IAM's shapes under the target prefix CofferIdentity.
import { readFileSync } from 'node:fs';
import { required, str } from './args.js';
import type { Group } from './command.js';
import { emptyView, objectView } from './output.js';

export const iam: Group = {
  'create-user': {
    summary: 'create a user (CreateUser)',
    usage: '--user-name NAME',
    flags: { 'user-name': 'string' },
    async run({ p, client }) {
      const r = await client().identity.createUser({ UserName: required(p, 'user-name') });
      return objectView(r, r.User);
    },
  },
  'get-user': {
    summary: "a user with its unique id, the caller's own without --user-name (GetUser)",
    usage: '[--user-name NAME]',
    flags: { 'user-name': 'string' },
    async run({ p, client }) {
      const UserName = str(p, 'user-name');
      const r = await client().identity.getUser(UserName === undefined ? {} : { UserName });
      return objectView(r, r.User);
    },
  },
  'create-access-key': {
    summary: 'create an access key for a user (CreateAccessKey); the secret is shown once',
    usage: '--user-name NAME',
    flags: { 'user-name': 'string' },
    async run({ p, client }) {
      const r = await client().identity.createAccessKey({ UserName: required(p, 'user-name') });
      return objectView(r, r.AccessKey);
    },
  },
  'put-user-policy': {
    summary: "set a user's inline policy (PutUserPolicy); the document is a file or JSON text",
    usage: '--user-name NAME --policy-name NAME --policy-document FILE|JSON',
    flags: { 'user-name': 'string', 'policy-name': 'string', 'policy-document': 'string' },
    async run({ p, client }) {
      const doc = required(p, 'policy-document');
      const PolicyDocument = doc.trimStart().startsWith('{') ? doc : readFileSync(doc.replace(/^file:\/\//, ''), 'utf8');
      await client().identity.putUserPolicy({ UserName: required(p, 'user-name'), PolicyName: required(p, 'policy-name'), PolicyDocument });
      return emptyView();
    },
  },
};
