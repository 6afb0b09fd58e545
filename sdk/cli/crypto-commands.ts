// `coffer grants ...`, `coffer sign|verify` and `coffer random`, against AWS's operation names and shapes.
import { readFileSync, writeFileSync } from 'node:fs';
import { int, list, pairs, required, str } from './args.js';
import { allPages, type Group } from './command.js';
import { UsageError } from './io.js';
import { emptyView, listView, objectView } from './output.js';

const csv = (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean);

export const grants: Group = {
  create: {
    summary: 'create a grant (CreateGrant)',
    usage: '--key KEY --grantee-principal ARN --operations Encrypt,Decrypt,... [--retiring-principal ARN] [--name NAME] [--context-subset K=V]... [--context-equals K=V]...',
    flags: { key: 'string', 'grantee-principal': 'string', operations: 'string', 'retiring-principal': 'string', name: 'string', 'context-subset': 'list', 'context-equals': 'list' },
    async run({ p, client }) {
      const subset = list(p, 'context-subset');
      const equals = list(p, 'context-equals');
      const constraints = {
        ...(subset.length ? { EncryptionContextSubset: pairs(subset, 'context-subset') } : {}),
        ...(equals.length ? { EncryptionContextEquals: pairs(equals, 'context-equals') } : {}),
      };
      const r = await client().createGrant({
        KeyId: required(p, 'key'), GranteePrincipal: required(p, 'grantee-principal'), Operations: csv(required(p, 'operations')),
        RetiringPrincipal: str(p, 'retiring-principal'), Name: str(p, 'name'),
        ...(Object.keys(constraints).length ? { Constraints: constraints } : {}),
      });
      return objectView(r, r);
    },
  },
  list: {
    summary: 'list the grants of a key (ListGrants)',
    usage: '--key KEY [--limit N]',
    flags: { key: 'string', limit: 'string' },
    async run({ p, client }) {
      const limit = int(p, 'limit', 1, 100);
      const items = await allPages(async (Marker) => {
        const r = await client().listGrants({ KeyId: required(p, 'key'), Limit: limit, Marker });
        return { items: r.Grants ?? [], next: r.NextMarker, truncated: r.Truncated };
      }, limit !== undefined);
      return listView({ Grants: items }, items, ['GrantId', 'Name', 'GranteePrincipal', 'Operations', 'CreationDate']);
    },
  },
  revoke: {
    summary: 'revoke a grant (RevokeGrant)',
    usage: '--key KEY --grant-id ID',
    flags: { key: 'string', 'grant-id': 'string' },
    run: async ({ p, client }) => (await client().revokeGrant({ KeyId: required(p, 'key'), GrantId: required(p, 'grant-id') }), emptyView()),
  },
  retire: {
    summary: 'retire a grant (RetireGrant) by token, or by key and grant id',
    usage: '--grant-token TOKEN | --key KEY --grant-id ID',
    flags: { key: 'string', 'grant-id': 'string', 'grant-token': 'string' },
    async run({ p, client }) {
      const token = str(p, 'grant-token');
      const body = token ? { GrantToken: token } : { KeyId: required(p, 'key'), GrantId: required(p, 'grant-id') };
      await client().retireGrant(body);
      return emptyView();
    },
  },
};

function message(p: Parameters<Group[string]['run']>[0]['p']): { Message: Uint8Array; MessageType: string } {
  const file = str(p, 'in');
  const text = str(p, 'message');
  if ((file === undefined) === (text === undefined)) throw new UsageError('give exactly one of --in FILE or --message TEXT');
  const Message = file !== undefined ? readFileSync(file) : Buffer.from(text as string, 'utf8');
  return { Message, MessageType: str(p, 'message-type') ?? 'RAW' };
}

const SIGN_FLAGS = { key: 'string', algorithm: 'string', in: 'string', message: 'string', 'message-type': 'string' } as const;

/** Top-level commands: sign, verify, random. */
export const topLevel: Group = {
  sign: {
    summary: 'sign a message with an asymmetric key (Sign); the signature goes to --out or to stdout as base64',
    usage: '--key KEY --algorithm ALG (--in FILE | --message TEXT) [--message-type RAW|DIGEST] [--out FILE]',
    flags: { ...SIGN_FLAGS, out: 'string' },
    async run({ p, client }) {
      const r = await client().sign({ KeyId: required(p, 'key'), SigningAlgorithm: required(p, 'algorithm'), ...message(p) });
      const out = str(p, 'out');
      if (out && r.Signature) writeFileSync(out, r.Signature);
      return objectView(r, { KeyId: r.KeyId, SigningAlgorithm: r.SigningAlgorithm, Signature: out ? `written to ${out}` : r.Signature });
    },
  },
  verify: {
    summary: 'verify a signature (Verify); an invalid signature is KMSInvalidSignatureException, exit 1',
    usage: '--key KEY --algorithm ALG (--in FILE | --message TEXT) --signature FILE [--message-type RAW|DIGEST]',
    flags: { ...SIGN_FLAGS, signature: 'string' },
    async run({ p, client }) {
      const Signature = readFileSync(required(p, 'signature'));
      const r = await client().verify({ KeyId: required(p, 'key'), SigningAlgorithm: required(p, 'algorithm'), Signature, ...message(p) });
      return objectView(r, r);
    },
  },
  random: {
    summary: 'random bytes from the HSM (GenerateRandom): base64 on stdout, or raw bytes to --out',
    usage: '[--bytes N (1-1024, default 32)] [--out FILE]',
    flags: { bytes: 'string', out: 'string' },
    async run({ p, client }) {
      const r = await client().generateRandom({ NumberOfBytes: int(p, 'bytes', 1, 1024) ?? 32 });
      const out = str(p, 'out');
      if (out) {
        writeFileSync(out, r.Plaintext ?? new Uint8Array());
        return { json: { Bytes: r.Plaintext?.length ?? 0, Out: out }, text: '' };
      }
      return { json: r, text: `${Buffer.from(r.Plaintext ?? []).toString('base64')}\n` };
    },
  },
};
