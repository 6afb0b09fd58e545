// The create-key wizard: type and usage, labels (alias, description, tags), key administrators, key users, then a
// review with the key policy those choices produce, and CreateKey (plus CreateAlias). Focus moves to each step's heading.
import type { Api } from '../api.js';
import { describeFailure } from '../api.js';
import { details, field, h, Notice, select, uid } from '../dom.js';
import { keyPolicy, type KeyUsage } from '../policy.js';

type KeyType = 'SYMMETRIC' | 'ASYMMETRIC' | 'HMAC';

const SPECS: Record<KeyType, Partial<Record<KeyUsage, string[]>>> = {
  SYMMETRIC: { ENCRYPT_DECRYPT: ['SYMMETRIC_DEFAULT'] },
  ASYMMETRIC: {
    ENCRYPT_DECRYPT: ['RSA_2048', 'RSA_3072', 'RSA_4096'],
    SIGN_VERIFY: ['RSA_2048', 'RSA_3072', 'RSA_4096', 'ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521', 'ECC_SECG_P256K1'],
    KEY_AGREEMENT: ['ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521'],
  },
  HMAC: { GENERATE_VERIFY_MAC: ['HMAC_224', 'HMAC_256', 'HMAC_384', 'HMAC_512'] },
};

const USAGE_LABELS: Record<KeyUsage, string> = {
  ENCRYPT_DECRYPT: 'Encrypt and decrypt',
  SIGN_VERIFY: 'Sign and verify',
  GENERATE_VERIFY_MAC: 'Generate and verify MAC',
  KEY_AGREEMENT: 'Key agreement',
};

interface User {
  UserName: string;
  Arn: string;
}

/** A fieldset of radio buttons; returns the fieldset and a getter of the checked value. */
function radios(legend: string, name: string, options: [string, string][], checked: string, onchange: () => void) {
  const set = h('fieldset', {}, h('legend', {}, legend));
  for (const [value, label] of options) {
    const id = uid('r');
    set.append(h('div', { class: 'choice' }, h('input', { type: 'radio', name, id, value, checked: value === checked, onchange }), h('label', { for: id }, label)));
  }
  return { el: set, value: () => (set.querySelector<HTMLInputElement>('input:checked')?.value ?? checked) };
}

/** A fieldset of checkboxes, one per user, labelled by user name. */
function userPicker(legend: string, users: User[]) {
  const names = new Map(users.map((u) => [u.Arn, u.UserName]));
  const set = h('fieldset', {}, h('legend', {}, legend));
  if (users.length === 0) set.append(h('p', {}, 'No users in this account (or no permission to list them).'));
  for (const u of users) {
    const id = uid('u');
    set.append(h('div', { class: 'choice' }, h('input', { type: 'checkbox', id, value: u.Arn }), h('label', { for: id }, u.UserName)));
  }
  const value = () => [...set.querySelectorAll<HTMLInputElement>('input:checked')].map((i) => i.value);
  return { el: set, value, names: () => value().map((arn) => names.get(arn) ?? arn).join(', ') || '—' };
}

/** AWS's alias name rule (without the alias/ prefix); null when acceptable. */
export function aliasProblem(name: string): string | null {
  if (name === '') return null;
  if (!/^[a-zA-Z0-9/_-]{1,250}$/.test(name)) return 'An alias may contain only letters, digits, slashes (/), underscores (_) and dashes (-).';
  if (name.startsWith('aws/')) return 'Aliases that begin with aws/ are reserved for AWS managed keys.';
  return null;
}

async function accountOf(api: Api, users: User[]): Promise<string> {
  const fromArn = (arn: string | undefined) => arn?.split(':')[4];
  const first = fromArn(users[0]?.Arn);
  if (first) return first;
  const keys = await api.kms<{ Keys?: { KeyArn: string }[] }>('ListKeys', { Limit: 1 });
  return fromArn(keys.Keys?.[0]?.KeyArn) ?? '';
}

export function wizardView(main: HTMLElement, api: Api): void {
  const notice = new Notice();
  main.replaceChildren(h('h1', {}, 'Create key'), notice.el);
  void notice.run(async () => {
    // Without permission to list users the wizard still works (the root statement alone), and says why the lists are empty.
    let refusal: unknown = null;
    const users = (await api.identity<{ Users?: User[] }>('ListUsers').catch((e: unknown) => ((refusal = e), { Users: [] }))).Users ?? [];
    render(main, api, users, await accountOf(api, users));
    if (refusal) main.append(h('p', { role: 'alert', class: 'error' }, `The account's users could not be listed: ${describeFailure(refusal)}`));
  });
}

