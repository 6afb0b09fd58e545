// The hsm module's public surface: open the PKCS#11 token, or prepare a SoftHSM token for development.
export { openHsm, Pkcs11Hsm, type HsmConfig } from './pkcs11-hsm.js';
export { defaultSyncMaxBytes } from './sync-calls.js';
export { ensureDevToken, SOFTHSM_MODULE, type DevToken, type DevTokenOptions } from './dev-token.js';
export type { Capabilities, MechanismCapability } from './probe.js';
export type { SelfTestResult, CheckOutcome } from './self-test.js';
export { FALLBACKS, FipsPolicy, registerFallback, type Fallback } from './fips.js';
