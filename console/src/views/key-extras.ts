// The rest of a key's page: rotation settings and key materials, grants with revoke, and the public key download.
import type { Api } from '../api.js';
import { details, field, fmtDate, h, Notice, section } from '../dom.js';
import type { KeyMetadata } from './keys.js';
import { listAll } from './keys.js';

interface RotationStatus {
  KeyRotationEnabled?: boolean;
  RotationPeriodInDays?: number;
  NextRotationDate?: number;
  OnDemandRotationStartDate?: number;
}

/** One key material as ListKeyRotations (ALL_KEY_MATERIAL) lists it, dates in epoch seconds. */
interface Material {
  KeyMaterialId?: string;
  KeyMaterialState?: string;
  ImportState?: string;
  RotationDate?: number;
  RotationType?: string;
  ValidTo?: number;
  KeyMaterialDescription?: string;
}

/**
 * Rotation settings (automatic rotation only for keys whose material Coffer makes) and the key's materials: the
 * first, one per rotation, and for a key of imported material any pending rotation, with its import state.
 */
export function rotationSection(api: Api, m: KeyMetadata, reload: (msg: string) => void): HTMLElement {
  const notice = new Notice();
  const status = h('div');
  const imported = m.Origin === 'EXTERNAL';
  const enabled = h('input', { type: 'checkbox', name: 'rotationEnabled' });
  const period = h('input', { type: 'number', min: 90, max: 2560, value: 365, name: 'rotationPeriod' });
  const versions = h('tbody', { 'data-testid': 'key-materials' });
  const save = () =>
    void notice.run(async () => {
      if (enabled.checked) await api.kms('EnableKeyRotation', { KeyId: m.KeyId, RotationPeriodInDays: Number(period.value) });
      else await api.kms('DisableKeyRotation', { KeyId: m.KeyId });
      reload(enabled.checked ? 'Automatic rotation enabled.' : 'Automatic rotation disabled.');
    });
  const rotateNow = () =>
    void notice.run(async () => {
      await api.kms('RotateKeyOnDemand', { KeyId: m.KeyId });
      reload(imported ? 'Key rotated: the pending key material is now current.' : 'Key rotated: a new version is in use.');
    });
  void notice.run(async () => {
    const s = await api.kms<RotationStatus>('GetKeyRotationStatus', { KeyId: m.KeyId });
    enabled.checked = Boolean(s.KeyRotationEnabled);
    if (s.RotationPeriodInDays) period.value = String(s.RotationPeriodInDays);
    status.replaceChildren(
      details([
        ['Automatic rotation', imported ? 'Not available for imported key material' : s.KeyRotationEnabled ? 'Enabled' : 'Disabled'],
        ...(imported ? [] : ([['Rotation period', s.RotationPeriodInDays ? `${s.RotationPeriodInDays} days` : '—'], ['Next rotation', fmtDate(s.NextRotationDate)]] as [string, string][])),
      ]),
    );
    const materials = await listAll<Material>(api, 'ListKeyRotations', 'Rotations', { KeyId: m.KeyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' });
    versions.replaceChildren(
      ...materials.map((r) =>
        h(
          'tr',
          {},
          h('td', { title: r.KeyMaterialId ?? '' }, (r.KeyMaterialId ?? '').slice(0, 12)),
          h('td', {}, r.KeyMaterialState ?? '—'),
          h('td', {}, r.RotationDate ? `${fmtDate(r.RotationDate)} (${r.RotationType ?? ''})` : '—'),
          ...(imported ? [h('td', {}, r.ImportState ?? '—'), h('td', {}, r.ValidTo ? fmtDate(r.ValidTo) : 'Never'), h('td', {}, r.KeyMaterialDescription ?? '')] : []),
        ),
      ),
    );
  });
  const columns = ['Material', 'State', 'Rotated', ...(imported ? ['Import state', 'Expires', 'Description'] : [])];
  const automatic = imported ? [] : [
    h('div', { class: 'choice' }, enabled, h('label', { for: (enabled.id = 'rotation-enabled') }, 'Rotate automatically')),
    field('Rotation period (days)', period),
    h('button', { type: 'submit' }, 'Save rotation settings'),
  ];
  return section(
    'Rotation and key material',
    status,
    h('form', { class: 'row', 'aria-label': 'Rotation settings', onsubmit: (e: Event) => (e.preventDefault(), save()) }, ...automatic, h('button', { type: 'button', onclick: rotateNow }, 'Rotate now')),
    h('table', {}, h('caption', {}, 'Key materials'), h('thead', {}, h('tr', {}, ...columns.map((c) => h('th', { scope: 'col' }, c)))), versions),
    notice.el,
  );
}

interface Grant {
  GrantId: string;
  Name?: string;
  GranteePrincipal?: string;
  RetiringPrincipal?: string;
  Operations?: string[];
  CreationDate?: number;
}

export function grantsSection(api: Api, m: KeyMetadata, reload: (msg: string) => void): HTMLElement {
  const notice = new Notice();
  const body = h('tbody');
  void notice.run(async () => {
    const grants = await listAll<Grant>(api, 'ListGrants', 'Grants', { KeyId: m.KeyId });
    body.replaceChildren(
      ...grants.map((g) =>
        h(
          'tr',
          {},
          h('td', {}, g.Name || g.GrantId),
          h('td', {}, g.GranteePrincipal ?? '—'),
          h('td', {}, (g.Operations ?? []).join(', ')),
          h('td', {}, fmtDate(g.CreationDate)),
          h('td', {}, h('button', {
            type: 'button',
            'aria-label': `Revoke grant ${g.Name || g.GrantId}`,
            onclick: () => void notice.run(async () => (await api.kms('RevokeGrant', { KeyId: m.KeyId, GrantId: g.GrantId }), reload('Grant revoked.'))),
          }, 'Revoke')),
        ),
      ),
    );
    if (grants.length === 0) body.replaceChildren(h('tr', {}, h('td', { colspan: 5 }, 'No grants.')));
  });
  return section(
    'Grants',
    h('table', {}, h('caption', {}, 'Grants'), h('thead', {}, h('tr', {}, ...['Grant', 'Grantee', 'Operations', 'Created', 'Action'].map((c) => h('th', { scope: 'col' }, c)))), body),
    notice.el,
  );
}

/** PEM of a SubjectPublicKeyInfo given as base64 DER. */
export function pem(base64Der: string): string {
  return `-----BEGIN PUBLIC KEY-----\n${base64Der.match(/.{1,64}/g)?.join('\n') ?? ''}\n-----END PUBLIC KEY-----\n`;
}

export function publicKeySection(api: Api, m: KeyMetadata): HTMLElement {
  const notice = new Notice();
  const download = () =>
    void notice.run(async () => {
      const r = await api.kms<{ PublicKey: string }>('GetPublicKey', { KeyId: m.KeyId });
      const url = URL.createObjectURL(new Blob([pem(r.PublicKey)], { type: 'application/x-pem-file' }));
      const a = h('a', { href: url, download: `${m.KeyId}.pem` });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    }, 'Public key downloaded (PEM).');
  return section('Public key', h('button', { type: 'button', onclick: download }, 'Download public key'), notice.el);
}
