// The bench harness, quickly: its signer passes the server's SigV4 verification, its load generator (a separate
// process) counts responses from the bare Hono server for one second, and the Sign phases and raw sign loops run
// briefly against a real server and token, as do BENCH_KEYS's phases. The bench itself is npm run bench.
import { describe, expect, it } from 'vitest';
import { verifySigV4 } from '../../server/protocol/sigv4.js';
import { ADMIN, freshDatabase, REGION, runLoadProcess, startBareHono, startCofferServer } from '../../scripts/bench/processes.js';
import { manyKeyPhases } from '../../scripts/bench/many-keys.js';
import { rawTokenRates } from '../../scripts/bench/raw-token.js';
import { loopStats, NO_THROTTLE, phases, prepare, signOpsOf, verifyOpsOf } from '../../scripts/bench/run.js';
import { Signer } from '../../scripts/bench/sign.js';

function parse(bytes: Buffer) {
  const text = bytes.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  const [requestLine, ...lines] = text.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
  }
  return { method: (requestLine as string).split(' ')[0] as string, path: '/', query: '', headers, body: bytes.subarray(Buffer.byteLength(text.slice(0, end + 4), 'latin1')) };
}

describe('bench harness', () => {
  it('signs requests the server verifies, and not with a wrong secret', async () => {
    const body = Buffer.from(JSON.stringify({ NumberOfBytes: 32 }));
    const req = parse(new Signer({ ...ADMIN, region: REGION }, '127.0.0.1:8080').request('TrentService.GenerateRandom', body));
    const exp = { region: REGION, service: 'kms', now: new Date() };
    const ok = await verifySigV4(req, exp, async () => ADMIN.secretAccessKey);
    expect(ok.accessKeyId).toBe(ADMIN.accessKeyId);
    await expect(verifySigV4(req, exp, async () => 'x'.repeat(40))).rejects.toMatchObject({ code: 'InvalidSignatureException' });
  });

  it('drives the bare Hono server from a second process for 1 s and counts every response', async () => {
    const bare = await startBareHono();
    try {
      const r = await runLoadProcess({
        url: bare.url,
        target: 'TrentService.Encrypt',
        bodies: [JSON.stringify({ KeyId: 'alias/x', Plaintext: 'AAEC' })],
        credentials: { ...ADMIN, region: REGION },
        connections: 4,
        warmupMs: 100,
        durationMs: 1000,
      });
      expect(r.requests).toBeGreaterThan(0);
      expect(r.errors).toBe(0);
      expect(r.statuses['200']).toBe(r.requests);
      expect(r.p99Ms).toBeGreaterThanOrEqual(r.p50Ms);
    } finally {
      await bare.stop();
    }
  });

  it('runs each Sign phase (ECC_NIST_P256, RSA_2048, RSA_4096) and Verify phase (ECC_NIST_P256, RSA_2048) without errors, with the loop delay, and each raw sign loop', async () => {
    const signOps = signOpsOf(undefined);
    const db = await freshDatabase();
    const server = await startCofferServer({ databaseUrl: db.url, env: NO_THROTTLE });
    try {
      const signs = phases(await prepare(server.url, signOps, verifyOpsOf(undefined))).filter((p) => p.target === 'TrentService.Sign' || p.target === 'TrentService.Verify');
      expect(signs.map((p) => p.name)).toEqual(['Sign ECC_NIST_P256', 'Sign RSA_2048', 'Sign RSA_4096', 'Verify ECC_NIST_P256', 'Verify RSA_2048']);
      for (const p of signs) {
        await loopStats(server);
        const r = await runLoadProcess({ url: server.url, target: p.target, bodies: p.bodies, credentials: { ...ADMIN, region: REGION }, connections: 2, warmupMs: 100, durationMs: 500 });
        expect(r.errors, `${p.name}: ${r.firstError}`).toBe(0);
        expect(r.requests).toBeGreaterThan(0);
        expect(r.statuses['200']).toBe(r.requests);
        expect(await loopStats(server)).toMatchObject({ p99Ms: expect.any(Number), maxMs: expect.any(Number) });
      }
    } finally {
      await server.stop();
      await db.drop();
    }
    const raw = await rawTokenRates({ callers: 4, ms: 200, ops: signOps });
    expect(raw.rates.map((r) => `${r.op}/${r.mode}`)).toEqual(['signEcc/sync', 'signEcc/async', 'signRsa2048/async', 'signRsa4096/async']);
    for (const r of raw.rates) expect(r.rps, `${r.op}/${r.mode}`).toBeGreaterThan(0);
  }, 180_000);

  it('BENCH_KEYS: creates keys under load, tops them up to N leaving out the excluded key, and Encrypts over all and over 10', async () => {
    const db = await freshDatabase();
    const server = await startCofferServer({ databaseUrl: db.url, env: NO_THROTTLE });
    try {
      const { keyId: excluded } = await prepare(server.url);
      const names: string[] = [];
      for await (const p of manyKeyPhases(server.url, 12, [excluded])) {
        names.push(p.name);
        if (p.name.startsWith('Encrypt over')) {
          const keys = new Set(p.bodies.map((b) => (JSON.parse(b) as { KeyId: string }).KeyId));
          expect(keys.has(excluded)).toBe(false);
          expect(keys.size).toBe(p.name === 'Encrypt over 10 keys' ? 10 : Number(p.name.split(' ')[2]));
        }
        const r = await runLoadProcess({ url: server.url, target: p.target, bodies: p.bodies, credentials: { ...ADMIN, region: REGION }, connections: 2, warmupMs: 100, durationMs: 300 });
        expect(r.errors, `${p.name}: ${r.firstError}`).toBe(0);
        expect(r.requests).toBeGreaterThan(0);
      }
      expect(names[0]).toBe('CreateKey');
      expect(Number(names[1]?.split(' ')[2])).toBeGreaterThanOrEqual(12);
      expect(names[2]).toBe('Encrypt over 10 keys');
    } finally {
      await server.stop();
      await db.drop();
    }
  }, 120_000);
});
