// Wycheproof AES-GCM vectors through the code that does the work: token keys made from the vector's key
// material (C_CreateObject, the root-key template plus CKA_VALUE), then Pkcs11Hsm.decrypt and encrypt.
import { createDecipheriv, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KmsError } from '../../core/errors.js';
import { ck } from '../../hsm/module.js';
import { rootKeyTemplate } from '../../hsm/templates.js';
import { ROOT } from '../helpers/server.js';
import { createObject, hex, vectorToken } from './vector-keys.js';
import { Recorder } from './record.js';

interface AeadVector { tcId: number; comment: string; flags: string[]; key: string; iv: string; aad: string; msg: string; ct: string; tag: string; result: 'valid' | 'invalid' | 'acceptable' }
interface AeadFile { testGroups: { ivSize: number; keySize: number; tagSize: number; tests: AeadVector[] }[] }

const rec = new Recorder('test vectors: Wycheproof AES-GCM');
const FILE = join(ROOT, 'test', 'vectors', 'wycheproof', 'aes_gcm_256_96_128_subset.json');
const vt = vectorToken('coffer-vectors', () => {
  rec.save();
});

/** Imports raw AES key material as a root key of a new version id, exactly as generated ones are marked. */
function importKey(keyHex: string): string {
  const versionId = randomUUID();
  const template = rootKeyTemplate(versionId).filter((a) => a.type !== ck.CKA_VALUE_LEN);
  createObject(vt.token, [...template, { type: ck.CKA_VALUE, value: Buffer.from(keyHex, 'hex') }]);
  return versionId;
}

async function outcome(p: Promise<Uint8Array>): Promise<{ code: string | null; value?: Uint8Array }> {
  try {
    return { code: null, value: await p };
  } catch (e) {
    return { code: e instanceof KmsError ? e.code : `not a KmsError: ${(e as Error).name}` };
  }
}

describe('Wycheproof AES-GCM (256-bit keys, 96-bit IVs, 128-bit tags)', () => {
  const file = JSON.parse(readFileSync(FILE, 'utf8')) as AeadFile;
  const vectors = file.testGroups.filter((g) => g.keySize === 256 && g.ivSize === 96 && g.tagSize === 128).flatMap((g) => g.tests);

  it('the committed file holds the vectors', () => {
    expect(vectors.length).toBeGreaterThanOrEqual(40);
    expect(vectors.some((v) => v.result === 'invalid')).toBe(true);
  });

  it('Pkcs11Hsm.decrypt: valid vectors give the message, invalid ones InvalidCiphertextException', async () => {
    for (const v of vectors) {
      const versionId = importKey(v.key);
      const got = await outcome(vt.hsm.decrypt(versionId, hex(v.iv), Buffer.concat([hex(v.ct), hex(v.tag)]), hex(v.aad)));
      if (v.result === 'invalid') {
        rec.check(got.code === 'InvalidCiphertextException', `tcId ${v.tcId} (${v.comment}): ${got.code ?? 'decrypted'}`);
      } else if (v.msg === '') {
        // By design Coffer never seals an empty plaintext, so an empty one is refused as not Coffer's.
        rec.check(got.code === 'InvalidCiphertextException', `tcId ${v.tcId} empty message: ${got.code ?? 'decrypted'}`);
      } else {
        rec.check(got.code === null && Buffer.from(got.value!).equals(hex(v.msg)), `tcId ${v.tcId}: ${got.code ?? 'wrong plaintext'}`);
      }
    }
    expect(rec.counts.failures).toBe(0);
  });

  it('Pkcs11Hsm.encrypt under the vector key is standard AES-256-GCM (checked with the vector key outside the token)', async () => {
    for (const v of vectors.filter((x) => x.result === 'valid' && x.msg !== '')) {
      const versionId = importKey(v.key);
      const { iv, ciphertext } = await vt.hsm.encrypt(versionId, hex(v.msg), () => hex(v.aad));
      const d = createDecipheriv('aes-256-gcm', hex(v.key), iv);
      d.setAAD(hex(v.aad));
      d.setAuthTag(Buffer.from(ciphertext.subarray(ciphertext.length - 16)));
      let plain: Buffer | null;
      try {
        plain = Buffer.concat([d.update(ciphertext.subarray(0, ciphertext.length - 16)), d.final()]);
      } catch {
        plain = null;
      }
      rec.check(iv.length === 12 && plain !== null && plain.equals(hex(v.msg)), `tcId ${v.tcId}: token encryption does not decrypt`);
      // And the token decrypts its own output.
      const back = await outcome(vt.hsm.decrypt(versionId, iv, ciphertext, hex(v.aad)));
      rec.check(back.code === null && Buffer.from(back.value!).equals(hex(v.msg)), `tcId ${v.tcId}: round trip`);
    }
    expect(rec.counts.failures).toBe(0);
  });
});
