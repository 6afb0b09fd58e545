// The domain keys of COFFER_KEY_STORE=wrapped as token objects (hsm/wrapped-keys.ts uses them): AES-256 keys that
// only wrap and unwrap, named by a random 16-byte CKA_ID. The one labelled coffer:domain-key wraps new material
// (the lowest id when a rotation or two fresh starts briefly left two); a rotation relabels the others
// coffer:domain-key:retired, and a retired key still unwraps what it wrapped until it is destroyed.
//
// Every method runs synchronously on the session it is given; handles are cached and dropped by `clear` when that
// session is replaced. The label of the cached active key is read again before each use, so an instance wraps
// nothing under a key another process retired (measured with SoftHSM: a relabel or destroy in one process is seen at
// once by the others' C_GetAttributeValue, the destroyed handle as CKR_OBJECT_HANDLE_INVALID).
import { KmsError } from '../core/errors.js';
import { isHandleInvalid } from './errors.js';
import { aesKeyGen } from './mechanisms.js';
import { findObjects, type Handle, type PKCS11 } from './module.js';
import {
  DOMAIN_KEY_LABEL, domainKeyAttributesTemplate, domainKeyTemplate, findDomainKeyByIdTemplate, findDomainKeyTemplate, retireDomainKeyTemplate,
} from './templates.js';

const DOMAIN_KEY_MISSING = 'The domain key that wrapped this key material is not in the HSM.';
const domainKeyMissing = () => new KmsError('KMSInternalException', DOMAIN_KEY_MISSING);

/** Whether `e` says a blob's domain key is not in the token (destroyed, or a token restored without it). */
export function isDomainKeyMissing(e: unknown): boolean {
  return e instanceof KmsError && e.message === DOMAIN_KEY_MISSING;
}

export interface DomainKey {
  id: Buffer;
  handle: Handle;
}

export class DomainKeyRing {
  private current: DomainKey | null = null;
  private readonly handles = new Map<string, Handle>();

  constructor(private readonly lib: PKCS11) {}

  /** The domain key new material is wrapped under, checked to be labelled active still; null when the token has none. */
  active(s: Handle): DomainKey | null {
    if (this.current !== null && this.label(s, this.current.handle) === DOMAIN_KEY_LABEL) return this.current;
    const keys = this.labelled(s, false).sort((a, b) => Buffer.compare(a.id, b.id));
    for (const k of keys) this.handles.set(k.id.toString('hex'), k.handle);
    this.current = keys[0] ?? null;
    return this.current;
  }

  /**
   * The domain key a blob names, whatever its label now. A cached handle is checked first (this runs once per use copy
   * made, not per request): another instance may have destroyed the key since, once every blob naming it was rewrapped.
   */
  unwrapping(s: Handle, id: Buffer): Handle {
    const hex = id.toString('hex');
    const cached = this.handles.get(hex);
    if (cached !== undefined && this.exists(s, cached)) return cached;
    this.handles.delete(hex);
    const found = this.find(s, id);
    if (found === null) throw domainKeyMissing();
    return found.handle;
  }

  /** Makes a domain key with this id, labelled active, unless the token has one (a retried call makes no twin). */
  create(s: Handle, id: Buffer): void {
    if (this.find(s, id) === null) this.lib.C_GenerateKey(s, aesKeyGen(), domainKeyTemplate(id));
  }

  /** Relabels every active domain key but `keep` retired; returns their ids. */
  retireAllBut(s: Handle, keep: Buffer): Buffer[] {
    const retired: Buffer[] = [];
    for (const k of this.labelled(s, false)) {
      if (k.id.equals(keep)) continue;
      this.lib.C_SetAttributeValue(s, k.handle, retireDomainKeyTemplate());
      retired.push(k.id);
    }
    this.current = null;
    return retired;
  }

  /** Every domain key in the token with its state by label. */
  list(s: Handle): Array<{ id: Buffer; retired: boolean }> {
    return [...this.labelled(s, false).map((k) => ({ id: k.id, retired: false })), ...this.labelled(s, true).map((k) => ({ id: k.id, retired: true }))];
  }

  /** The domain key with this id, whatever its label, and whether it is retired; null when the token has none. */
  find(s: Handle, id: Buffer): { handle: Handle; retired: boolean } | null {
    const handle = findObjects(this.lib, s, findDomainKeyByIdTemplate(id))[0];
    if (handle === undefined) return null;
    this.handles.set(id.toString('hex'), handle);
    return { handle, retired: this.label(s, handle) !== DOMAIN_KEY_LABEL };
  }

  destroy(s: Handle, id: Buffer, handle: Handle): void {
    this.handles.delete(id.toString('hex'));
    if (this.current?.id.equals(id)) this.current = null;
    this.lib.C_DestroyObject(s, handle);
  }

  /** Forgets every handle (their session was replaced). */
  clear(): void {
    this.current = null;
    this.handles.clear();
  }

  private labelled(s: Handle, retired: boolean): DomainKey[] {
    return findObjects(this.lib, s, findDomainKeyTemplate(retired)).map((handle) => ({ handle, id: this.attributes(s, handle).id }));
  }

  private exists(s: Handle, handle: Handle): boolean {
    try {
      this.attributes(s, handle);
      return true;
    } catch (e) {
      if (isHandleInvalid(e)) return false;
      throw e;
    }
  }

  private label(s: Handle, handle: Handle): string {
    return this.attributes(s, handle).label;
  }

  private attributes(s: Handle, handle: Handle): { id: Buffer; label: string } {
    const [id, label] = this.lib.C_GetAttributeValue(s, handle, domainKeyAttributesTemplate());
    return { id: id?.value as Buffer, label: (label?.value as Buffer).toString('utf8') };
  }
}
