// A key's page: configuration, state and last use, enable/disable, deletion scheduling, aliases, tags, rotation and versions,
// the key policy editor, grants with revoke, and the public key of asymmetric keys.
import type { Api } from '../api.js';
import { details, field, fmtDate, h, Notice, section } from '../dom.js';
import { policySyntaxProblem } from '../policy.js';
import type { Alias, KeyMetadata } from './keys.js';
import { listAll } from './keys.js';
import { grantsSection, publicKeySection, rotationSection } from './key-extras.js';

export function keyView(main: HTMLElement, api: Api, keyId: string, flash?: string): void {
  const notice = new Notice();
  main.replaceChildren(h('h1', {}, `Key ${keyId}`), notice.el);
  void notice.run(async () => {
    const { KeyMetadata: meta } = await api.kms<{ KeyMetadata: KeyMetadata }>('DescribeKey', { KeyId: keyId });
    // A caller allowed DescribeKey but not GetKeyLastUsage still gets the page, without the last use.
    const usage = await api.kms<KeyLastUsage>('GetKeyLastUsage', { KeyId: meta.KeyId }).catch(() => null);
    const reload = (message: string) => keyView(main, api, meta.KeyId, message);
    main.replaceChildren(
      h('h1', {}, `Key ${meta.KeyId}`),
      notice.el,
      configurationSection(meta, usage),
      stateSection(api, meta, reload),
      aliasesSection(api, meta, reload),
      tagsSection(api, meta, reload),
      ...(meta.KeySpec === 'SYMMETRIC_DEFAULT' ? [rotationSection(api, meta, reload)] : []),
      policySection(api, meta),
      grantsSection(api, meta, reload),
      ...(meta.KeySpec.startsWith('RSA') || meta.KeySpec.startsWith('ECC') ? [publicKeySection(api, meta)] : []),
    );
    // After an action the page is redrawn: focus goes to its heading, and the result is announced.
    const heading = main.querySelector('h1') as HTMLElement;
    heading.setAttribute('tabindex', '-1');
    if (flash) {
      notice.ok(flash);
      heading.focus();
    }
  });
}

/** GetKeyLastUsage's answer as the wire has it (dates in epoch seconds). */
interface KeyLastUsage {
  KeyLastUsage?: { Operation?: string; Timestamp?: number };
  TrackingStartDate?: number;
}

/** "Encrypt, <time>", or since when it has not been used (AWS's console says the same in its words). */
function lastUsed(u: KeyLastUsage | null): string {
  if (!u) return '—'; // GetKeyLastUsage refused (not allowed, or failed): the rest of the page still stands
  const last = u.KeyLastUsage;
  return last?.Operation ? `${last.Operation}, ${fmtDate(last.Timestamp)}` : `Not used since ${fmtDate(u.TrackingStartDate)}`;
}

function configurationSection(m: KeyMetadata, usage: KeyLastUsage | null): HTMLElement {
  const algorithms = [...(m.EncryptionAlgorithms ?? []), ...(m.SigningAlgorithms ?? []), ...(m.MacAlgorithms ?? [])];
  return section(
    'Configuration',
    details([
      ['Key ID', m.KeyId],
      ['ARN', m.Arn],
      ['State', h('strong', { 'data-testid': 'key-state' }, m.KeyState)],
      ['Key spec', m.KeySpec],
      ['Key usage', m.KeyUsage],
      ['Algorithms', algorithms.join(', ') || '—'],
      ['Origin', m.Origin ?? '—'],
      ['Created', fmtDate(m.CreationDate)],
      ['Last used', h('span', { 'data-testid': 'key-last-used' }, lastUsed(usage))],
      ['Description', m.Description || '—'],
      ...(m.DeletionDate ? ([['Deletion date', fmtDate(m.DeletionDate)]] as [string, string][]) : []),
    ]),
  );
}

function stateSection(api: Api, m: KeyMetadata, reload: (msg: string) => void): HTMLElement {
  const notice = new Notice();
  const act = (op: string, input: Record<string, unknown>, done: string) => () =>
    void notice.run(async () => {
      await api.kms(op, { KeyId: m.KeyId, ...input });
      reload(done);
    });
  const body: HTMLElement[] = [];
  if (m.KeyState === 'Enabled') body.push(h('button', { type: 'button', onclick: act('DisableKey', {}, 'Key disabled.') }, 'Disable key'));
  if (m.KeyState === 'Disabled') body.push(h('button', { type: 'button', onclick: act('EnableKey', {}, 'Key enabled.') }, 'Enable key'));
  if (m.KeyState === 'PendingDeletion') {
    body.push(
      h('p', {}, `Deletion is scheduled for ${fmtDate(m.DeletionDate)} (waiting period ${m.PendingDeletionWindowInDays ?? '?'} days).`),
      h('button', { type: 'button', onclick: act('CancelKeyDeletion', {}, 'Key deletion cancelled; the key is disabled.') }, 'Cancel key deletion'),
    );
  } else {
    const days = h('input', { type: 'number', min: 7, max: 30, value: 30, name: 'pendingWindow' });
    const schedule = () =>
      void notice.run(async () => {
        const r = await api.kms<{ DeletionDate?: number }>('ScheduleKeyDeletion', { KeyId: m.KeyId, PendingWindowInDays: Number(days.value) });
        reload(`Key deletion scheduled for ${fmtDate(r.DeletionDate)}.`);
      });
    body.push(
      h(
        'form',
        { class: 'row', 'aria-label': 'Schedule key deletion', onsubmit: (e: Event) => (e.preventDefault(), schedule()) },
        field('Waiting period (days)', days, 'Between 7 and 30 days; the key can be recovered until then.'),
        h('button', { type: 'submit', class: 'danger' }, 'Schedule key deletion'),
      ),
    );
  }
  return section('State', ...body, notice.el);
}

