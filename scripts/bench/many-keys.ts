// BENCH_KEYS=N: the CreateKey rate, then Encrypt spread over N keys against Encrypt over 10 of them, so a cache or
// an index that only works while the keys are few shows as a gap between the two rows. BENCH_MANY_KEYS_SPEC=HMAC_256
// does the same with HMAC keys and GenerateMac.
import { randomBytes } from 'node:crypto';
import { CreateKeyCommand, EncryptCommand, GenerateMacCommand, KMSClient, ListKeysCommand } from '@aws-sdk/client-kms';
import { ADMIN, REGION } from './processes.js';
import type { Phase } from './run.js';

export const encryptBodies = (keyIds: string[], count: number): string[] =>
  Array.from({ length: count }, (_, i) => JSON.stringify({ KeyId: keyIds[i % keyIds.length], Plaintext: randomBytes(32).toString('base64') }));

/** The kind of key the phases create and use: symmetric (Encrypt), or HMAC_256 (GenerateMac). */
const HMAC = process.env.BENCH_MANY_KEYS_SPEC === 'HMAC_256';
const CREATE = HMAC ? { Description: 'bench many keys', KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' } as const : { Description: 'bench many keys' };
const USE = HMAC ? 'GenerateMac' : 'Encrypt';
const useBodies = (keyIds: string[], count: number): string[] =>
  HMAC
    ? Array.from({ length: count }, (_, i) => JSON.stringify({ KeyId: keyIds[i % keyIds.length], Message: randomBytes(32).toString('base64'), MacAlgorithm: 'HMAC_SHA_256' }))
    : encryptBodies(keyIds, count);
const useOnce = (kms: KMSClient, KeyId: string) =>
  HMAC ? kms.send(new GenerateMacCommand({ KeyId, Message: randomBytes(32), MacAlgorithm: 'HMAC_SHA_256' })) : kms.send(new EncryptCommand({ KeyId, Plaintext: randomBytes(32) }));

/** Every key id the server lists, in its order. */
async function listKeyIds(kms: KMSClient): Promise<string[]> {
  const ids: string[] = [];
  let marker: string | undefined;
  do {
    const page = await kms.send(new ListKeysCommand({ Limit: 1000, Marker: marker }));
    ids.push(...(page.Keys ?? []).map((k) => k.KeyId as string));
    marker = page.Truncated ? page.NextMarker : undefined;
  } while (marker);
  return ids;
}

/** Creates symmetric keys, `parallel` at a time, until the server lists at least `n` besides those in `exclude`. */
export async function topUp(kms: KMSClient, n: number, exclude: Set<string>): Promise<string[]> {
  const have = (await listKeyIds(kms)).filter((id) => !exclude.has(id));
  let missing = Math.max(0, n - have.length);
  const worker = async () => {
    while (missing > 0) {
      missing -= 1;
      const made = await kms.send(new CreateKeyCommand(CREATE));
      have.push(made.KeyMetadata?.KeyId as string);
    }
  };
  const made = missing;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: 16 }, worker));
  const seconds = (performance.now() - t0) / 1000;
  // CreateKey slows as the token holds more objects: this rate, over the whole top-up, is the other figure to read.
  if (made) process.stderr.write(`[bench] created ${made} keys in ${seconds.toFixed(0)} s: ${(made / seconds).toFixed(1)} CreateKey/s\n`);
  return have;
}

/** Passes over every key before the measured phase (BENCH_WARM_PASSES); see firstUse. */
const WARM_PASSES = Number(process.env.BENCH_WARM_PASSES ?? 6);

/**
 * One Encrypt with each key, 16 at a time, before Encrypt over all of them is measured: the measured phase is then the
 * steady state of a server that has seen its keys (caches warm), and the first pass's rate is the first-use (cold)
 * figure. With several workers each unwraps and caches its own copy of a key, and a pass reaches each key through
 * one of them, so the pass is repeated: after k passes a key is still cold in a given one of 2 workers with
 * probability 2^-k (1.6% after 6). Each pass's rate is printed, so the warming shows.
 */
async function firstUse(kms: KMSClient, ids: string[]): Promise<void> {
  for (let pass = 1; pass <= WARM_PASSES; pass++) {
    let next = 0;
    const t0 = performance.now();
    const worker = async () => {
      while (next < ids.length) {
        const KeyId = ids[next++];
        await useOnce(kms, KeyId as string);
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    const seconds = (performance.now() - t0) / 1000;
    const what = pass === 1 ? 'first use' : `pass ${pass}`;
    process.stderr.write(`[bench] ${what} of ${ids.length} keys in ${seconds.toFixed(1)} s: ${(ids.length / seconds).toFixed(0)} ${USE}/s (16 at a time)\n`);
  }
}

/**
 * Yields the CreateKey phase (the loader creates keys for the phase's duration); once it has been measured, tops
 * the keys up to `n` and yields Encrypt over all of them (in random order) and Encrypt over 10 of them.
 * `exclude`: keys of other phases (signing keys cannot Encrypt).
 */
export async function* manyKeyPhases(url: string, n: number, exclude: string[]): AsyncGenerator<Phase> {
  yield { name: HMAC ? 'CreateKey HMAC_256' : 'CreateKey', target: 'TrentService.CreateKey', bodies: [JSON.stringify(CREATE)], raw: null, server: 'coffer' };
  const kms = new KMSClient({ endpoint: url, region: REGION, credentials: ADMIN, maxAttempts: 1 });
  try {
    process.stderr.write(`[bench] creating keys up to ${n} ...\n`);
    const ids = (await topUp(kms, n, new Set(exclude))).sort(() => Math.random() - 0.5);
    await firstUse(kms, ids);
    const raw = HMAC ? null : 'encrypt';
    yield { name: `${USE} over ${ids.length} keys`, target: `TrentService.${USE}`, bodies: useBodies(ids, ids.length), raw, server: 'coffer' };
    yield { name: `${USE} over 10 keys`, target: `TrentService.${USE}`, bodies: useBodies(ids.slice(0, 10), 640), raw, server: 'coffer' };
  } finally {
    kms.destroy();
  }
}
