// The web console end to end: Debian's Chromium driven headless by playwright-core against the real server serving
// its Vite build under /console. Sign in, the create-key wizard, Encrypt through the AWS SDK seen in the audit viewer,
// deletion scheduled and cancelled, the policy editor refusing a malformed policy. Each test screenshots its page.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import {
  CreateGrantCommand, CreateKeyCommand, DescribeKeyCommand, DisableKeyCommand, EncryptCommand, GetKeyPolicyCommand, GetParametersForImportCommand, GetPublicKeyCommand,
  ImportKeyMaterialCommand, ListAliasesCommand, ListGrantsCommand, ListResourceTagsCommand,
} from '@aws-sdk/client-kms';
import { randomBytes } from 'node:crypto';
import { chromium, type Browser, type Page } from 'playwright-core';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../helpers/audit.js';
import { wrap } from '../helpers/wrap-material.js';
import { ACCOUNT, ADMIN, ROOT, serverPerFile } from '../helpers/server.js';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = join(ROOT, 'test-output', 'console');
const consoleDir = mkdtempSync(join(tmpdir(), 'coffer-console-'));

// Registered before serverPerFile's hooks, so the build is in place when the server starts.
beforeAll(() => {
  execFileSync(join(ROOT, 'node_modules', '.bin', 'vite'), ['build', '--config', 'console/vite.config.ts', '--outDir', consoleDir, '--logLevel', 'warn'], { cwd: ROOT, stdio: 'inherit' });
});
const s = serverPerFile({ env: { COFFER_CONSOLE_DIR: consoleDir } });

let browser: Browser;
let page: Page;
const state: { keyId?: string } = {};
const pageErrors: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: ./scripts/test installs Debian's chromium (apt-get install chromium)`);
  mkdirSync(SHOTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = await browser.newPage({ acceptDownloads: true });
  page.setDefaultTimeout(15_000);
  // Failed requests (a 400 the test provokes) are logged by Chromium too; anything else is a defect (a CSP refusal).
  page.on('console', (m) => void (m.type() === 'error' && !m.text().startsWith('Failed to load resource') && pageErrors.push(m.text())));
  page.on('pageerror', (e) => void pageErrors.push(e.message));
  for (const name of ['alice', 'bob']) expect((await call(s.server.url, 'CofferIdentity.CreateUser', { UserName: name })).status).toBe(200);
});
afterAll(async () => {
  await browser?.close();
});

const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
const alertText = () => page.getByRole('alert').first().textContent();
const keyId = () => state.keyId as string;

/** Presses Tab until the focused element's text or label is `name` (at most 60 presses): keyboard reachability. */
async function tabTo(name: string): Promise<void> {
  for (let i = 0; i < 60; i++) {
    await page.keyboard.press('Tab');
    const focused = (await page.evaluate("(document.activeElement?.getAttribute('aria-label') || document.activeElement?.textContent || '').trim()")) as string;
    if (focused === name) return;
  }
  throw new Error(`${name} is not reachable with Tab`);
}

