// The only place that builds CKA_ attribute templates: root keys, the credential sealing key, and their searches.
import type { Template } from 'pkcs11js';
import { uuidToBytes } from '../core/ciphertext.js';
import { ck } from './module.js';

export const CREDENTIAL_KEY_LABEL = 'coffer:credential-seal';
/** Fixed CKA_ID of the credential key: 16 ASCII bytes, so it is found the same way in every process. */
export const CREDENTIAL_KEY_ID = Buffer.from('coffer:cred-seal', 'ascii');

export function rootKeyLabel(versionId: string): string {
  return `coffer:${versionId}`;
}

/** An AES-256 token key that encrypts and decrypts, or (a domain key) only wraps and unwraps. */
function aes256Key(id: Buffer, label: string, wraps = false): Template {
  return [
    { type: ck.CKA_CLASS, value: ck.CKO_SECRET_KEY },
    { type: ck.CKA_KEY_TYPE, value: ck.CKK_AES },
    { type: ck.CKA_VALUE_LEN, value: 32 },
    { type: ck.CKA_TOKEN, value: true },
    { type: ck.CKA_PRIVATE, value: true },
    { type: ck.CKA_SENSITIVE, value: true },
    { type: ck.CKA_EXTRACTABLE, value: false },
    { type: ck.CKA_ENCRYPT, value: !wraps },
    { type: ck.CKA_DECRYPT, value: !wraps },
    { type: ck.CKA_WRAP, value: wraps },
    { type: ck.CKA_UNWRAP, value: wraps },
    { type: ck.CKA_ID, value: id },
    { type: ck.CKA_LABEL, value: label },
  ];
}

function search(id: Buffer, label: string): Template {
  return [
    { type: ck.CKA_CLASS, value: ck.CKO_SECRET_KEY },
    { type: ck.CKA_KEY_TYPE, value: ck.CKK_AES },
    { type: ck.CKA_TOKEN, value: true },
    { type: ck.CKA_ID, value: id },
    { type: ck.CKA_LABEL, value: label },
  ];
}

/** Throws TypeError when versionId is not a UUID. */
export function rootKeyTemplate(versionId: string): Template {
  return aes256Key(Buffer.from(uuidToBytes(versionId)), rootKeyLabel(versionId));
}

export function findRootKeyTemplate(versionId: string): Template {
  return search(Buffer.from(uuidToBytes(versionId)), rootKeyLabel(versionId));
}

export function credentialKeyTemplate(): Template {
  return aes256Key(CREDENTIAL_KEY_ID, CREDENTIAL_KEY_LABEL);
}

export function findCredentialKeyTemplate(): Template {
  return search(CREDENTIAL_KEY_ID, CREDENTIAL_KEY_LABEL);
}

/** Any token object of a key version (secret key, private key or public key), for destroy and presence checks. */
export function findVersionObjectsTemplate(versionId: string): Template {
  return [
    { type: ck.CKA_TOKEN, value: true },
    { type: ck.CKA_ID, value: Buffer.from(uuidToBytes(versionId)) },
    { type: ck.CKA_LABEL, value: rootKeyLabel(versionId) },
  ];
}

export type VersionObject = 'private' | 'public' | 'hmac';

const CLASS_OF: Record<VersionObject, number> = { private: ck.CKO_PRIVATE_KEY, public: ck.CKO_PUBLIC_KEY, hmac: ck.CKO_SECRET_KEY };

/** One object of a key version by class. */
export function findVersionObjectTemplate(versionId: string, kind: VersionObject): Template {
  return [{ type: ck.CKA_CLASS, value: CLASS_OF[kind] }, ...findVersionObjectsTemplate(versionId)];
}

export interface KeyPairTemplates {
  publicKey: Template;
  privateKey: Template;
}

export type PairUsage = 'SIGN_VERIFY' | 'ENCRYPT_DECRYPT' | 'KEY_AGREEMENT';

