// DescribeCustomKeyStores. Coffer has no custom key stores (every key lives in the HSM the server is configured with,
// and CreateCustomKeyStore is refused), so every account has none: the list is empty, as AWS answers an account
// without any, and a store named by id or name is not found. Inventory and audit tools call this on every account.
import { INVALID_MARKER_MESSAGE, needs } from '../errors.js';
import type { Page } from '../model.js';
import { auditedRead } from './audited.js';
import { authorize, type RequestContext, type ServiceDeps } from './context.js';

/** AWS's message for CustomKeyStoreNotFoundException (its API reference). */
export const CUSTOM_KEY_STORE_NOT_FOUND = 'The request was rejected because AWS KMS cannot find a custom key store with the specified key store name or ID.';

export interface CustomKeyStoreFilter {
  CustomKeyStoreId?: string;
  CustomKeyStoreName?: string;
  Marker?: string;
}

/**
 * The account's custom key stores: none. Refuses a named store as AWS refuses one that does not exist, and any
 * Marker, since no page of this list ever hands one out.
 */
export async function describeCustomKeyStores(deps: ServiceDeps, ctx: RequestContext, filter: CustomKeyStoreFilter): Promise<Page<never>> {
  return auditedRead(deps, ctx, async (repos) => {
    await authorize(deps, repos, ctx, 'kms:DescribeCustomKeyStores', null);
    needs(filter.CustomKeyStoreId === undefined && filter.CustomKeyStoreName === undefined, 'CustomKeyStoreNotFoundException', CUSTOM_KEY_STORE_NOT_FOUND);
    needs(filter.Marker === undefined, 'InvalidMarkerException', INVALID_MARKER_MESSAGE);
    return { items: [], next: null };
  });
}