/** A raw GET with the path exactly as written (no client-side normalisation of dot segments). */
function rawGet(url: string, path: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path, method: 'GET' }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('console', () => {
  it('is served under /console with content types and a CSP, and never outside its folder', async () => {
    const index = await fetch(`${s.server.url}/console/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(index.headers.get('content-security-policy')).toContain("script-src 'self'");
    const script = /src="(\/console\/assets\/[^"]+\.js)"/.exec(await index.text())?.[1];
    expect(script).toBeDefined();
    expect((await fetch(`${s.server.url}${script}`)).headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    for (const path of ['/console/../package.json', '/console/..%2f..%2fpackage.json', '/console/%2e%2e/%2e%2e/package.json', '/console/assets/..%5c..%5cpackage.json']) {
      const r = await rawGet(s.server.url, path);
      expect(r.status, path).toBe(404);
      expect(r.body, path).not.toContain('"name": "coffer"');
    }
    const redirect = await fetch(`${s.server.url}/console`, { redirect: 'manual' });
    expect(redirect.headers.get('location')).toBe('/console/');
    const refused = await page.goto(`${s.server.url}/console/..%2f..%2fpackage.json`);
    expect(refused?.status()).toBe(404);
    expect(await page.textContent('body')).toContain('Not found.');
    await shot('00-traversal-refused');
  });

  it('signs in with an access key (a wrong secret refused as named; the secret gone on reload)', async () => {
    await page.goto(`${s.server.url}/console/`);
    await page.getByLabel('Access key ID').fill(ADMIN.accessKeyId);
    await page.getByLabel('Secret access key').fill('wrong-secret-wrong-secret-wrong-secret-00');
    await page.getByLabel('Secret access key').press('Enter');
    await page.getByRole('alert').waitFor();
    expect(await alertText()).toContain('InvalidSignatureException');

    await page.getByLabel('Secret access key').fill(ADMIN.secretAccessKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Keys', exact: true }).waitFor();
    await page.reload();
    await page.getByRole('heading', { name: 'Sign in to Coffer' }).waitFor();
    expect(await page.getByLabel('Secret access key').inputValue()).toBe('');

    await page.getByLabel('Access key ID').fill(ADMIN.accessKeyId);
    await page.getByLabel('Secret access key').fill(ADMIN.secretAccessKey);
    await page.getByLabel('Secret access key').press('Enter');
    await page.getByRole('table', { name: 'Keys of this account' }).waitFor();
    await page.getByText(`Signed in as ${ADMIN.accessKeyId}`).waitFor();
    await shot('01-signed-in-keys');
  });

  it('creates a symmetric key through the wizard: alias, tag, administrators, users and the policy preview', async () => {
    await page.getByRole('link', { name: 'Create key' }).first().click();
    await page.getByRole('heading', { name: /Step 1 of 5/ }).waitFor();
    await page.getByRole('group', { name: 'Key type' }).getByLabel('Symmetric', { exact: true }).check();
    await page.getByRole('button', { name: 'Next' }).click();
    // Focus moves to the new step's heading, so keyboard and screen-reader users land on it.
    await page.getByRole('heading', { name: /Step 2 of 5/ }).waitFor();
    expect(await page.evaluate('document.activeElement?.textContent')).toContain('Step 2 of 5');
    await page.getByLabel('Alias').fill('not an alias!');
    await page.getByRole('button', { name: 'Next' }).click();
    expect(await alertText()).toContain('An alias may contain only letters');
    expect(await page.evaluate("document.activeElement?.getAttribute('name')")).toBe('alias');
    await page.getByLabel('Alias').fill('console-e2e');
    await page.getByLabel('Description').fill('made by the console test');
    await page.getByRole('button', { name: 'Add tag' }).click();
    await page.getByLabel('Tag 1 key').fill('team');
    await page.getByLabel('Tag 1 value').fill('security');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('group', { name: 'Key administrators' }).getByLabel('alice').check();
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('group', { name: 'Key users' }).getByLabel('bob').check();
    await page.getByRole('button', { name: 'Next' }).click();
    const preview = JSON.parse(await page.getByLabel('Key policy preview').inputValue()) as { Statement: { Sid: string; Principal: { AWS: string } }[] };
    expect(preview.Statement.map((x) => x.Sid)).toEqual(['Enable IAM User Permissions', 'Allow access for Key Administrators', 'Allow use of the key']);
    expect(preview.Statement[1]?.Principal.AWS).toBe(`arn:aws:iam::${ACCOUNT}:user/alice`);
    expect(preview.Statement[2]?.Principal.AWS).toBe(`arn:aws:iam::${ACCOUNT}:user/bob`);
    const review = (await page.locator('dl.details').textContent()) as string;
    for (const shown of ['alias/console-e2e', 'team=security', 'Key administratorsalice', 'Key usersbob']) expect(review).toContain(shown);
    await shot('02-wizard-review');

    await page.getByRole('button', { name: 'Create key' }).click();
    const heading = page.getByRole('heading', { level: 1, name: /^Key [0-9a-f-]{36}$/ });
    await heading.waitFor();
    state.keyId = ((await heading.textContent()) as string).slice(4);
    await page.getByRole('table', { name: 'Tags' }).getByText('security').waitFor();
    expect(await page.getByTestId('key-last-used').textContent()).toMatch(/^Not used since \d{4}-\d\d-\d\d /);
    await shot('03-key-page');

    const described = await s.kms.send(new DescribeKeyCommand({ KeyId: keyId() }));
    expect(described.KeyMetadata).toMatchObject({ KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT', Description: 'made by the console test' });
    const aliases = await s.kms.send(new ListAliasesCommand({ KeyId: keyId() }));
    expect(aliases.Aliases?.map((a) => a.AliasName)).toEqual(['alias/console-e2e']);
    expect((await s.kms.send(new ListResourceTagsCommand({ KeyId: keyId() }))).Tags).toEqual([{ TagKey: 'team', TagValue: 'security' }]);
    const policy = await s.kms.send(new GetKeyPolicyCommand({ KeyId: keyId(), PolicyName: 'default' }));
    expect(JSON.parse(policy.Policy as string)).toEqual(preview);
  });

  it('shows an Encrypt made through the SDK in the audit viewer, with its detail and the chain verified', async () => {
    await s.kms.send(new EncryptCommand({ KeyId: 'alias/console-e2e', Plaintext: new TextEncoder().encode('hello console') }));
    expect((await call(s.server.url, 'CofferAudit.CreateCheckpoint')).status).toBe(200);
    await page.getByRole('link', { name: 'Audit' }).click();
    await page.getByTestId('chain-status').waitFor();
    expect(await page.getByTestId('chain-status').textContent()).toBe('Chain verified');
    expect(await page.getByRole('region', { name: 'Chain verification' }).textContent()).toContain('1 checkpoint signatures verified');
    await page.getByLabel('Key', { exact: true }).fill(keyId());
    await page.getByLabel('Event name').fill('Encrypt');
    await page.getByRole('button', { name: 'Search events' }).click();
    const details = page.getByRole('button', { name: /^Details of Encrypt event/ });
    await details.first().waitFor();
    expect(await details.count()).toBe(1);
    await details.first().click();
    const record = JSON.parse((await page.getByLabel('Event record').textContent()) as string) as { eventName: string; resources: { ARN: string }[] };
    expect(record.eventName).toBe('Encrypt');
    expect(record.resources[0]?.ARN).toContain(keyId());
    expect(JSON.stringify(record)).not.toContain('hello console');
    await shot('04-audit-encrypt-event');

    // The other filters: principal (a user name or an access key id) and time.
    const search = async () => {
      await page.getByRole('button', { name: 'Search events' }).click();
      await page.getByRole('table', { name: 'Audit events, newest first' }).locator('tbody tr').first().waitFor();
      return page.getByRole('button', { name: /^Details of Encrypt event/ }).count();
    };
    await page.getByLabel('Principal').fill('alice');
    await expect.poll(search).toBe(0);
    await page.getByText('No events match.').waitFor();
    await page.getByLabel('Principal').fill(ADMIN.accessKeyId);
    await expect.poll(search).toBe(1);
    await page.getByLabel('From (local time)').fill('2099-01-01T00:00:00');
    await expect.poll(search).toBe(0);
    await page.getByLabel('From (local time)').fill('2000-01-01T00:00:00');
    await page.getByLabel('To (local time)').fill('2099-01-01T00:00:00');
    await expect.poll(search).toBe(1);
  });

  it('schedules deletion with a waiting period and cancels it', async () => {
    await page.goto(`${s.server.url}/console/#/keys/${keyId()}`);
    // The Encrypt of the audit test above is the key's last use (GetKeyLastUsage).
    expect(await page.getByTestId('key-last-used').textContent()).toMatch(/^Encrypt, \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
    await page.getByLabel('Waiting period (days)').fill('7');
    await page.getByRole('button', { name: 'Schedule key deletion' }).click();
    await page.getByText('waiting period 7 days').waitFor();
    expect(await page.getByTestId('key-state').textContent()).toBe('PendingDeletion');
    expect((await s.kms.send(new DescribeKeyCommand({ KeyId: keyId() }))).KeyMetadata).toMatchObject({ KeyState: 'PendingDeletion', PendingDeletionWindowInDays: 7 });
    await shot('05-deletion-scheduled');

    await page.getByRole('button', { name: 'Cancel key deletion' }).click();
    await page.getByText('Key deletion cancelled').waitFor();
    expect(await page.getByTestId('key-state').textContent()).toBe('Disabled');
    expect((await s.kms.send(new DescribeKeyCommand({ KeyId: keyId() }))).KeyMetadata?.KeyState).toBe('Disabled');
    await page.getByRole('button', { name: 'Enable key' }).click();
    await page.getByText('Key enabled.').waitFor();
    expect(await page.getByTestId('key-state').textContent()).toBe('Enabled');
    await shot('06-deletion-cancelled');
  });

  it('edits the key policy: invalid JSON stopped here, a malformed policy refused as MalformedPolicyDocumentException', async () => {
    const editor = page.getByRole('textbox', { name: 'Key policy' });
    await expect.poll(() => editor.inputValue()).toContain('Enable IAM User Permissions');
    const save = page.getByRole('button', { name: 'Save key policy' });
    const policySection = page.getByRole('region', { name: 'Key policy' });

    await editor.fill('{ "Statement": [');
    await save.click();
    await policySection.getByRole('alert').waitFor();
    expect(await policySection.getByRole('alert').textContent()).toContain('The policy is not valid JSON');

    const malformed = { Version: '2012-10-17', Statement: [{ Effect: 'Perhaps', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' }] };
    await editor.fill(JSON.stringify(malformed, null, 2));
    await save.click();
    await expect.poll(() => policySection.getByRole('alert').textContent()).toContain('MalformedPolicyDocumentException');
    await shot('07-policy-malformed-refused');
    const stored = await s.kms.send(new GetKeyPolicyCommand({ KeyId: keyId(), PolicyName: 'default' }));
    expect(stored.Policy).not.toContain('Perhaps');

    const edited = { Version: '2012-10-17', Statement: [{ Sid: 'Edited in the console', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' }] };
    await editor.fill(JSON.stringify(edited, null, 2));
    await save.click();
    await policySection.getByRole('status').waitFor();
    expect(await policySection.getByRole('status').textContent()).toBe('Key policy saved.');
    expect(JSON.parse((await s.kms.send(new GetKeyPolicyCommand({ KeyId: keyId(), PolicyName: 'default' }))).Policy as string)).toEqual(edited);
    await shot('08-policy-saved');
  });

  it('the audit viewer names a chain tampered in the database as broken, at the altered event', async () => {
    const url = s.db?.url;
    if (s.db?.kind !== 'postgres' || !url) throw new Error('this test tampers with Postgres rows: it needs the local Postgres or TEST_DATABASE_URL');
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    let seq: number;
    try {
      const rows = await sql<{ chain_seq: string }[]>`select chain_seq from audit_events where operation = 'Encrypt' order by chain_seq desc limit 1`;
      seq = Number(rows[0]?.chain_seq);
      await sql.begin(async (tx) => {
        await tx.unsafe('set local session_replication_role = replica');
        await tx.unsafe(`update audit_events set record = replace(record, '"Encrypt"', '"Decrypt"') where chain_seq = ${seq}`);
      });
    } finally {
      await sql.end();
    }
    await page.getByRole('link', { name: 'Audit' }).click();
    await expect.poll(() => page.getByTestId('chain-status').textContent()).toBe('Chain BROKEN');
    expect(await page.getByRole('region', { name: 'Chain verification' }).textContent()).toContain(`BROKEN at event ${seq}`);
    await shot('09-audit-chain-broken');
  });

  it("downloads an asymmetric key's public key as PEM and revokes a grant from the key page", async () => {
    const created = await s.kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', Description: 'signing key' }));
    const signingKey = created.KeyMetadata?.KeyId as string;
    await s.kms.send(new CreateGrantCommand({ KeyId: signingKey, GranteePrincipal: `arn:aws:iam::${ACCOUNT}:user/bob`, Operations: ['Sign'], Name: 'bob-signs' }));
    await page.goto(`${s.server.url}/console/#/keys/${signingKey}`);
    await page.getByRole('button', { name: 'Revoke grant bob-signs' }).waitFor();
    await shot('10-asymmetric-key-grants');

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download public key' }).click()]);
    expect(download.suggestedFilename()).toBe(`${signingKey}.pem`);
    const pem = readFileSync(await download.path(), 'utf8');
    const der = (await s.kms.send(new GetPublicKeyCommand({ KeyId: signingKey }))).PublicKey as Uint8Array;
    expect(pem).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    expect(pem.replace(/-----[A-Z ]+-----|\n/g, '')).toBe(Buffer.from(der).toString('base64'));

    await page.getByRole('button', { name: 'Revoke grant bob-signs' }).click();
    await page.getByText('Grant revoked.').waitFor();
    await page.getByRole('table', { name: 'Grants' }).getByText('No grants.').waitFor();
    expect((await s.kms.send(new ListGrantsCommand({ KeyId: signingKey }))).Grants).toEqual([]);
    await shot('11-grant-revoked');
  });

  it('lists keys filtered by state and usage, ten to a page', async () => {
    for (let i = 0; i < 9; i++) await s.kms.send(new CreateKeyCommand({ Description: `filler ${i}` }));
    const disabled = (await s.kms.send(new CreateKeyCommand({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC', Description: 'the disabled one' }))).KeyMetadata?.KeyId as string;
    await s.kms.send(new DisableKeyCommand({ KeyId: disabled }));
    await page.getByRole('link', { name: 'Keys', exact: true }).click();
    const info = page.getByText(/^Page \d+ of \d+/);
    await expect.poll(() => info.textContent()).toBe('Page 1 of 2 (12 keys)');
    const rows = page.getByRole('table', { name: 'Keys of this account' }).locator('tbody tr');
    expect(await rows.count()).toBe(10);
    await page.getByRole('button', { name: 'Next page' }).click();
    expect(await info.textContent()).toBe('Page 2 of 2 (12 keys)');
    expect(await rows.count()).toBe(2);
    await page.getByLabel('Key state').selectOption('Disabled');
    await page.getByLabel('Key usage').selectOption('GENERATE_VERIFY_MAC');
    expect(await info.textContent()).toBe('Page 1 of 1 (1 key)');
    await rows.getByRole('link', { name: disabled }).waitFor();
    await page.getByLabel('Search by key ID, alias or description').fill('console-e2e');
    expect(await info.textContent()).toBe('Page 1 of 1 (0 keys)');
    await page.getByLabel('Key usage').selectOption('');
    await page.getByLabel('Key state').selectOption('');
    expect(await info.textContent()).toBe('Page 1 of 1 (1 key)');
    await shot('12-keys-filtered');
  });

  it("shows an imported key's materials, and Rotate now makes the material pending rotation current", async () => {
    const key = (await s.kms.send(new CreateKeyCommand({ Origin: 'EXTERNAL', Description: 'byok' }))).KeyMetadata!;
    const importMaterial = async (extra: { ImportType?: 'NEW_KEY_MATERIAL'; KeyMaterialDescription?: string }) => {
      const p = await s.kms.send(new GetParametersForImportCommand({ KeyId: key.KeyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }));
      const EncryptedKeyMaterial = wrap('RSAES_OAEP_SHA_256', p.PublicKey!, randomBytes(32));
      return s.kms.send(new ImportKeyMaterialCommand({ KeyId: key.KeyId, ImportToken: p.ImportToken, EncryptedKeyMaterial, ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE', ...extra }));
    };
    const first = (await importMaterial({})).KeyMaterialId!;
    const second = (await importMaterial({ ImportType: 'NEW_KEY_MATERIAL', KeyMaterialDescription: 'next year' })).KeyMaterialId!;
    await page.goto(`${s.server.url}/console/#/keys/${key.KeyId}`);
    const rows = page.getByTestId('key-materials').locator('tr');
    const cells = async () => (await rows.evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.getAttribute('title') || td.textContent))));
    await rows.nth(1).waitFor();
    expect(await cells()).toEqual([[first, 'CURRENT', '—', 'IMPORTED', 'Never', ''], [second, 'PENDING_ROTATION', '—', 'IMPORTED', 'Never', 'next year']]);
    // Automatic rotation is not offered for imported material: only Rotate now.
    expect(await page.getByRole('button', { name: 'Save rotation settings' }).count()).toBe(0);
    await shot('12-imported-key-materials');

    await page.getByRole('button', { name: 'Rotate now' }).click();
    await page.getByText('the pending key material is now current').waitFor();
    // The page is drawn again: its table fills once ListKeyRotations answers.
    await expect.poll(async () => (await cells()).map((c) => [c[0], c[1]])).toEqual([[first, 'NON_CURRENT'], [second, 'CURRENT']]);
    expect((await s.kms.send(new DescribeKeyCommand({ KeyId: key.KeyId }))).KeyMetadata!.CurrentKeyMaterialId).toBe(second);
  });

  it('is usable by keyboard: sign out, sign in and open the wizard without the mouse', async () => {
    await tabTo('Sign out');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Sign in to Coffer' }).waitFor();
    expect(await page.evaluate("document.activeElement?.getAttribute('name')")).toBe('accessKeyId');
    await page.keyboard.type(ADMIN.accessKeyId);
    await page.keyboard.press('Tab');
    await page.keyboard.type(ADMIN.secretAccessKey);
    await page.keyboard.press('Enter');
    await page.getByRole('table', { name: 'Keys of this account' }).waitFor();
    await tabTo('Create key');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: /Step 1 of 5/ }).waitFor();
    await tabTo('Next');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: /Step 2 of 5/ }).waitFor();
    expect(await page.evaluate('document.activeElement?.textContent')).toContain('Step 2 of 5');
    await shot('13-keyboard-wizard');
    expect(pageErrors).toEqual([]);
  });
});