/** A version's token pair; or, with a null version id, session objects (wrapped key store) whose private half is extractable only to be wrapped. */
function pairTemplates(versionId: string | null, keyType: number, usage: PairUsage, pub: Template, priv: Template = []): KeyPairTemplates {
  const named = versionId === null ? [] : [
    { type: ck.CKA_ID, value: Buffer.from(uuidToBytes(versionId)) },
    { type: ck.CKA_LABEL, value: rootKeyLabel(versionId) },
  ];
  const common = [
    { type: ck.CKA_KEY_TYPE, value: keyType },
    { type: ck.CKA_TOKEN, value: versionId !== null },
    ...named,
  ];
  return {
    publicKey: [
      { type: ck.CKA_CLASS, value: ck.CKO_PUBLIC_KEY },
      ...common,
      { type: ck.CKA_PRIVATE, value: false },
      { type: ck.CKA_VERIFY, value: usage === 'SIGN_VERIFY' },
      { type: ck.CKA_ENCRYPT, value: usage === 'ENCRYPT_DECRYPT' },
      { type: ck.CKA_WRAP, value: false },
      ...pub,
    ],
    privateKey: [
      { type: ck.CKA_CLASS, value: ck.CKO_PRIVATE_KEY },
      ...common,
      { type: ck.CKA_PRIVATE, value: true },
      { type: ck.CKA_SENSITIVE, value: true },
      { type: ck.CKA_EXTRACTABLE, value: versionId === null },
      { type: ck.CKA_SIGN, value: usage === 'SIGN_VERIFY' },
      { type: ck.CKA_DECRYPT, value: usage === 'ENCRYPT_DECRYPT' },
      { type: ck.CKA_DERIVE, value: usage === 'KEY_AGREEMENT' },
      { type: ck.CKA_UNWRAP, value: false },
      ...priv,
    ],
  };
}

/** An EC key pair on the curve named by its DER OID; the private half sensitive and non-extractable (null version: see pairTemplates). */
export function ecKeyPairTemplates(versionId: string | null, curveOid: Buffer, usage: PairUsage): KeyPairTemplates {
  return pairTemplates(versionId, ck.CKK_EC, usage, [{ type: ck.CKA_EC_PARAMS, value: curveOid }]);
}

/** An RSA key pair of `bits` with public exponent 65537. */
export function rsaKeyPairTemplates(versionId: string | null, bits: number, usage: PairUsage): KeyPairTemplates {
  return pairTemplates(versionId, ck.CKK_RSA, usage, [
    { type: ck.CKA_MODULUS_BITS, value: bits },
    { type: ck.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) },
  ]);
}

/** An HMAC key (generic secret of `bytes`), sensitive and non-extractable, able to sign and verify only. */
export function hmacKeyTemplate(versionId: string, bytes: number): Template {
  return [{ type: ck.CKA_VALUE_LEN, value: bytes }, ...hmacKeyAttributes(versionId)];
}

/** An imported HMAC key: the caller's material as CKA_VALUE, otherwise as a generated one. */
export function importedHmacKeyTemplate(versionId: string, material: Buffer): Template {
  return [{ type: ck.CKA_VALUE, value: material }, ...hmacKeyAttributes(versionId)];
}

function hmacKeyAttributes(versionId: string): Template {
  return [
    ...hmacKey(true, false),
    { type: ck.CKA_ID, value: Buffer.from(uuidToBytes(versionId)) },
    { type: ck.CKA_LABEL, value: rootKeyLabel(versionId) },
  ];
}

/** A generic secret that signs and verifies only: a token object, or a session object (wrapped mode). */
function hmacKey(token: boolean, extractable: boolean): Template {
  return [
    { type: ck.CKA_CLASS, value: ck.CKO_SECRET_KEY },
    { type: ck.CKA_KEY_TYPE, value: ck.CKK_GENERIC_SECRET },
    { type: ck.CKA_TOKEN, value: token },
    { type: ck.CKA_PRIVATE, value: true },
    { type: ck.CKA_SENSITIVE, value: true },
    { type: ck.CKA_EXTRACTABLE, value: extractable },
    { type: ck.CKA_SIGN, value: true },
    { type: ck.CKA_VERIFY, value: true },
    { type: ck.CKA_ENCRYPT, value: false },
    { type: ck.CKA_DECRYPT, value: false },
    { type: ck.CKA_WRAP, value: false },
    { type: ck.CKA_UNWRAP, value: false },
    { type: ck.CKA_DERIVE, value: false },
  ];
}

/**
 * The ECDH shared secret as a session object (never on the token) that can be read once and destroyed:
 * DeriveSharedSecret returns the raw secret to the caller, as AWS does.
 */
