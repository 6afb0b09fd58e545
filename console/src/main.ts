// The console's entry: sign-in (the secret lives only in this page's memory), the navigation, and hash routing.
import { Api } from './api.js';
import { field, h, Notice } from './dom.js';
import { auditView } from './views/audit.js';
import { keyView } from './views/key.js';
import { keysView } from './views/keys.js';
import { wizardView } from './views/wizard.js';
import './style.css';

const root = document.getElementById('app') as HTMLElement;
let api: Api | null = null;

function signIn(): void {
  const id = h('input', { name: 'accessKeyId', autocomplete: 'username', required: true, spellcheck: 'false' });
  const secret = h('input', { name: 'secretAccessKey', type: 'password', autocomplete: 'current-password', required: true });
  const region = h('input', { name: 'region', value: 'us-east-1', required: true });
  const notice = new Notice();
  const form = h(
    'form',
    { 'aria-labelledby': 'signin-title' },
    h('h1', { id: 'signin-title' }, 'Sign in to Coffer'),
    h('p', {}, 'Requests are signed in this page with your access key; the secret is kept in memory only and is gone on reload or sign-out.'),
    field('Access key ID', id),
    field('Secret access key', secret),
    field('Region', region),
    h('button', { type: 'submit' }, 'Sign in'),
    notice.el,
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const candidate = new Api({ accessKeyId: id.value.trim(), secretAccessKey: secret.value }, region.value.trim());
    void notice.run(async () => {
      await candidate.kms('ListKeys', { Limit: 1 });
      api = candidate;
      secret.value = '';
      // Setting a new hash routes through hashchange; otherwise route now (exactly once either way).
      if (!location.hash || location.hash === '#/') location.hash = '#/keys';
      else route();
    });
  });
  root.replaceChildren(h('main', { class: 'signin' }, form));
  id.focus();
}

function signOut(): void {
  api = null;
  history.replaceState(null, '', '#/');
  signIn();
}

function shell(current: string): HTMLElement {
  const link = (href: string, text: string) => h('a', { href, 'aria-current': current === href ? 'page' : undefined }, text);
  const main = h('main', { id: 'main', tabindex: -1 });
  root.replaceChildren(
    h(
      'header',
      {},
      h('span', { class: 'brand' }, 'Coffer console'),
      h('nav', { 'aria-label': 'Main' }, link('#/keys', 'Keys'), link('#/keys/new', 'Create key'), link('#/audit', 'Audit')),
      h('span', { class: 'who' }, `Signed in as ${api?.accessKeyId ?? ''}`),
      h('button', { type: 'button', onclick: signOut }, 'Sign out'),
    ),
    main,
  );
  return main;
}

function route(): void {
  if (!api) return signIn();
  const hash = location.hash || '#/keys';
  const keyMatch = /^#\/keys\/([^/]+)$/.exec(hash);
  if (hash === '#/keys/new') return wizardView(shell('#/keys/new'), api);
  if (keyMatch && keyMatch[1]) return keyView(shell('#/keys'), api, decodeURIComponent(keyMatch[1]));
  if (hash === '#/audit') return auditView(shell('#/audit'), api);
  keysView(shell('#/keys'), api);
}

window.addEventListener('hashchange', route);
route();
