// The audit viewer: LookupEvents filtered by key, principal, event name and time, each event's full record, and the
// chain's verification status (CofferAudit.VerifyChain: the server walks the chain and checks the last checkpoint).
import type { Api } from '../api.js';
import { details, field, fmtDate, h, Notice, section } from '../dom.js';

interface AuditEvent {
  EventId: string;
  EventName: string;
  EventTime: number;
  Username?: string;
  AccessKeyId?: string;
  Resources?: { ResourceType?: string; ResourceName?: string }[];
  CloudTrailEvent?: string;
}

interface ChainReport {
  Valid: boolean;
  EventCount: number;
  LastSeq?: number;
  CheckpointsVerified: number;
  BrokenLink?: { ChainSeq: number; EventId?: string; Reason: string };
  Summary: string;
}

const EVENT_NAMES = [
  'CreateKey', 'Encrypt', 'Decrypt', 'ReEncrypt', 'GenerateDataKey', 'Sign', 'Verify', 'GenerateMac', 'DescribeKey',
  'EnableKey', 'DisableKey', 'ScheduleKeyDeletion', 'CancelKeyDeletion', 'PutKeyPolicy', 'GetKeyPolicy', 'CreateAlias',
  'CreateGrant', 'RevokeGrant', 'TagResource', 'RotateKeyOnDemand', 'LookupEvents',
];

/** The LookupAttributes of the filter form: a principal that looks like an access key id filters by AccessKeyId. */
export function lookupAttributes(f: { key: string; principal: string; event: string }): { AttributeKey: string; AttributeValue: string }[] {
  const out: { AttributeKey: string; AttributeValue: string }[] = [];
  if (f.key) out.push({ AttributeKey: 'ResourceName', AttributeValue: f.key });
  if (f.principal) out.push({ AttributeKey: /^(AKIA|ASIA)[A-Z0-9]{12,}$/.test(f.principal) ? 'AccessKeyId' : 'Username', AttributeValue: f.principal });
  if (f.event) out.push({ AttributeKey: 'EventName', AttributeValue: f.event });
  return out;
}

const epoch = (local: string) => (local ? Math.floor(new Date(local).getTime() / 1000) : undefined);

function chainSection(api: Api): HTMLElement {
  const notice = new Notice();
  const status = h('div', { role: 'status', 'aria-live': 'polite' }, 'Checking the chain…');
  const check = () =>
    void notice.run(async () => {
      status.textContent = 'Checking the chain…';
      const r = await api.audit<ChainReport>('VerifyChain');
      status.replaceChildren(
        h('p', { class: r.Valid ? 'ok' : 'error', 'data-testid': 'chain-status' }, r.Valid ? 'Chain verified' : 'Chain BROKEN'),
        details([
          ['Events checked', String(r.EventCount)],
          ['Last event', r.LastSeq === undefined ? '—' : `#${r.LastSeq}`],
          ['Checkpoint signatures verified', String(r.CheckpointsVerified)],
          ['Summary', r.Summary],
        ]),
      );
    });
  check();
  return section('Chain verification', status, h('button', { type: 'button', onclick: check }, 'Verify chain again'), notice.el);
}

export function auditView(main: HTMLElement, api: Api): void {
  const notice = new Notice();
  const key = h('input', { name: 'key', placeholder: 'key ID or ARN' });
  const principal = h('input', { name: 'principal', placeholder: 'user name or access key ID' });
  const event = h('input', { name: 'event', list: 'event-names' });
  const start = h('input', { type: 'datetime-local', name: 'start', step: 1 });
  const end = h('input', { type: 'datetime-local', name: 'end', step: 1 });
  const body = h('tbody');
  const detail = h('div', { class: 'event-detail' });
  const prev = h('button', { type: 'button', disabled: true }, 'Newer events');
  const next = h('button', { type: 'button', disabled: true }, 'Older events');
  const tokens: (string | undefined)[] = [undefined];
  let page = 0;
  let nextToken: string | undefined;

  const showDetail = (e: AuditEvent) => {
    let pretty = e.CloudTrailEvent ?? '';
    try {
      pretty = JSON.stringify(JSON.parse(pretty), null, 2);
    } catch {
      // shown as stored
    }
    const heading = h('h3', { tabindex: -1 }, `Event ${e.EventName} ${e.EventId}`);
    detail.replaceChildren(heading, h('pre', { class: 'code', 'aria-label': 'Event record' }, pretty));
    heading.focus();
  };
  const load = () =>
    void notice.run(async () => {
      const input: Record<string, unknown> = { MaxResults: 20 };
      const attrs = lookupAttributes({ key: key.value.trim(), principal: principal.value.trim(), event: event.value.trim() });
      if (attrs.length) input.LookupAttributes = attrs;
      if (epoch(start.value) !== undefined) input.StartTime = epoch(start.value);
      if (epoch(end.value) !== undefined) input.EndTime = epoch(end.value);
      if (tokens[page]) input.NextToken = tokens[page];
      const r = await api.audit<{ Events?: AuditEvent[]; NextToken?: string }>('LookupEvents', input);
      nextToken = r.NextToken;
      const events = r.Events ?? [];
      body.replaceChildren(
        ...events.map((e) =>
          h(
            'tr',
            {},
            h('td', {}, fmtDate(e.EventTime)),
            h('td', {}, e.EventName),
            h('td', {}, e.Username ?? e.AccessKeyId ?? '—'),
            h('td', {}, (e.Resources ?? []).map((x) => x.ResourceName ?? '').join(', ') || '—'),
            h('td', {}, h('button', { type: 'button', 'aria-label': `Details of ${e.EventName} event ${e.EventId}`, onclick: () => showDetail(e) }, 'Details')),
          ),
        ),
      );
      if (events.length === 0) body.replaceChildren(h('tr', {}, h('td', { colspan: 5 }, 'No events match.')));
      prev.disabled = page === 0;
      next.disabled = !nextToken;
    });
  const search = () => {
    tokens.length = 1;
    page = 0;
    load();
  };
  prev.addEventListener('click', () => ((page -= 1), load()));
  next.addEventListener('click', () => {
    tokens[page + 1] = nextToken;
    page += 1;
    load();
  });

  main.replaceChildren(
    h('h1', {}, 'Audit'),
    chainSection(api),
    section(
      'Events',
      h(
        'form',
        { 'aria-label': 'Event filters', onsubmit: (e: Event) => (e.preventDefault(), search()) },
        h('div', { class: 'row' }, field('Key', key), field('Principal', principal), field('Event name', event)),
        h('datalist', { id: 'event-names' }, ...EVENT_NAMES.map((n) => h('option', { value: n }))),
        h('div', { class: 'row' }, field('From (local time)', start), field('To (local time)', end)),
        h('button', { type: 'submit' }, 'Search events'),
      ),
      notice.el,
      h(
        'table',
        {},
        h('caption', {}, 'Audit events, newest first'),
        h('thead', {}, h('tr', {}, ...['Time', 'Event', 'Principal', 'Key', 'Detail'].map((c) => h('th', { scope: 'col' }, c)))),
        body,
      ),
      h('nav', { 'aria-label': 'Event pages', class: 'pager' }, prev, next),
      detail,
    ),
  );
  search();
}