export function sharedSecretTemplate(bytes: number): Template {
  return [
    { type: ck.CKA_CLASS, value: ck.CKO_SECRET_KEY },
    { type: ck.CKA_KEY_TYPE, value: ck.CKK_GENERIC_SECRET },
    { type: ck.CKA_VALUE_LEN, value: bytes },
    { type: ck.CKA_TOKEN, value: false },
    { type: ck.CKA_SENSITIVE, value: false },
    { type: ck.CKA_EXTRACTABLE, value: true },
  ];
}

export const PUBLIC_EC_ATTRIBUTES: Template = [{ type: ck.CKA_EC_PARAMS }, { type: ck.CKA_EC_POINT }];
export const PUBLIC_RSA_ATTRIBUTES: Template = [{ type: ck.CKA_MODULUS }, { type: ck.CKA_PUBLIC_EXPONENT }];
export const VALUE_ATTRIBUTE: Template = [{ type: ck.CKA_VALUE }];

/**
 * An imported AES-256 root key: the caller's material as CKA_VALUE, then sensitive and non-extractable like a
 * generated one. The material was unwrapped in process (the token lacks OAEP-SHA-256 and RSA-AES key wrap).
 */
export function importedRootKeyTemplate(versionId: string, material: Buffer): Template {
  return [...rootKeyTemplate(versionId).filter((a) => a.type !== ck.CKA_VALUE_LEN), { type: ck.CKA_VALUE, value: material }];
}

/** pkcs11js 2.1.7 names neither; values from PKCS#11 3.0. SoftHSM 2.6.1 lists both mechanisms (measured). */
export const CKK_EC_EDWARDS = 0x40;
export const ED25519_OID = Buffer.from('06032b6570', 'hex');

/** An Ed25519 key pair (CKK_EC_EDWARDS on curve OID 1.3.101.112), signing only. */
export function edKeyPairTemplates(versionId: string): KeyPairTemplates {
  return pairTemplates(versionId, CKK_EC_EDWARDS, 'SIGN_VERIFY', [{ type: ck.CKA_EC_PARAMS, value: ED25519_OID }]);
}

/** The components of an imported private key (the public key's are the first ones). */
export interface ImportedRsaKey { n: Buffer; e: Buffer; d: Buffer; p: Buffer; q: Buffer; dp: Buffer; dq: Buffer; qi: Buffer }

/**
 * An imported key pair for C_CreateObject: the caller's values, otherwise as a generated pair (private half sensitive
 * and non-extractable). EC and Ed25519: `curveOid` is CKA_EC_PARAMS, `point` the public point as CKA_EC_POINT holds it
 * (a DER OCTET STRING, as SoftHSM stores generated ones), `d` the private value.
 */
export function importedRsaKeyPairTemplates(versionId: string | null, usage: PairUsage, k: ImportedRsaKey): KeyPairTemplates {
  const pub = [{ type: ck.CKA_MODULUS, value: k.n }, { type: ck.CKA_PUBLIC_EXPONENT, value: k.e }];
  return pairTemplates(versionId, ck.CKK_RSA, usage, pub, [
    ...pub,
    { type: ck.CKA_PRIVATE_EXPONENT, value: k.d },
    { type: ck.CKA_PRIME_1, value: k.p },
    { type: ck.CKA_PRIME_2, value: k.q },
    { type: ck.CKA_EXPONENT_1, value: k.dp },
    { type: ck.CKA_EXPONENT_2, value: k.dq },
    { type: ck.CKA_COEFFICIENT, value: k.qi },
  ]);
}

/** The public half of an RSA pair whose private half was unwrapped into the token. */
export function rsaPublicKeyTemplate(versionId: string | null, usage: PairUsage, n: Buffer, e: Buffer): Template {
  return pairTemplates(versionId, ck.CKK_RSA, usage, [{ type: ck.CKA_MODULUS, value: n }, { type: ck.CKA_PUBLIC_EXPONENT, value: e }]).publicKey;
}

/**
 * Wrapped key store: a pair's private half as C_UnwrapKey makes it from the PKCS #8 blob (a session object, sensitive;
 * extractable only for a domain-key rotation's rewrap copy), and its public half made from the stored public key.
 */
