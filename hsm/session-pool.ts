// A bounded pool of logged-in R/W sessions, each checked out by one operation at a time (the token crashes otherwise).
import { availableParallelism } from 'node:os';
import { KmsError, dependencyError } from '../core/errors.js';
import { isSessionFatal, toKmsError } from './errors.js';
import { HeavyOpGate } from './heavy-ops.js';
import { ck, type Handle, type PKCS11 } from './module.js';

interface Waiter {
  resolve: (s: Handle) => void;
  reject: (e: unknown) => void;
}

export function defaultPoolSize(): number {
  return Math.max(2, 2 * availableParallelism());
}

export class SessionPool {
  private readonly idle: Handle[] = [];
  private readonly waiters: Waiter[] = [];
  private open = 0;
  private closed = false;
  private drained: (() => void) | null = null;

  constructor(
    private readonly lib: PKCS11,
    private readonly slot: Handle,
    private readonly pin: string,
    readonly size: number = defaultPoolSize(),
    /** See hsm/heavy-ops.ts; openHsm passes defaultHeavyLimit(modulePath) when not configured. 0 = no cap. */
    heavyLimit = 0,
  ) {
    if (!Number.isInteger(size) || size < 1) throw new TypeError('pool size must be a positive integer');
    this.heavy = new HeavyOpGate(heavyLimit);
  }

  /** Large-RSA private-key operations take their turn here before they check out a session (hsm/heavy-ops.ts). */
  readonly heavy: HeavyOpGate;

  /** Sessions currently open (idle or checked out). */
  get openCount(): number {
    return this.open;
  }

  /** Sessions checked out by an operation now. */
  get inUseCount(): number {
    return this.open - this.idle.length;
  }

  /** Sessions dropped after a failure and replaced since start (for metrics). */
  dropped = 0;

  /** A session for exclusive use; waits in FIFO order when all are checked out. */
  acquire(): Promise<Handle> {
    if (this.closed) return Promise.reject(dependencyError('HSM'));
    const s = this.idle.pop();
    if (s) return Promise.resolve(s);
    return new Promise<Handle>((resolve, reject) => {
      const w = { resolve, reject };
      if (this.open < this.size) this.openFor(w);
      else this.waiters.push(w);
    });
  }

  /** Gives a session back; `drop` closes it instead, and a fresh one is opened for the next waiter. */
  release(s: Handle, drop = false): void {
    if (!drop && !this.closed) {
      const w = this.waiters.shift();
      if (w) w.resolve(s);
      else this.idle.push(s);
      return;
    }
    if (drop) this.dropped += 1;
    this.discard(s);
    const w = this.waiters.shift();
    if (w) this.openFor(w);
  }

  /**
   * A logged-in session outside the pool: never handed to an operation, never pruned or dropped by the pool's
   * recovery. For session objects that must outlive any one operation (hsm/wrapped-keys.ts); the caller closes it.
   */
  openDetached(): Handle {
    if (this.closed) throw dependencyError('HSM');
    return this.openSession();
  }

  /** Runs fn with a checked-out session; a session that failed in a way that leaves it suspect is dropped. */
  async withSession<T>(fn: (s: Handle) => Promise<T>): Promise<T> {
    const s = await this.acquire();
    let result: T;
    try {
      result = await fn(s);
    } catch (e) {
      const fatal = isSessionFatal(e);
      this.release(s, fatal);
      // Sessions are usually lost together (token reset, network HSM failover, C_CloseAllSessions): check the idle ones
      // now, so each lost session does not cost one more failed request.
      if (fatal) this.pruneIdle();
      throw e;
    }
    this.release(s);
    return result;
  }

  /** Closes idle sessions now, rejects waiters, and resolves once every checked-out session is back and closed. */
  close(): Promise<void> {
    this.closed = true;
    for (const w of this.waiters.splice(0)) w.reject(dependencyError('HSM'));
    for (const s of this.idle.splice(0)) this.discard(s);
    if (this.open === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.drained = resolve;
    });
  }

  private openFor(w: Waiter): void {
    this.open += 1;
    try {
      w.resolve(this.openSession());
    } catch (e) {
      this.open -= 1;
      w.reject(e);
    }
  }

  private openSession(): Handle {
    let s: Handle;
    try {
      s = this.lib.C_OpenSession(this.slot, ck.CKF_RW_SESSION | ck.CKF_SERIAL_SESSION);
    } catch (e) {
      throw toKmsError(e);
    }
    try {
      this.lib.C_Login(s, ck.CKU_USER, this.pin);
    } catch (e) {
      // Login is per application: once one session has logged in, every session is.
      if ((e as { code?: number }).code !== ck.CKR_USER_ALREADY_LOGGED_IN) {
        this.tryClose(s);
        throw loginError(e);
      }
    }
    return s;
  }

  /** Closes idle sessions that the token no longer knows or that lost their login. */
  private pruneIdle(): void {
    for (const s of [...this.idle]) {
      let ok: boolean;
      try {
        const state = this.lib.C_GetSessionInfo(s).state;
        ok = state === CKS_RO_USER_FUNCTIONS || state === CKS_RW_USER_FUNCTIONS;
      } catch {
        ok = false;
      }
      if (ok) continue;
      this.idle.splice(this.idle.indexOf(s), 1);
      this.dropped += 1;
      this.discard(s);
    }
  }

  private discard(s: Handle): void {
    this.tryClose(s);
    this.open -= 1;
    if (this.closed && this.open === 0 && this.drained) this.drained();
  }

  private tryClose(s: Handle): void {
    try {
      this.lib.C_CloseSession(s);
    } catch {
      // already closed or the device is gone: nothing more to do
    }
  }
}

// PKCS#11 session states (pkcs11js does not export them).
const CKS_RO_USER_FUNCTIONS = 1;
const CKS_RW_USER_FUNCTIONS = 3;

function loginError(e: unknown): KmsError {
  const code = (e as { code?: number }).code;
  if (code === ck.CKR_PIN_INCORRECT || code === ck.CKR_PIN_LOCKED || code === ck.CKR_PIN_LEN_RANGE) {
    // Never the PIN itself, only that the token refused it.
    return new KmsError('KMSInternalException', 'The HSM token refused the user PIN.', { cause: e });
  }
  return toKmsError(e);
}