function render(main: HTMLElement, api: Api, users: User[], accountId: string): void {
  const notice = new Notice();
  const usageBox = h('div');
  const spec = select([]);
  let usage: { el: HTMLElement; value: () => string };
  const refreshSpecs = () => {
    const specs = SPECS[type.value() as KeyType][usage.value() as KeyUsage] ?? [];
    spec.replaceChildren(...specs.map((s) => h('option', { value: s }, s)));
  };
  const refreshUsages = () => {
    const usages = Object.keys(SPECS[type.value() as KeyType]) as KeyUsage[];
    usage = radios('Key usage', 'usage', usages.map((u) => [u, USAGE_LABELS[u]]), usages[0] as string, refreshSpecs);
    usageBox.replaceChildren(usage.el);
    refreshSpecs();
  };
  const type = radios('Key type', 'keyType', [['SYMMETRIC', 'Symmetric'], ['ASYMMETRIC', 'Asymmetric'], ['HMAC', 'HMAC']], 'SYMMETRIC', refreshUsages);
  refreshUsages();

  const alias = h('input', { name: 'alias', placeholder: 'my-key' });
  const description = h('textarea', { name: 'description', rows: 2 });
  const tags = h('div', { class: 'tags' });
  const addTag = () => {
    const n = tags.children.length + 1;
    const key = h('input', { class: 'tag-key' });
    const value = h('input', { class: 'tag-value' });
    tags.append(h('div', { class: 'row' }, field(`Tag ${n} key`, key), field(`Tag ${n} value`, value)));
    key.focus();
  };
  const admins = userPicker('Key administrators', users);
  const keyUsers = userPicker('Key users', users);
  const preview = h('textarea', { readonly: true, rows: 18, class: 'code' });
  const summary = h('div');

  const choices = () => ({
    accountId,
    administrators: admins.value(),
    users: keyUsers.value(),
    usage: usage.value() as KeyUsage,
    symmetric: type.value() === 'SYMMETRIC',
  });
  const policyText = () => JSON.stringify(keyPolicy(choices()), null, 2);
  const tagList = () =>
    [...tags.querySelectorAll<HTMLInputElement>('.tag-key')]
      .map((k, i) => ({ TagKey: k.value.trim(), TagValue: tags.querySelectorAll<HTMLInputElement>('.tag-value')[i]?.value ?? '' }))
      .filter((t) => t.TagKey !== '');

  const steps: { title: string; body: HTMLElement[]; enter?: () => void }[] = [
    { title: 'Step 1 of 5: Key type and usage', body: [type.el, usageBox, field('Key spec', spec)] },
    {
      title: 'Step 2 of 5: Alias, description and tags',
      body: [
        field('Alias', alias, 'Without the alias/ prefix; optional.'),
        field('Description', description),
        tags,
        h('button', { type: 'button', onclick: addTag }, 'Add tag'),
      ],
    },
    { title: 'Step 3 of 5: Key administrators', body: [admins.el] },
    { title: 'Step 4 of 5: Key users', body: [keyUsers.el] },
    {
      title: 'Step 5 of 5: Review',
      body: [summary, field('Key policy preview', preview)],
      enter: () => {
        preview.value = policyText();
        summary.replaceChildren(
          details([
            ['Key type', type.value()],
            ['Key spec', spec.value],
            ['Key usage', usage.value()],
            ['Alias', alias.value.trim() ? `alias/${alias.value.trim()}` : '—'],
            ['Description', description.value.trim() || '—'],
            ['Tags', tagList().map((t) => `${t.TagKey}=${t.TagValue}`).join(', ') || '—'],
            ['Key administrators', admins.names()],
            ['Key users', keyUsers.names()],
          ]),
        );
      },
    },
  ];
  let index = 0;
  const heading = h('h2', { tabindex: -1 });
  const stepBody = h('div');
  const back = h('button', { type: 'button' }, 'Back');
  const nextButton = h('button', { type: 'button' }, 'Next');
  const create = h('button', { type: 'button', class: 'primary' }, 'Create key');
  const show = () => {
    const step = steps[index]!;
    step.enter?.();
    heading.textContent = step.title;
    stepBody.replaceChildren(...step.body);
    back.hidden = index === 0;
    nextButton.hidden = index === steps.length - 1;
    create.hidden = index !== steps.length - 1;
    heading.focus();
  };
  back.addEventListener('click', () => ((index -= 1), show()));
  nextButton.addEventListener('click', () => {
    const problem = index === 1 ? aliasProblem(alias.value.trim()) : null;
    if (problem) {
      notice.fail(new Error(problem));
      alias.setAttribute('aria-invalid', 'true');
      alias.focus();
      return;
    }
    alias.removeAttribute('aria-invalid');
    notice.clear();
    index += 1;
    show();
  });
  let createdKeyId: string | null = null;
  const createKey = async () => {
    const input: Record<string, unknown> = { KeySpec: spec.value, KeyUsage: usage.value(), Policy: policyText() };
    if (description.value.trim()) input.Description = description.value.trim();
    const t = tagList();
    if (t.length) input.Tags = t;
    const created = await api.kms<{ KeyMetadata: { KeyId: string } }>('CreateKey', input);
    createdKeyId = created.KeyMetadata.KeyId;
    if (alias.value.trim()) {
      try {
        await api.kms('CreateAlias', { AliasName: `alias/${alias.value.trim()}`, TargetKeyId: createdKeyId });
      } catch (e) {
        throw new Error(`Key ${createdKeyId} was created, but its alias was refused: ${describeFailure(e)}`, { cause: e });
      }
    }
    location.hash = `#/keys/${encodeURIComponent(createdKeyId)}`;
  };
  create.addEventListener('click', () => {
    create.disabled = true;
    void notice.run(createKey).then((ok) => {
      // Once the key exists, a second click must not create another: leave the way to the one made.
      if (!ok && createdKeyId) notice.el.append(h('p', {}, h('a', { href: `#/keys/${encodeURIComponent(createdKeyId)}` }, `Open key ${createdKeyId}`)));
      create.disabled = createdKeyId !== null;
    });
  });

  main.replaceChildren(
    h('h1', {}, 'Create key'),
    h('form', { 'aria-label': 'Create key', onsubmit: (e: Event) => e.preventDefault() }, heading, stepBody, h('div', { class: 'actions' }, back, nextButton, create)),
    notice.el,
  );
  show();
}
