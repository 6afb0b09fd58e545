// `coffer keys ...` and `coffer aliases ...`: key lifecycle and aliases over the KMS operations.
import { int, list, pairs, str, subject } from './args.js';
import { allPages, type Group } from './command.js';
import { emptyView, listView, objectView } from './output.js';
import type { KeyMetadata } from '../contract/responses.js';
import { readFileSync } from 'node:fs';
import { keyMaterialCommands } from './key-material.js';

const META_COLUMNS: (keyof KeyMetadata)[] = [
  'KeyId', 'Arn', 'Description', 'KeyState', 'Enabled', 'KeySpec', 'KeyUsage', 'Origin', 'CreationDate', 'DeletionDate',
];
const meta = (m: KeyMetadata | undefined) => Object.fromEntries(META_COLUMNS.map((c) => [c, m?.[c]]));

export const keys: Group = {
  create: {
    summary: 'create a KMS key',
    usage: '[--description TEXT] [--key-spec SPEC] [--key-usage USAGE] [--origin AWS_KMS|EXTERNAL] [--tag KEY=VALUE]... [--policy-file FILE]',
    flags: { description: 'string', 'key-spec': 'string', 'key-usage': 'string', origin: 'string', tag: 'list', 'policy-file': 'string' },
    async run({ p, client }) {
      const tags = Object.entries(pairs(list(p, 'tag'), 'tag')).map(([TagKey, TagValue]) => ({ TagKey, TagValue }));
      const policy = str(p, 'policy-file');
      const r = await client().createKey({
        Description: str(p, 'description'), KeySpec: str(p, 'key-spec'), KeyUsage: str(p, 'key-usage'), Origin: str(p, 'origin'),
        Tags: tags.length ? tags : undefined, Policy: policy ? readFileSync(policy, 'utf8') : undefined,
      });
      return objectView(r, meta(r.KeyMetadata));
    },
  },
  list: {
    summary: 'list keys (every page unless --limit)',
    usage: '[--limit N]',
    flags: { limit: 'string' },
    async run({ p, client }) {
      const limit = int(p, 'limit', 1, 1000);
      const items = await allPages(async (Marker) => {
        const r = await client().listKeys({ Limit: limit, Marker });
        return { items: r.Keys ?? [], next: r.NextMarker, truncated: r.Truncated };
      }, limit !== undefined);
      return listView({ Keys: items }, items, ['KeyId', 'KeyArn']);
    },
  },
  describe: {
    summary: 'show a key',
    usage: 'KEY',
    async run({ p, client }) {
      const r = await client().describeKey({ KeyId: subject(p, 0, 'key') });
      return objectView(r, meta(r.KeyMetadata));
    },
  },
  'last-usage': {
    summary: 'when a key was last used for a successful cryptographic operation (GetKeyLastUsage)',
    usage: 'KEY (key id or ARN)',
    async run({ p, client }) {
      const r = await client().getKeyLastUsage({ KeyId: subject(p, 0, 'key') });
      const u = r.KeyLastUsage ?? {};
      return objectView(r, {
        KeyId: r.KeyId, Operation: u.Operation, Timestamp: u.Timestamp, CloudTrailEventId: u.CloudTrailEventId, KmsRequestId: u.KmsRequestId,
        TrackingStartDate: r.TrackingStartDate, KeyCreationDate: r.KeyCreationDate,
      });
    },
  },
  enable: {
    summary: 'enable a key',
    usage: 'KEY',
    run: async ({ p, client }) => (await client().enableKey({ KeyId: subject(p, 0, 'key') }), emptyView()),
  },
  disable: {
    summary: 'disable a key',
    usage: 'KEY',
    run: async ({ p, client }) => (await client().disableKey({ KeyId: subject(p, 0, 'key') }), emptyView()),
  },
  'schedule-deletion': {
    summary: 'schedule a key for deletion after a waiting period (7-30 days, default 30)',
    usage: 'KEY [--days N]',
    flags: { days: 'string' },
    async run({ p, client }) {
      const r = await client().scheduleKeyDeletion({ KeyId: subject(p, 0, 'key'), PendingWindowInDays: int(p, 'days', 1, 365) });
      return objectView(r, r);
    },
  },
  'cancel-deletion': {
    summary: 'cancel a scheduled deletion (the key stays disabled)',
    usage: 'KEY',
    async run({ p, client }) {
      const r = await client().cancelKeyDeletion({ KeyId: subject(p, 0, 'key') });
      return objectView(r, r);
    },
  },
  rotate: {
    summary: 'rotate a key now (RotateKeyOnDemand)',
    usage: 'KEY',
    async run({ p, client }) {
      const r = await client().rotateKeyOnDemand({ KeyId: subject(p, 0, 'key') });
      return objectView(r, r);
    },
  },
  ...keyMaterialCommands,
};

export const aliases: Group = {
  create: {
    summary: 'create an alias for a key',
    usage: 'alias/NAME KEY',
    run: async ({ p, client }) => (await client().createAlias({ AliasName: subject(p, 0, 'alias'), TargetKeyId: subject(p, 1, 'key') }), emptyView()),
  },
  update: {
    summary: 'point an alias at another key',
    usage: 'alias/NAME KEY',
    run: async ({ p, client }) => (await client().updateAlias({ AliasName: subject(p, 0, 'alias'), TargetKeyId: subject(p, 1, 'key') }), emptyView()),
  },
  delete: {
    summary: 'delete an alias',
    usage: 'alias/NAME',
    run: async ({ p, client }) => (await client().deleteAlias({ AliasName: subject(p, 0, 'alias') }), emptyView()),
  },
  list: {
    summary: 'list aliases (of one key with --key)',
    usage: '[--key KEY] [--limit N]',
    flags: { key: 'string', limit: 'string' },
    async run({ p, client }) {
      const limit = int(p, 'limit', 1, 100);
      const items = await allPages(async (Marker) => {
        const r = await client().listAliases({ KeyId: str(p, 'key'), Limit: limit, Marker });
        return { items: r.Aliases ?? [], next: r.NextMarker, truncated: r.Truncated };
      }, limit !== undefined);
      return listView({ Aliases: items }, items, ['AliasName', 'TargetKeyId', 'CreationDate']);
    },
  },
};
