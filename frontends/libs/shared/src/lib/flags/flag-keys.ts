import type { JsonValue } from '@openfeature/web-sdk';

/** A flag the frontends evaluate, with the value they use when Portal cannot be reached or does not know it. */
export interface FlagDef<T> {
  readonly key: string;
  readonly fallback: T;
}

/** The maintenance banner's value (flag maintenance-banner, an object flag). */
export interface MaintenanceBanner {
  show: boolean;
  severity?: 'info' | 'warning';
  message?: string;
}

/**
 * BillPay's flags as flags/*.flagd.json define them. The fallbacks are the safe choice when flags are offline:
 * the proven checkout, no bulk operations, refunds left on (the kill switch only takes them away when Portal says
 * so; admin-service enforces the flag itself), no banner, the old user search.
 */
export const FLAGS = {
  newCheckoutFlow: { key: 'new-checkout-flow', fallback: false } as FlagDef<boolean>,
  refundsEnabled: { key: 'refunds-enabled', fallback: true } as FlagDef<boolean>,
  bulkRefunds: { key: 'bulk-refunds', fallback: false } as FlagDef<boolean>,
  maintenanceBanner: { key: 'maintenance-banner', fallback: { show: false } } as FlagDef<MaintenanceBanner>,
  paymentHistoryPageSize: { key: 'payment-history-page-size', fallback: 25 } as FlagDef<number>,
  adminUserSearchV2: { key: 'admin-user-search-v2', fallback: false } as FlagDef<boolean>,
} as const;

/** Reads a maintenance-banner value defensively: anything malformed means no banner. */
export function toMaintenanceBanner(v: JsonValue): MaintenanceBanner {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v['show'] !== true) {
    return { show: false };
  }
  const severity = v['severity'] === 'warning' ? 'warning' : 'info';
  const message = typeof v['message'] === 'string' ? v['message'] : '';
  return { show: message !== '', severity, message };
}