function aliasesSection(api: Api, m: KeyMetadata, reload: (msg: string) => void): HTMLElement {
  const notice = new Notice();
  const list = h('ul');
  const name = h('input', { name: 'newAlias', placeholder: 'my-key' });
  const add = () =>
    void notice.run(async () => {
      const alias = `alias/${name.value.trim().replace(/^alias\//, '')}`;
      await api.kms('CreateAlias', { AliasName: alias, TargetKeyId: m.KeyId });
      reload(`Alias ${alias} created.`);
    });
  void notice.run(async () => {
    const aliases = await listAll<Alias>(api, 'ListAliases', 'Aliases', { KeyId: m.KeyId });
    list.replaceChildren(
      ...aliases.map((a) =>
        h(
          'li',
          {},
          a.AliasName,
          ' ',
          h('button', {
            type: 'button',
            'aria-label': `Delete alias ${a.AliasName}`,
            onclick: () => void notice.run(async () => (await api.kms('DeleteAlias', { AliasName: a.AliasName }), reload(`Alias ${a.AliasName} deleted.`))),
          }, 'Delete'),
        ),
      ),
    );
    if (aliases.length === 0) list.replaceChildren(h('li', {}, 'No aliases.'));
  });
  return section(
    'Aliases',
    list,
    h('form', { class: 'row', 'aria-label': 'Add alias', onsubmit: (e: Event) => (e.preventDefault(), add()) }, field('New alias', name), h('button', { type: 'submit' }, 'Add alias')),
    notice.el,
  );
}

function tagsSection(api: Api, m: KeyMetadata, reload: (msg: string) => void): HTMLElement {
  const notice = new Notice();
  const body = h('tbody');
  const key = h('input', { name: 'tagKey' });
  const value = h('input', { name: 'tagValue' });
  const add = () =>
    void notice.run(async () => {
      await api.kms('TagResource', { KeyId: m.KeyId, Tags: [{ TagKey: key.value.trim(), TagValue: value.value }] });
      reload(`Tag ${key.value.trim()} saved.`);
    });
  void notice.run(async () => {
    const tags = await listAll<{ TagKey: string; TagValue: string }>(api, 'ListResourceTags', 'Tags', { KeyId: m.KeyId });
    body.replaceChildren(
      ...tags.map((t) =>
        h(
          'tr',
          {},
          h('td', {}, t.TagKey),
          h('td', {}, t.TagValue),
          h('td', {}, h('button', {
            type: 'button',
            'aria-label': `Remove tag ${t.TagKey}`,
            onclick: () => void notice.run(async () => (await api.kms('UntagResource', { KeyId: m.KeyId, TagKeys: [t.TagKey] }), reload(`Tag ${t.TagKey} removed.`))),
          }, 'Remove')),
        ),
      ),
    );
    if (tags.length === 0) body.replaceChildren(h('tr', {}, h('td', { colspan: 3 }, 'No tags.')));
  });
  return section(
    'Tags',
    h('table', {}, h('caption', {}, 'Tags'), h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Key'), h('th', { scope: 'col' }, 'Value'), h('th', { scope: 'col' }, 'Action'))), body),
    h('form', { class: 'row', 'aria-label': 'Add tag', onsubmit: (e: Event) => (e.preventDefault(), add()) }, field('Tag key', key), field('Tag value', value), h('button', { type: 'submit' }, 'Save tag')),
    notice.el,
  );
}

function policySection(api: Api, m: KeyMetadata): HTMLElement {
  const notice = new Notice();
  const editor = h('textarea', { rows: 20, class: 'code', spellcheck: 'false', name: 'policy' });
  const save = () =>
    void notice.run(async () => {
      const problem = policySyntaxProblem(editor.value);
      if (problem) throw new Error(problem);
      await api.kms('PutKeyPolicy', { KeyId: m.KeyId, PolicyName: 'default', Policy: editor.value });
    }, 'Key policy saved.');
  void notice.run(async () => {
    const r = await api.kms<{ Policy?: string }>('GetKeyPolicy', { KeyId: m.KeyId, PolicyName: 'default' });
    editor.value = r.Policy ? JSON.stringify(JSON.parse(r.Policy), null, 2) : '';
  });
  return section(
    'Key policy',
    h('form', { 'aria-label': 'Key policy editor', onsubmit: (e: Event) => (e.preventDefault(), save()) }, field('Key policy', editor, 'JSON; checked here for syntax, then by the service.'), h('button', { type: 'submit' }, 'Save key policy')),
    notice.el,
  );
}
