// Wycheproof RSA vectors through the code that does the work: a token private key made from the vector's key
// components (C_CreateObject), then Pkcs11Hsm.asymmetricDecrypt (RSAES-OAEP-SHA-256: raw RSA in the token + decoding)
// and Pkcs11Hsm.verify (RSASSA-PSS-SHA-256 salt 32, and RSASSA-PKCS1-v1_5, in the token) with a token public key.
import { createHash, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { KmsError } from '../../core/errors.js';
import type { RsaSpec, SigningAlgorithm } from '../../core/key-spec.js';
import { ck } from '../../hsm/module.js';
import { rsaKeyPairTemplates } from '../../hsm/templates.js';
import { Recorder } from './record.js';
import { bigInt, createObject, hex, loadVectors, vectorToken } from './vector-keys.js';

type Result = 'valid' | 'invalid' | 'acceptable';
interface RsaPrivateKey {
  modulus: string; privateExponent: string; publicExponent: string; prime1: string; prime2: string;
  exponent1: string; exponent2: string; coefficient: string;
}
interface OaepTest { tcId: number; comment: string; msg: string; ct: string; label: string; result: Result }
interface PssTest { tcId: number; comment: string; msg: string; sig: string; result: Result }
interface OaepFile { testGroups: { keySize: number; sha: string; mgfSha: string; privateKey: RsaPrivateKey; tests: OaepTest[] }[] }

const oaepRec = new Recorder('test vectors: Wycheproof RSA-OAEP-2048-SHA256');
const pssRec = new Recorder('test vectors: Wycheproof RSA-PSS-2048-SHA256');
const pss3072Rec = new Recorder('test vectors: Wycheproof RSA-PSS-3072-SHA256');
const pss4096Rec = new Recorder('test vectors: Wycheproof RSA-PSS-4096-SHA256');
const pkcs1Rec = new Recorder('test vectors: Wycheproof RSA-PKCS1-2048-SHA256');
const pkcs1Rec3072 = new Recorder('test vectors: Wycheproof RSA-PKCS1-3072-SHA256');
const pkcs1Rec4096 = new Recorder('test vectors: Wycheproof RSA-PKCS1-4096-SHA256');
const vt = vectorToken('coffer-vrsa', () => {
  oaepRec.save();
  pssRec.save();
  pss3072Rec.save();
  pss4096Rec.save();
  pkcs1Rec.save();
  pkcs1Rec3072.save();
  pkcs1Rec4096.save();
});

/** The vector's RSA private key as the private half of a generated ENCRYPT_DECRYPT key pair of a new version id. */
function importRsaPrivateKey(k: RsaPrivateKey, bits: number): string {
  const versionId = randomUUID();
  const { privateKey } = rsaKeyPairTemplates(versionId, bits, 'ENCRYPT_DECRYPT');
  createObject(vt.token, [
    ...privateKey,
    { type: ck.CKA_MODULUS, value: bigInt(k.modulus) },
    { type: ck.CKA_PUBLIC_EXPONENT, value: bigInt(k.publicExponent) },
    { type: ck.CKA_PRIVATE_EXPONENT, value: bigInt(k.privateExponent) },
    { type: ck.CKA_PRIME_1, value: bigInt(k.prime1) },
    { type: ck.CKA_PRIME_2, value: bigInt(k.prime2) },
    { type: ck.CKA_EXPONENT_1, value: bigInt(k.exponent1) },
    { type: ck.CKA_EXPONENT_2, value: bigInt(k.exponent2) },
    { type: ck.CKA_COEFFICIENT, value: bigInt(k.coefficient) },
  ]);
  return versionId;
}

/** The vector's RSA public key as the public half of a generated SIGN_VERIFY key pair of a new version id. */
function importRsaPublicKey(k: { modulus: string; publicExponent: string }, bits: number): string {
  const versionId = randomUUID();
  const { publicKey } = rsaKeyPairTemplates(versionId, bits, 'SIGN_VERIFY');
  const settable = publicKey.filter((a) => a.type !== ck.CKA_MODULUS_BITS && a.type !== ck.CKA_PUBLIC_EXPONENT);
  createObject(vt.token, [
    ...settable,
    { type: ck.CKA_MODULUS, value: bigInt(k.modulus) },
    { type: ck.CKA_PUBLIC_EXPONENT, value: bigInt(k.publicExponent) },
  ]);
  return versionId;
}

async function outcome(p: Promise<Uint8Array>): Promise<{ code: string | null; value?: Uint8Array }> {
  try {
    return { code: null, value: await p };
  } catch (e) {
    return { code: e instanceof KmsError ? e.code : `not a KmsError: ${(e as Error).name}` };
  }
}

describe('Wycheproof RSAES-OAEP 2048 SHA-256 MGF1-SHA-256', () => {
  const file = loadVectors<OaepFile>('rsa_oaep_2048_sha256_mgf1sha256_subset.json');
  const groups = file.testGroups.filter((g) => g.keySize === 2048 && g.sha === 'SHA-256' && g.mgfSha === 'SHA-256');
  // AWS's RSAES_OAEP_SHA_256 uses no label: vectors encrypted with a label do not apply (none are committed).
  const all = groups.flatMap((g) => g.tests);

  it('the committed file holds valid and invalid vectors, none with a label', () => {
    expect(all.length).toBeGreaterThanOrEqual(19);
    expect(all.every((t) => t.label === '')).toBe(true);
    expect(all.some((t) => t.result === 'valid')).toBe(true);
    expect(all.some((t) => t.result === 'invalid')).toBe(true);
  });

  it('Pkcs11Hsm.asymmetricDecrypt: valid → the message, invalid → InvalidCiphertextException', async () => {
    let decrypted = 0;
    let refused = 0;
    for (const g of groups) {
      const versionId = importRsaPrivateKey(g.privateKey, g.keySize);
      for (const t of g.tests.filter((x) => x.label === '')) {
        const got = await outcome(vt.hsm.asymmetricDecrypt(versionId, 'RSA_2048', 'RSAES_OAEP_SHA_256', hex(t.ct)));
        if (t.result === 'acceptable') {
          oaepRec.check(got.code === null || got.code === 'InvalidCiphertextException', `tcId ${t.tcId} (${t.comment}): ${got.code}`);
          continue;
        }
        if (t.result === 'valid') {
          oaepRec.check(got.code === null && Buffer.from(got.value!).equals(hex(t.msg)), `tcId ${t.tcId} (${t.comment}): ${got.code ?? 'wrong plaintext'}`);
        } else {
          oaepRec.check(got.code === 'InvalidCiphertextException', `tcId ${t.tcId} (${t.comment}): ${got.code ?? 'decrypted'}`);
        }
        if (got.code === null) decrypted++;
        if (got.code === 'InvalidCiphertextException') refused++;
      }
    }
    expect(oaepRec.counts.failures).toBe(0);
    expect(decrypted).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
  });
});

interface SignatureFile {
  testGroups: { keySize: number; sha: string; mgfSha?: string; sLen?: number; publicKey: { modulus: string; publicExponent: string }; tests: PssTest[] }[];
}
const SIGNATURE_FILES: { title: string; file: string; algorithm: SigningAlgorithm; hash: string; sLen?: number; min: number; rec: Recorder }[] = [
  // AWS's RSASSA_PSS_SHA_256 is MGF1 with SHA-256 and a 32-byte salt: only those groups apply.
  { title: 'RSASSA-PSS 2048 SHA-256 MGF1-SHA-256 salt 32', file: 'rsa_pss_2048_sha256_mgf1_32_subset.json', algorithm: 'RSASSA_PSS_SHA_256', hash: 'sha256', sLen: 32, min: 16, rec: pssRec },
  { title: 'RSASSA-PSS 3072 SHA-256 MGF1-SHA-256 salt 32', file: 'rsa_pss_3072_sha256_mgf1_32_subset.json', algorithm: 'RSASSA_PSS_SHA_256', hash: 'sha256', sLen: 32, min: 10, rec: pss3072Rec },
  { title: 'RSASSA-PSS 4096 SHA-256 MGF1-SHA-256 salt 32', file: 'rsa_pss_4096_sha256_mgf1_32_subset.json', algorithm: 'RSASSA_PSS_SHA_256', hash: 'sha256', sLen: 32, min: 6, rec: pss4096Rec },
  { title: 'RSASSA-PKCS1-v1_5 2048 SHA-256', file: 'rsa_pkcs1_2048_sha256_subset.json', algorithm: 'RSASSA_PKCS1_V1_5_SHA_256', hash: 'sha256', min: 20, rec: pkcs1Rec },
  { title: 'RSASSA-PKCS1-v1_5 3072 SHA-256', file: 'rsa_pkcs1_3072_sha256_subset.json', algorithm: 'RSASSA_PKCS1_V1_5_SHA_256', hash: 'sha256', min: 8, rec: pkcs1Rec3072 },
  { title: 'RSASSA-PKCS1-v1_5 4096 SHA-256', file: 'rsa_pkcs1_4096_sha256_subset.json', algorithm: 'RSASSA_PKCS1_V1_5_SHA_256', hash: 'sha256', min: 5, rec: pkcs1Rec4096 },
];

describe.each(SIGNATURE_FILES)('Wycheproof $title', ({ file: name, algorithm, hash, sLen, min, rec }) => {
  const file = loadVectors<SignatureFile>(name);
  const sha = `SHA-${hash.slice(3)}`;
  const groups = file.testGroups.filter((g) => g.sha === sha && (sLen === undefined || (g.mgfSha === sha && g.sLen === sLen)));
  const all = groups.flatMap((g) => g.tests);

  it('the committed file holds valid and invalid vectors', () => {
    expect(all.length).toBeGreaterThanOrEqual(min);
    expect(all.some((t) => t.result === 'valid')).toBe(true);
    expect(all.some((t) => t.result === 'invalid')).toBe(true);
  });

  it('Pkcs11Hsm.verify with a token public key: valid → true, invalid → false, never a throw', async () => {
    let accepted = 0;
    let rejected = 0;
    for (const g of groups) {
      const spec = `RSA_${g.keySize}` as RsaSpec;
      const versionId = importRsaPublicKey(g.publicKey, g.keySize);
      for (const t of g.tests) {
        const digest = createHash(hash).update(hex(t.msg)).digest();
        let got: boolean | string;
        try {
          got = await vt.hsm.verify(versionId, spec, algorithm, digest, hex(t.sig));
        } catch (e) {
          got = `threw ${(e as Error).name}: ${(e as Error).message}`;
        }
        if (t.result === 'acceptable') {
          rec.check(typeof got === 'boolean', `tcId ${t.tcId} (${t.comment}): ${String(got)}`);
          if (typeof got === 'boolean') rec.note(`tcId ${t.tcId} (${t.comment}, "acceptable"): verify gave ${got}`);
          continue;
        }
        rec.check(got === (t.result === 'valid'), `tcId ${t.tcId} (${t.comment}): expected ${t.result}, got ${String(got)}`);
        if (got === true) accepted++;
        if (got === false) rejected++;
      }
    }
    expect(rec.counts.failures).toBe(0);
    expect(accepted).toBeGreaterThan(0);
    expect(rejected).toBeGreaterThan(0);
  });
});
