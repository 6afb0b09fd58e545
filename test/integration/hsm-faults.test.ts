// Token sessions lost under load (C_CloseAllSessions from the same process, as a token reset or HSM failover does):
// affected calls fail with the retryable DependencyTimeoutException, and the pool reopens and logs in without a restart.
// Run twice: with every call on libuv's pool, and with small AES-GCM calls synchronous (COFFER_HSM_SYNC_MAX_BYTES,
// the default with SoftHSM once every core has a worker), whose failures are thrown on the event loop instead.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isKmsError } from '../../core/errors.js';
import { ensureDevToken, openHsm, type DevToken, type Pkcs11Hsm } from '../../hsm/index.js';
import { acquireModule, findSlot, releaseModule } from '../../hsm/module.js';
import { Recorder } from '../reliability/record.js';

describe.each([
  { calls: 'asynchronous calls', syncMaxBytes: 0 },
  { calls: 'synchronous AES-GCM calls', syncMaxBytes: 4096 },
])('with $calls', ({ calls, syncMaxBytes }) => {
  let dataDir: string;
  let token: DevToken;
  let hsm: Pkcs11Hsm;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'coffer-hsm-faults-'));
    token = await ensureDevToken({ dataDir, label: `coffer-faults-${randomUUID().slice(0, 8)}` });
    hsm = await openHsm({ ...token, poolSize: 4, syncMaxBytes });
  });

  // Also an area of `npm run test:reliability`'s table: each round trip under session loss is a case.
  const rec = new Recorder(`faults: token sessions closed under load (${calls})`);

  afterAll(async () => {
    rec.save();
    await hsm?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const aadOf = (iv: Uint8Array): Uint8Array => Buffer.concat([Buffer.from('faults:'), iv]);

  /** Closes every session of the token's slot in this process (the same library instance the pool uses). */
  function loseAllSessions(): void {
    const lib = acquireModule(token.modulePath);
    try {
      lib.C_CloseAllSessions(findSlot(lib, token.tokenLabel));
    } finally {
      releaseModule(token.modulePath);
    }
  }

  async function roundTrip(versionId: string, i: number): Promise<void> {
    const plaintext = Buffer.from(`message ${i}`);
    const { iv, ciphertext } = await hsm.encrypt(versionId, plaintext, aadOf);
    const back = await hsm.decrypt(versionId, iv, ciphertext, aadOf(iv));
    expect(Buffer.from(back)).toEqual(plaintext);
  }

  it('fails only retryably while sessions are lost under load, then recovers without a restart', async () => {
    const versionId = randomUUID();
    await hsm.createRootKey(versionId);
    const sealed = await hsm.seal(Buffer.from('credential'), Buffer.from('aad'));
    const failures: unknown[] = [];
    let ok = 0;
    let lost = 0;
    const worker = async (w: number) => {
      for (let i = 0; i < 150; i++) {
        // Every worker takes a turn at pulling the sessions away while the others are mid-operation.
        if (i % 50 === 25 && w % 2 === 0) {
          loseAllSessions();
          lost++;
        }
        try {
          await roundTrip(versionId, i);
          ok++;
        } catch (e) {
          failures.push(e);
        }
      }
    };
    await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map(worker));
    for (let i = 0; i < ok; i++) rec.check(true, 'round trip');
    for (const e of failures) rec.check(isKmsError(e) && e.code === 'DependencyTimeoutException' && e.retryable, `a lost session answered ${isKmsError(e) ? e.code : 'a non-KMS error'}`);
    rec.note(`${lost} session losses under 8 workers: ${ok} round trips succeeded, ${failures.length} failed retryably`);

    expect(lost).toBe(12);
    expect(ok).toBeGreaterThan(0);
    expect(failures.length).toBeGreaterThan(0); // the losses did hit operations in flight
    for (const e of failures) {
      expect(isKmsError(e) && { code: e.code, retryable: e.retryable }).toEqual({ code: 'DependencyTimeoutException', retryable: true });
    }
    // A loss fails at most the operations holding a session then; idle sessions are pruned, not tried by the next callers.
    expect(failures.length).toBeLessThanOrEqual(lost * hsm.pool.size);

    // Recovered: fresh, logged-in sessions; root and credential keys usable (their handles were found again).
    for (let i = 0; i < 20; i++) await roundTrip(versionId, i);
    const unsealed = Buffer.from(await hsm.unseal(sealed, Buffer.from('aad')));
    if (!rec.check(unsealed.equals(Buffer.from('credential')), 'a credential sealed before the losses unseals after')) rec.lose(1, 'sealed credential');
    expect(unsealed).toEqual(Buffer.from('credential'));
    expect(await hsm.healthy()).toBe(true);
    expect(hsm.pool.openCount).toBeLessThanOrEqual(hsm.pool.size);
    expect(hsm.pool.dropped).toBeGreaterThan(0);
  });

  it('costs one failed call, not one per pooled session, when sessions are lost while idle', async () => {
    const versionId = randomUUID();
    await hsm.createRootKey(versionId);
    // Warm every session of the pool, then lose them all with nothing in flight.
    await Promise.all(Array.from({ length: hsm.pool.size * 2 }, (_, i) => roundTrip(versionId, i)));
    expect(hsm.pool.openCount).toBe(hsm.pool.size);
    loseAllSessions();
    let failed = 0;
    for (let i = 0; i < hsm.pool.size * 2; i++) {
      await roundTrip(versionId, i).catch((e: unknown) => {
        expect(isKmsError(e) && e.code).toBe('DependencyTimeoutException');
        failed++;
      });
    }
    expect(failed).toBe(1);
  });
});