export function unwrappedPrivateKeyTemplate(keyType: number, usage: PairUsage, extractable = false): Template {
  return pairTemplates(null, keyType, usage, []).privateKey.map((a) => (a.type === ck.CKA_EXTRACTABLE ? { type: a.type, value: extractable } : a));
}

export function sessionPublicKeyTemplate(keyType: number, usage: PairUsage, pub: Template): Template {
  return pairTemplates(null, keyType, usage, pub).publicKey;
}

/** A digest as a session secret, only so the domain key can wrap it: the check of a key pair's blob (hsm/wrapped-blob.ts). */
export function checkValueTemplate(digest: Buffer): Template {
  return [
    { type: ck.CKA_CLASS, value: ck.CKO_SECRET_KEY },
    { type: ck.CKA_KEY_TYPE, value: ck.CKK_GENERIC_SECRET },
    { type: ck.CKA_TOKEN, value: false },
    { type: ck.CKA_VALUE, value: digest },
    { type: ck.CKA_EXTRACTABLE, value: true },
    { type: ck.CKA_SIGN, value: false },
    { type: ck.CKA_ENCRYPT, value: false },
    { type: ck.CKA_DERIVE, value: false },
  ];
}

/** The private half of an RSA pair as C_UnwrapKey creates it from a PKCS #8 key (the token fills in the values). */
export function unwrappedRsaPrivateKeyTemplate(versionId: string | null, usage: PairUsage): Template {
  return pairTemplates(versionId, ck.CKK_RSA, usage, []).privateKey;
}

/** An import wrapping pair: like an ENCRYPT_DECRYPT pair, but the private half may also unwrap (C_UnwrapKey with OAEP). */
export function wrappingKeyPairTemplates(versionId: string, bits: number): KeyPairTemplates {
  const t = rsaKeyPairTemplates(versionId, bits, 'ENCRYPT_DECRYPT');
  return { publicKey: t.publicKey, privateKey: t.privateKey.map((a) => (a.type === ck.CKA_UNWRAP ? { type: a.type, value: true } : a)) };
}

/** The AES key of RSA_AES_KEY_WRAP, unwrapped by the wrapping private key: a session object that can only unwrap. */
export function transportKeyTemplate(): Template {
  return [
    { type: ck.CKA_CLASS, value: ck.CKO_SECRET_KEY },
    { type: ck.CKA_KEY_TYPE, value: ck.CKK_AES },
    { type: ck.CKA_TOKEN, value: false },
    { type: ck.CKA_SENSITIVE, value: true },
    { type: ck.CKA_EXTRACTABLE, value: false },
    { type: ck.CKA_UNWRAP, value: true },
    { type: ck.CKA_ENCRYPT, value: false },
    { type: ck.CKA_DECRYPT, value: false },
  ];
}

export function importedEcKeyPairTemplates(versionId: string | null, usage: PairUsage, edwards: boolean, curveOid: Buffer, point: Buffer, d: Buffer): KeyPairTemplates {
  const params = { type: ck.CKA_EC_PARAMS, value: curveOid };
  return pairTemplates(versionId, edwards ? CKK_EC_EDWARDS : ck.CKK_EC, usage, [params, { type: ck.CKA_EC_POINT, value: point }], [params, { type: ck.CKA_VALUE, value: d }]);
}


// Session objects (CKA_TOKEN false, gone when the session closes) from published test material, for the
// start-up known-answer tests in hsm/self-test.ts only. Never used for customer keys.
function sessionKey(keyType: number, value: Buffer, usage: number[]): Template {
  return [
    { type: ck.CKA_CLASS, value: ck.CKO_SECRET_KEY },
    { type: ck.CKA_KEY_TYPE, value: keyType },
    { type: ck.CKA_TOKEN, value: false },
    { type: ck.CKA_PRIVATE, value: true },
    { type: ck.CKA_SENSITIVE, value: true },
    { type: ck.CKA_EXTRACTABLE, value: false },
    { type: ck.CKA_LABEL, value: 'coffer:self-test' },
    { type: ck.CKA_VALUE, value },
    ...usage.map((type) => ({ type, value: true })),
  ];
}

export function selfTestAesTemplate(value: Buffer): Template {
  return sessionKey(ck.CKK_AES, value, [ck.CKA_ENCRYPT, ck.CKA_DECRYPT]);
}

