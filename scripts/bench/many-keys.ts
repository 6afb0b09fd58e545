// BENCH_KEYS=N: the CreateKey rate, then Encrypt spread over N keys against Encrypt over 10 of them, so a cache or
// an index that only works while the keys are few shows as a gap between the two rows.
import { randomBytes } from 'node:crypto';
import { CreateKeyCommand, EncryptCommand, KMSClient, ListKeysCommand } from '@aws-sdk/client-kms';
import { ADMIN, REGION } from './processes.js';
import type { Phase } from './run.js';

export const encryptBodies = (keyIds: string[], count: number): string[] =>
  Array.from({ length: count }, (_, i) => JSON.stringify({ KeyId: keyIds[i % keyIds.length], Plaintext: randomBytes(32).toString('base64') }));

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
      const made = await kms.send(new CreateKeyCommand({ Description: 'bench many keys' }));
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
        await kms.send(new EncryptCommand({ KeyId, Plaintext: randomBytes(32) }));
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    const seconds = (performance.now() - t0) / 1000;
    const what = pass === 1 ? 'first use' : `pass ${pass}`;
    process.stderr.write(`[bench] ${what} of ${ids.length} keys in ${seconds.toFixed(1)} s: ${(ids.length / seconds).toFixed(0)} Encrypt/s (16 at a time)\n`);
  }
}

/**
 * Yields the CreateKey phase (the loader creates keys for the phase's duration); once it has been measured, tops
 * the keys up to `n` and yields Encrypt over all of them (in random order) and Encrypt over 10 of them.
 * `exclude`: keys of other phases (signing keys cannot Encrypt).
 */
export async function* manyKeyPhases(url: string, n: number, exclude: string[]): AsyncGenerator<Phase> {
  yield { name: 'CreateKey', target: 'TrentService.CreateKey', bodies: [JSON.stringify({ Description: 'bench many keys' })], raw: null, server: 'coffer' };
  const kms = new KMSClient({ endpoint: url, region: REGION, credentials: ADMIN, maxAttempts: 1 });
  try {
    process.stderr.write(`[bench] creating keys up to ${n} ...\n`);
    const ids = (await topUp(kms, n, new Set(exclude))).sort(() => Math.random() - 0.5);
    await firstUse(kms, ids);
    yield { name: `Encrypt over ${ids.length} keys`, target: 'TrentService.Encrypt', bodies: encryptBodies(ids, ids.length), raw: 'encrypt', server: 'coffer' };
    yield { name: 'Encrypt over 10 keys', target: 'TrentService.Encrypt', bodies: encryptBodies(ids.slice(0, 10), 640), raw: 'encrypt', server: 'coffer' };
  } finally {
    kms.destroy();
  }
}
