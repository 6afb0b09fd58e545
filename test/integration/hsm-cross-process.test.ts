// Two processes on one SoftHSM token directory: what each sees of the other's keys (child runs under tsx).
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDevToken, openHsm, type DevToken, type Pkcs11Hsm } from '../../hsm/index.js';

const repoRoot = new URL('../../', import.meta.url);
const hsmIndex = new URL('hsm/index.ts', repoRoot).href;

// The child answers one JSON request per line; bytes travel as hex. The PIN comes from the token's PIN file.
const CHILD = `
import { createInterface } from 'node:readline';
import { ensureDevToken, openHsm } from ${JSON.stringify(hsmIndex)};
const [dataDir, label, pinOverride] = process.argv.slice(2);
const hex = (b) => Buffer.from(b).toString('hex');
const bin = (h) => Buffer.from(h, 'hex');
const out = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
let hsm;
try {
  const token = await ensureDevToken({ dataDir, label });
  hsm = await openHsm({ ...token, pin: pinOverride ? bin(pinOverride).toString() : token.pin, poolSize: 2 });
  out({ ready: true });
} catch (e) {
  out({ ready: false, code: e.code, message: e.message });
  process.exit(0);
}
const ops = {
  create: (r) => hsm.createRootKey(r.id),
  has: (r) => hsm.hasRootKey(r.id),
  destroy: (r) => hsm.destroyRootKey(r.id),
  encrypt: async (r) => { const e = await hsm.encrypt(r.id, bin(r.data), () => bin(r.aad)); return { iv: hex(e.iv), ct: hex(e.ciphertext) }; },
  decrypt: async (r) => hex(await hsm.decrypt(r.id, bin(r.iv), bin(r.ct), bin(r.aad))),
  seal: async (r) => hex(await hsm.seal(bin(r.data), bin(r.aad))),
  unseal: async (r) => hex(await hsm.unseal(bin(r.data), bin(r.aad))),
  close: async () => { await hsm.close(); setImmediate(() => process.exit(0)); },
};
for await (const line of createInterface({ input: process.stdin })) {
  const r = JSON.parse(line);
  try { out({ ok: true, value: await ops[r.op](r) }); } catch (e) { out({ ok: false, code: e.code ?? e.message }); }
}
`;

interface Reply {
  ok?: boolean;
  ready?: boolean;
  value?: unknown;
  code?: string;
  message?: string;
}

class Child {
  private readonly replies: ((r: Reply) => void)[] = [];
  private constructor(private readonly proc: ChildProcessWithoutNullStreams) {
    createInterface({ input: proc.stdout }).on('line', (l) => this.replies.shift()?.(JSON.parse(l) as Reply));
  }
  static async start(script: string, dataDir: string, label: string, pin?: string): Promise<{ child: Child; hello: Reply }> {
    const args = ['--import', 'tsx', script, dataDir, label, ...(pin ? [Buffer.from(pin).toString('hex')] : [])];
    const proc = spawn(process.execPath, args, { cwd: new URL('.', repoRoot).pathname, env: { ...process.env } });
    const child = new Child(proc);
    const hello = await child.next();
    return { child, hello };
  }
  next(): Promise<Reply> {
    return new Promise((resolve) => this.replies.push(resolve));
  }
  send(req: Record<string, unknown>): Promise<Reply> {
    const p = this.next();
    this.proc.stdin.write(`${JSON.stringify(req)}\n`);
    return p;
  }
  async stop(): Promise<number | null> {
    const exited = new Promise<number | null>((r) => this.proc.once('exit', r));
    await this.send({ op: 'close' });
    return exited;
  }
}

let dataDir: string;
let script: string;
let token: DevToken;
let hsm: Pkcs11Hsm;
let child: Child;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'coffer-hsm-xp-'));
  script = join(dataDir, 'child.mjs');
  writeFileSync(script, CHILD);
  token = await ensureDevToken({ dataDir, label: `coffer-xp-${randomUUID().slice(0, 8)}` });
  hsm = await openHsm({ ...token, poolSize: 2 });
  const started = await Child.start(script, dataDir, token.tokenLabel);
  expect(started.hello).toMatchObject({ ready: true });
  child = started.child;
});

afterAll(async () => {
  await child?.stop();
  await hsm?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('two processes on one token directory', () => {
  it('sees a key the other process created after both opened the token', async () => {
    const fromParent = randomUUID();
    expect(await hsm.hasRootKey(fromParent)).toBe(false);
    await hsm.createRootKey(fromParent);
    expect(await child.send({ op: 'has', id: fromParent })).toEqual({ ok: true, value: true });

    const fromChild = randomUUID();
    expect(await hsm.hasRootKey(fromChild)).toBe(false); // looked for it before it existed
    expect(await child.send({ op: 'create', id: fromChild })).toMatchObject({ ok: true });
    expect(await hsm.hasRootKey(fromChild)).toBe(true);
  });

  it('decrypts in one process what the other encrypted', async () => {
    const v = randomUUID();
    await child.send({ op: 'create', id: v });
    const aad = Buffer.from('ctx');
    const { iv, ciphertext } = await hsm.encrypt(v, Buffer.from('across'), () => aad);
    const r = await child.send({ op: 'decrypt', id: v, iv: hex(iv), ct: hex(ciphertext), aad: hex(aad) });
    expect(r).toEqual({ ok: true, value: hex(Buffer.from('across')) });
    const e = (await child.send({ op: 'encrypt', id: v, data: hex(Buffer.from('back')), aad: hex(aad) })) as { value: { iv: string; ct: string } };
    expect(Buffer.from(await hsm.decrypt(v, Buffer.from(e.value.iv, 'hex'), Buffer.from(e.value.ct, 'hex'), aad)).toString()).toBe('back');
  });

  it('shares one credential key: sealed in one process, unsealed in the other', async () => {
    const r = await child.send({ op: 'seal', data: hex(Buffer.from('s3cret')), aad: hex(Buffer.from('AKIA')) });
    expect(Buffer.from(await hsm.unseal(Buffer.from(r.value as string, 'hex'), Buffer.from('AKIA'))).toString()).toBe('s3cret');
  });

  it('notices a key the other process destroyed, even with its handle cached', async () => {
    const v = randomUUID();
    await hsm.createRootKey(v);
    const aad = Buffer.from('a');
    const { iv, ciphertext } = await hsm.encrypt(v, Buffer.from('cached'), () => aad); // handle now cached
    expect(await child.send({ op: 'destroy', id: v })).toMatchObject({ ok: true });
    const after = await hsm.decrypt(v, iv, ciphertext, aad).then(
      () => 'decrypted',
      (e: { code: string; message: string }) => `${e.code}: ${e.message}`,
    );
    console.log(`[measure] decrypt with a cached handle after another process destroyed the key: ${after}`);
    // The stale handle fails, the adapter re-finds once, and the token no longer has the key.
    expect(after).toBe('KMSInternalException: The key material of this key version is not in the HSM.');
    expect(await hsm.hasRootKey(v)).toBe(false);
  });

  it('refuses a wrong PIN in a fresh process without echoing it', async () => {
    const wrong = 'deadbeefdeadbeefdeadbeef00000000';
    const { child: bad, hello } = await Child.start(script, dataDir, token.tokenLabel, wrong);
    expect(hello).toMatchObject({ ready: false, code: 'KMSInternalException' });
    expect(hello.message).toMatch(/refused the user PIN/);
    expect(JSON.stringify(hello)).not.toContain(wrong);
    void bad;
  });
});