export function selfTestHmacTemplate(value: Buffer): Template {
  return sessionKey(ck.CKK_GENERIC_SECRET, value, [ck.CKA_SIGN, ck.CKA_VERIFY]);
}

export function selfTestEcPrivateTemplate(ecParams: Buffer, d: Buffer): Template {
  return [
    { type: ck.CKA_CLASS, value: ck.CKO_PRIVATE_KEY },
    { type: ck.CKA_KEY_TYPE, value: ck.CKK_EC },
    { type: ck.CKA_TOKEN, value: false },
    { type: ck.CKA_PRIVATE, value: true },
    { type: ck.CKA_SENSITIVE, value: true },
    { type: ck.CKA_EXTRACTABLE, value: false },
    { type: ck.CKA_SIGN, value: true },
    { type: ck.CKA_LABEL, value: 'coffer:self-test' },
    { type: ck.CKA_EC_PARAMS, value: ecParams },
    { type: ck.CKA_VALUE, value: d },
  ];
}

export function selfTestEcPublicTemplate(ecParams: Buffer, ecPoint: Buffer): Template {
  return [
    { type: ck.CKA_CLASS, value: ck.CKO_PUBLIC_KEY },
    { type: ck.CKA_KEY_TYPE, value: ck.CKK_EC },
    { type: ck.CKA_TOKEN, value: false },
    { type: ck.CKA_VERIFY, value: true },
    { type: ck.CKA_LABEL, value: 'coffer:self-test' },
    { type: ck.CKA_EC_PARAMS, value: ecParams },
    { type: ck.CKA_EC_POINT, value: ecPoint },
  ];
}

export const AUDIT_SIGNING_LABEL = 'coffer:audit-signing';
/** DER of the OID of NIST P-256 (prime256v1), the CKA_EC_PARAMS of the audit-signing key. */
export const P256_PARAMS = Buffer.from('06082a8648ce3d030107', 'hex');

/** The audit-signing key pair: a public key anyone may read, a private key that only signs and never leaves. */
export function auditSigningKeyPairTemplates(id: Buffer): { publicKey: Template; privateKey: Template } {
  return {
    publicKey: [
      { type: ck.CKA_CLASS, value: ck.CKO_PUBLIC_KEY },
      { type: ck.CKA_KEY_TYPE, value: ck.CKK_EC },
      { type: ck.CKA_TOKEN, value: true },
      { type: ck.CKA_PRIVATE, value: false },
      { type: ck.CKA_VERIFY, value: true },
      { type: ck.CKA_EC_PARAMS, value: P256_PARAMS },
      { type: ck.CKA_ID, value: id },
      { type: ck.CKA_LABEL, value: AUDIT_SIGNING_LABEL },
    ],
    privateKey: [
      { type: ck.CKA_CLASS, value: ck.CKO_PRIVATE_KEY },
      { type: ck.CKA_KEY_TYPE, value: ck.CKK_EC },
      { type: ck.CKA_TOKEN, value: true },
      { type: ck.CKA_PRIVATE, value: true },
      { type: ck.CKA_SENSITIVE, value: true },
      { type: ck.CKA_EXTRACTABLE, value: false },
      { type: ck.CKA_SIGN, value: true },
      { type: ck.CKA_ID, value: id },
      { type: ck.CKA_LABEL, value: AUDIT_SIGNING_LABEL },
    ],
  };
}

/** Audit-signing keys of one class (CKO_PUBLIC_KEY or CKO_PRIVATE_KEY), optionally of one CKA_ID. */
export function findAuditSigningTemplate(objectClass: number, id?: Buffer): Template {
  return [
    { type: ck.CKA_CLASS, value: objectClass },
    { type: ck.CKA_KEY_TYPE, value: ck.CKK_EC },
    { type: ck.CKA_TOKEN, value: true },
    { type: ck.CKA_LABEL, value: AUDIT_SIGNING_LABEL },
    ...(id ? [{ type: ck.CKA_ID, value: id }] : []),
  ];
}

/** Reads attribute values (the only read template; CKA_EC_POINT and CKA_ID of a public key). */
export function publicPointTemplate(): Template {
  return [{ type: ck.CKA_EC_POINT }, { type: ck.CKA_ID }];
}

// COFFER_KEY_STORE=wrapped (hsm/wrapped-keys.ts): domain keys in the token, key versions' material wrapped under them.

