// `coffer iam ...`: users, access keys and inline policies, with AWS IAM's shapes under the target prefix CofferIdentity.
import { readFileSync } from 'node:fs';
import { list, pairs, required, str } from './args.js';
import { allPages, type Group } from './command.js';
import { emptyView, listView, objectView } from './output.js';

export const iam: Group = {
  'create-user': {
    summary: 'create a user (CreateUser), with tags if given',
    usage: '--user-name NAME [--tag KEY=VALUE ...]',
    flags: { 'user-name': 'string', tag: 'list' },
    async run({ p, client }) {
      const Tags = userTags(list(p, 'tag'));
      const r = await client().identity.createUser({ UserName: required(p, 'user-name'), ...(Tags.length > 0 ? { Tags } : {}) });
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
  'tag-user': {
    summary: "tag a user (TagUser): its requests' aws:PrincipalTag/<key>",
    usage: '--user-name NAME --tag KEY=VALUE [--tag KEY=VALUE ...]',
    flags: { 'user-name': 'string', tag: 'list' },
    async run({ p, client }) {
      const Tags = userTags(list(p, 'tag'));
      await client().identity.tagUser({ UserName: required(p, 'user-name'), Tags });
      return emptyView();
    },
  },
  'untag-user': {
    summary: "remove a user's tags (UntagUser)",
    usage: '--user-name NAME --tag-key KEY [--tag-key KEY ...]',
    flags: { 'user-name': 'string', 'tag-key': 'list' },
    run: async ({ p, client }) => (await client().identity.untagUser({ UserName: required(p, 'user-name'), TagKeys: list(p, 'tag-key') }), emptyView()),
  },
  'list-user-tags': {
    summary: "a user's tags (ListUserTags)",
    usage: '--user-name NAME',
    flags: { 'user-name': 'string' },
    async run({ p, client }) {
      const items = await allPages(async (Marker) => {
        const r = await client().identity.listUserTags({ UserName: required(p, 'user-name'), Marker });
        return { items: r.Tags, next: r.Marker, truncated: r.IsTruncated };
      }, false);
      return listView({ Tags: items }, items, ['Key', 'Value']);
    },
  },
};

/** `--tag KEY=VALUE` flags as IAM's tag list. */
function userTags(flags: string[]): Array<{ Key: string; Value: string }> {
  return Object.entries(pairs(flags, 'tag')).map(([Key, Value]) => ({ Key, Value }));
}
