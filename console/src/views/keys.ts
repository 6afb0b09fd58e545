// The key list: every key of the account with state, spec, usage, aliases and creation date; filtered and paged here.
import type { Api } from '../api.js';
import { field, fmtDate, h, Notice, section, select } from '../dom.js';

export interface KeyMetadata {
  KeyId: string;
  Arn: string;
  KeyState: string;
  KeySpec: string;
  KeyUsage: string;
  CreationDate: number;
  Description?: string;
  Enabled?: boolean;
  DeletionDate?: number;
  PendingDeletionWindowInDays?: number;
  Origin?: string;
  KeyManager?: string;
  AWSAccountId?: string;
  EncryptionAlgorithms?: string[];
  SigningAlgorithms?: string[];
  MacAlgorithms?: string[];
}

export interface Alias {
  AliasName: string;
  AliasArn?: string;
  TargetKeyId?: string;
}

const PAGE_SIZE = 10;
/** The smallest of the List* operations' upper Limit (ListResourceTags: 50). */
const LIST_LIMIT = 50;

/** Every page of a List* operation, following Marker/NextMarker. */
export async function listAll<T>(api: Api, op: string, member: string, input: Record<string, unknown> = {}): Promise<T[]> {
  const out: T[] = [];
  let marker: string | undefined;
  do {
    const page = await api.kms<Record<string, unknown>>(op, { ...input, Limit: LIST_LIMIT, ...(marker ? { Marker: marker } : {}) });
    out.push(...((page[member] as T[] | undefined) ?? []));
    marker = page.Truncated ? (page.NextMarker as string) : undefined;
  } while (marker);
  return out;
}

interface Row {
  meta: KeyMetadata;
  aliases: string[];
}

async function loadRows(api: Api): Promise<Row[]> {
  const [keys, aliases] = await Promise.all([listAll<{ KeyId: string }>(api, 'ListKeys', 'Keys'), listAll<Alias>(api, 'ListAliases', 'Aliases')]);
  const metas = await Promise.all(keys.map((k) => api.kms<{ KeyMetadata: KeyMetadata }>('DescribeKey', { KeyId: k.KeyId })));
  return metas
    .map((m) => ({ meta: m.KeyMetadata, aliases: aliases.filter((a) => a.TargetKeyId === m.KeyMetadata.KeyId).map((a) => a.AliasName) }))
    .sort((a, b) => b.meta.CreationDate - a.meta.CreationDate);
}

export function keysView(main: HTMLElement, api: Api): void {
  const notice = new Notice();
  const text = h('input', { type: 'search', name: 'filter' });
  const state = select([['', 'Any'], ['Enabled', 'Enabled'], ['Disabled', 'Disabled'], ['PendingDeletion', 'Pending deletion'], ['PendingImport', 'Pending import']]);
  const usage = select([['', 'Any'], ['ENCRYPT_DECRYPT', 'Encrypt and decrypt'], ['SIGN_VERIFY', 'Sign and verify'], ['GENERATE_VERIFY_MAC', 'Generate and verify MAC'], ['KEY_AGREEMENT', 'Key agreement']]);
  const body = h('tbody');
  const pageInfo = h('span', { role: 'status' });
  const prev = h('button', { type: 'button' }, 'Previous page');
  const next = h('button', { type: 'button' }, 'Next page');
  let rows: Row[] = [];
  let page = 0;

  const visible = () => {
    const q = text.value.trim().toLowerCase();
    return rows.filter(
      (r) =>
        (!state.value || r.meta.KeyState === state.value) &&
        (!usage.value || r.meta.KeyUsage === usage.value) &&
        (!q || [r.meta.KeyId, r.meta.Description ?? '', ...r.aliases].some((s) => s.toLowerCase().includes(q))),
    );
  };
  const render = () => {
    const all = visible();
    const pages = Math.max(1, Math.ceil(all.length / PAGE_SIZE));
    page = Math.min(page, pages - 1);
    body.replaceChildren(
      ...all.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE).map((r) =>
        h(
          'tr',
          {},
          h('td', {}, h('a', { href: `#/keys/${encodeURIComponent(r.meta.KeyId)}` }, r.meta.KeyId)),
          h('td', {}, r.aliases.join(', ') || '—'),
          h('td', {}, r.meta.KeyState),
          h('td', {}, r.meta.KeySpec),
          h('td', {}, r.meta.KeyUsage),
          h('td', {}, fmtDate(r.meta.CreationDate)),
          h('td', {}, r.meta.Description || '—'),
        ),
      ),
    );
    if (all.length === 0) body.replaceChildren(h('tr', {}, h('td', { colspan: 7 }, rows.length ? 'No key matches the filter.' : 'No keys yet.')));
    pageInfo.textContent = `Page ${page + 1} of ${pages} (${all.length} ${all.length === 1 ? 'key' : 'keys'})`;
    prev.disabled = page === 0;
    next.disabled = page >= pages - 1;
  };
  for (const control of [text, state, usage]) control.addEventListener('input', () => ((page = 0), render()));
  prev.addEventListener('click', () => ((page -= 1), render()));
  next.addEventListener('click', () => ((page += 1), render()));

  main.replaceChildren(
    h('h1', {}, 'Keys'),
    h('p', {}, h('a', { href: '#/keys/new', class: 'button' }, 'Create key')),
    section(
      'Filter',
      h('div', { class: 'row' }, field('Search by key ID, alias or description', text), field('Key state', state), field('Key usage', usage)),
    ),
    notice.el,
    h(
      'table',
      {},
      h('caption', {}, 'Keys of this account'),
      h('thead', {}, h('tr', {}, ...['Key ID', 'Aliases', 'State', 'Spec', 'Usage', 'Created', 'Description'].map((c) => h('th', { scope: 'col' }, c)))),
      body,
    ),
    h('nav', { 'aria-label': 'Pages', class: 'pager' }, prev, pageInfo, next),
  );
  void notice.run(async () => {
    rows = await loadRows(api);
    render();
  });
}