export const DOMAIN_KEY_LABEL = 'coffer:domain-key';

/** A domain key: AES-256 token object that only wraps and unwraps (CKA_ID: 16 random bytes naming it in every blob). */
export function domainKeyTemplate(id: Buffer): Template {
  return aes256Key(id, DOMAIN_KEY_LABEL, true);
}

/** A domain key a rotation replaced: it still unwraps what it wrapped, and wraps nothing new. */
export const RETIRED_DOMAIN_KEY_LABEL = 'coffer:domain-key:retired';

/** The active domain keys (those labelled as such), or with `retired` the retired ones. */
export function findDomainKeyTemplate(retired = false): Template {
  return [
    { type: ck.CKA_CLASS, value: ck.CKO_SECRET_KEY },
    { type: ck.CKA_KEY_TYPE, value: ck.CKK_AES },
    { type: ck.CKA_TOKEN, value: true },
    { type: ck.CKA_LABEL, value: retired ? RETIRED_DOMAIN_KEY_LABEL : DOMAIN_KEY_LABEL },
  ];
}

/** C_SetAttributeValue's template that retires a domain key. */
export function retireDomainKeyTemplate(): Template {
  return [{ type: ck.CKA_LABEL, value: RETIRED_DOMAIN_KEY_LABEL }];
}

/** Reads a domain key's CKA_ID and CKA_LABEL. */
export function domainKeyAttributesTemplate(): Template {
  return [{ type: ck.CKA_ID }, { type: ck.CKA_LABEL }];
}

/** The domain key a blob names, whatever its label now (a retired domain key still unwraps). */
export function findDomainKeyByIdTemplate(id: Buffer): Template {
  return [
    { type: ck.CKA_CLASS, value: ck.CKO_SECRET_KEY },
    { type: ck.CKA_KEY_TYPE, value: ck.CKK_AES },
    { type: ck.CKA_TOKEN, value: true },
    { type: ck.CKA_UNWRAP, value: true },
    { type: ck.CKA_ID, value: id },
  ];
}

function sessionAesKey(extractable: boolean): Template {
  return [
    { type: ck.CKA_CLASS, value: ck.CKO_SECRET_KEY },
    { type: ck.CKA_KEY_TYPE, value: ck.CKK_AES },
    { type: ck.CKA_TOKEN, value: false },
    { type: ck.CKA_PRIVATE, value: true },
    { type: ck.CKA_SENSITIVE, value: true },
    { type: ck.CKA_EXTRACTABLE, value: extractable },
    { type: ck.CKA_ENCRYPT, value: true },
    { type: ck.CKA_DECRYPT, value: true },
    { type: ck.CKA_WRAP, value: false },
    { type: ck.CKA_UNWRAP, value: false },
  ];
}

/** The generation copy of a version's AES-256 material: a session object, extractable only so it can be wrapped. */
export function wrappableRootKeyTemplate(): Template {
  return [...sessionAesKey(true), { type: ck.CKA_VALUE_LEN, value: 32 }];
}

/** Imported AES-256 material as a session object to be wrapped (then destroyed). */
export function wrappableImportedRootKeyTemplate(material: Buffer): Template {
  return [...sessionAesKey(true), { type: ck.CKA_VALUE, value: material }];
}

/**
 * The use copy C_UnwrapKey makes: a session object, sensitive and never extractable; `extractable` only for the copy
 * a domain-key rotation unwraps to wrap again under the new domain key (then destroys).
 */
export function unwrappedRootKeyTemplate(extractable = false): Template {
  return sessionAesKey(extractable);
}

/** The generation copy of a version's HMAC key (`bytes` long): a session object, extractable only so it can be wrapped. */
export function wrappableHmacKeyTemplate(bytes: number): Template {
  return [...hmacKey(false, true), { type: ck.CKA_VALUE_LEN, value: bytes }];
}

/** Imported HMAC material as a session object to be wrapped (then destroyed). */
export function wrappableImportedHmacKeyTemplate(material: Buffer): Template {
  return [...hmacKey(false, true), { type: ck.CKA_VALUE, value: material }];
}

/** An HMAC key's use copy (or, `extractable`, its rewrap copy), as unwrappedRootKeyTemplate for AES. */
export function unwrappedHmacKeyTemplate(extractable = false): Template {
  return hmacKey(false, extractable);
}
