// Key states, and which operations each state allows, as AWS KMS documents them.
import { KmsError } from './errors.js';

export const KEY_STATES = ['Enabled', 'Disabled', 'PendingDeletion', 'PendingImport', 'Unavailable'] as const;
export type KeyState = (typeof KEY_STATES)[number];

/** Cryptographic operations need an enabled key; management operations accept more states. */
export type OperationClass = 'crypto' | 'manage' | 'read';

/**
 * The state × operation rule: crypto operations need Enabled; a disabled key gives DisabledException,
 * a key pending deletion KMSInvalidStateException. Management accepts every state but PendingDeletion
 * (callers pass allowPendingDeletion for the few that allow it); reading metadata accepts every state.
 */
export function assertStateAllows(state: KeyState, arn: string, op: OperationClass, allowPendingDeletion = false): void {
  if (op === 'read') return;
  if (state === 'PendingDeletion' && !allowPendingDeletion) {
    throw new KmsError('KMSInvalidStateException', `${arn} is pending deletion.`);
  }
  if (op === 'crypto') {
    if (state === 'Disabled') throw new KmsError('DisabledException', `${arn} is disabled.`);
    if (state !== 'Enabled') throw new KmsError('KMSInvalidStateException', `${arn} is ${describeState(state)}.`);
  }
}

function describeState(state: KeyState): string {
  switch (state) {
    case 'PendingImport':
      return 'pending import';
    case 'PendingDeletion':
      return 'pending deletion';
    case 'Unavailable':
      return 'unavailable';
    case 'Disabled':
      return 'disabled';
    case 'Enabled':
      return 'enabled';
  }
}
