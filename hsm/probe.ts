// Start-up probe of the token's mechanisms: refuses to start without the required ones, records the rest for later.
import { KmsError } from '../core/errors.js';
import { ck, type Handle, type PKCS11 } from './module.js';

export interface MechanismCapability {
  minKeySize: number;
  maxKeySize: number;
  flags: number;
  encrypt: boolean;
  decrypt: boolean;
  sign: boolean;
  verify: boolean;
  wrap: boolean;
  unwrap: boolean;
  generate: boolean;
  derive: boolean;
}

export interface Capabilities {
  /** Every mechanism the token lists, by its CKM_ name (or hex number when pkcs11js has no name for it). */
  mechanisms: Record<string, MechanismCapability>;
  /** Present, for the features of later issues. */
  optional: Record<string, boolean>;
}

/** Checked at start; each entry says what the token must do with it. */
const REQUIRED: { name: string; ok: (c: MechanismCapability) => boolean; needs: string }[] = [
  { name: 'CKM_AES_KEY_GEN', ok: (c) => c.generate && c.minKeySize <= 32 && c.maxKeySize >= 32, needs: 'generate 32-byte keys' },
  { name: 'CKM_AES_GCM', ok: (c) => c.encrypt && c.decrypt, needs: 'encrypt and decrypt' },
];

const OPTIONAL = [
  'CKM_AES_KEY_WRAP', 'CKM_AES_KEY_WRAP_PAD', 'CKM_RSA_PKCS_KEY_PAIR_GEN', 'CKM_RSA_PKCS_OAEP', 'CKM_RSA_PKCS_PSS',
  'CKM_EC_KEY_PAIR_GEN', 'CKM_ECDSA', 'CKM_ECDH1_DERIVE', 'CKM_GENERIC_SECRET_KEY_GEN',
  'CKM_SHA256_HMAC', 'CKM_SHA384_HMAC', 'CKM_SHA512_HMAC', 'CKM_SHA256', 'CKM_SHA384', 'CKM_SHA512',
];

function mechanismNames(): Map<number, string> {
  const names = new Map<number, string>();
  for (const [k, v] of Object.entries(ck)) {
    if (k.startsWith('CKM_') && typeof v === 'number' && !names.has(v)) names.set(v, k);
  }
  return names;
}

function numberOf(name: string): number {
  return (ck as unknown as Record<string, number | undefined>)[name] ?? -1;
}

function describe(lib: PKCS11, slot: Handle, mech: number): MechanismCapability {
  const info = lib.C_GetMechanismInfo(slot, mech);
  const has = (flag: number): boolean => (info.flags & flag) !== 0;
  return {
    minKeySize: info.minKeySize, maxKeySize: info.maxKeySize, flags: info.flags,
    encrypt: has(ck.CKF_ENCRYPT), decrypt: has(ck.CKF_DECRYPT), sign: has(ck.CKF_SIGN), verify: has(ck.CKF_VERIFY),
    wrap: has(ck.CKF_WRAP), unwrap: has(ck.CKF_UNWRAP), generate: has(ck.CKF_GENERATE) || has(ck.CKF_GENERATE_KEY_PAIR),
    derive: has(ck.CKF_DERIVE),
  };
}

/** Lists the token's mechanisms; throws KMSInternalException naming every missing required one. */
export function probe(lib: PKCS11, slot: Handle): Capabilities {
  const names = mechanismNames();
  const byNumber = new Map<number, MechanismCapability>();
  for (const m of lib.C_GetMechanismList(slot)) byNumber.set(m, describe(lib, slot, m));
  const lookup = (name: string): MechanismCapability | undefined => byNumber.get(numberOf(name));
  const missing = REQUIRED.filter((r) => {
    const c = lookup(r.name);
    return c === undefined || !r.ok(c);
  });
  if (missing.length > 0) {
    const list = missing.map((r) => `${r.name} (${r.needs})`).join(', ');
    throw new KmsError('KMSInternalException', `The HSM token lacks required mechanisms: ${list}.`);
  }
  const mechanisms = Object.fromEntries([...byNumber].map(([m, c]) => [names.get(m) ?? `0x${m.toString(16)}`, c]));
  for (const r of REQUIRED) mechanisms[r.name] = lookup(r.name) as MechanismCapability;
  const optional = Object.fromEntries(OPTIONAL.map((n) => [n, byNumber.has(numberOf(n))]));
  return { mechanisms, optional };
}
