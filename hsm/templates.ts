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

function aes256Key(id: Buffer, label: string): Template {
  return [
    { type: ck.CKA_CLASS, value: ck.CKO_SECRET_KEY },
    { type: ck.CKA_KEY_TYPE, value: ck.CKK_AES },
    { type: ck.CKA_VALUE_LEN, value: 32 },
    { type: ck.CKA_TOKEN, value: true },
    { type: ck.CKA_PRIVATE, value: true },
    { type: ck.CKA_SENSITIVE, value: true },
    { type: ck.CKA_EXTRACTABLE, value: false },
    { type: ck.CKA_ENCRYPT, value: true },
    { type: ck.CKA_DECRYPT, value: true },
    { type: ck.CKA_WRAP, value: false },
    { type: ck.CKA_UNWRAP, value: false },
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
