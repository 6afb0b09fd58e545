// Small DOM helpers: element creation, labelled fields, and the live message area that announces results and errors.
import { describeFailure } from './api.js';

type Child = Node | string | null | undefined | false;
type Attrs = Record<string, string | number | boolean | EventListener | undefined>;

/** h('button', { type: 'button', onclick: fn }, 'Save'): attributes, on* listeners, then children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') el.addEventListener(name.slice(2), value);
    else if (value === true) el.setAttribute(name, '');
    else el.setAttribute(name, String(value));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

let nextId = 0;
/** A unique id for label/aria wiring. */
export const uid = (prefix: string) => `${prefix}-${++nextId}`;

/** A <label> wired to its control: the control gets an id and the label's `for`. */
export function field(label: string, control: HTMLElement, hint?: string): HTMLElement {
  control.id ||= uid('f');
  const wrap = h('div', { class: 'field' }, h('label', { for: control.id }, label), control);
  if (hint) {
    const hintEl = h('small', { id: uid('hint') }, hint);
    control.setAttribute('aria-describedby', hintEl.id);
    wrap.append(hintEl);
  }
  return wrap;
}

/** A <select> of value/label pairs. */
export function select(options: [string, string][], value?: string, attrs: Attrs = {}): HTMLSelectElement {
  const s = h('select', attrs, ...options.map(([v, l]) => h('option', { value: v, selected: v === value }, l)));
  return s;
}

/** The message area of a section: role=alert for failures, role=status for results. */
export class Notice {
  readonly el = h('div', { class: 'notice', 'aria-live': 'polite' });
  clear(): void {
    this.el.replaceChildren();
  }
  ok(text: string): void {
    this.el.replaceChildren(h('p', { role: 'status', class: 'ok' }, text));
  }
  fail(e: unknown): void {
    this.el.replaceChildren(h('p', { role: 'alert', class: 'error' }, describeFailure(e)));
  }
  /** Runs `fn`, showing its failure as the service named it; returns whether it succeeded. */
  async run(fn: () => Promise<unknown>, success?: string): Promise<boolean> {
    this.clear();
    try {
      await fn();
      if (success) this.ok(success);
      return true;
    } catch (e) {
      this.fail(e);
      return false;
    }
  }
}

/** A section with a heading (h2 by default) and its content. */
export function section(title: string, ...children: Child[]): HTMLElement {
  const id = uid('sec');
  return h('section', { 'aria-labelledby': id }, h('h2', { id }, title), ...children);
}

export const fmtDate = (epochSeconds: unknown): string =>
  typeof epochSeconds === 'number' ? new Date(epochSeconds * 1000).toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, ' UTC') : '—';

/** A <dl> of label/value rows. */
export function details(rows: [string, Child][]): HTMLDListElement {
  return h('dl', { class: 'details' }, ...rows.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v ?? '—')]));
}
