import { DestroyRef, Injectable, NgZone, Signal, computed, inject, signal } from '@angular/core';
import {
  Client,
  EvaluationContext,
  EventDetails,
  JsonValue,
  OpenFeature,
  Provider,
  ProviderEvents,
  ProviderStatus,
} from '@openfeature/web-sdk';
import { OFREPWebProvider } from '@openfeature/ofrep-web-provider';
import type { RuntimeConfig } from '../config/runtime-config';
import { FLAGS, FlagDef, MaintenanceBanner, toMaintenanceBanner } from './flag-keys';

/** online: values come from Portal; connecting: not yet; offline: Portal could not be reached (or stopped
 * answering) and the apps run on the last values they had or on the fallbacks. */
export type FlagsStatus = 'connecting' | 'online' | 'offline';

/** The OFREP web provider pointed at Portal with the environment's client key. Change detection is the
 * provider's default: the eventStreams (SSE) Portal announces in its bulk response; on an event the provider
 * re-fetches and emits PROVIDER_CONFIGURATION_CHANGED. */
export function createPortalProvider(config: RuntimeConfig): OFREPWebProvider {
  return new OFREPWebProvider({
    baseUrl: config.portalUrl,
    headers: config.ofrepClientKey ? [['X-API-Key', config.ofrepClientKey]] : [],
    changeDetection: 'sse',
    timeoutMs: 5000,
  });
}

let started = false;

/**
 * Sets the evaluation context (the signed-in user) and the provider once per page, whichever app boots first:
 * the shell, or a remote running on its own. Remotes loaded into the shell never call it: they share the shell's
 * OpenFeature singleton. It does not wait for Portal: the apps render at once with fallbacks and re-render when
 * the provider is ready.
 */
export async function startFlags(config: RuntimeConfig, context: EvaluationContext, provider?: Provider): Promise<void> {
  if (started) {
    return;
  }
  started = true;
  await OpenFeature.setContext(context);
  // Not awaited: if Portal cannot be reached the SDK emits PROVIDER_ERROR and evaluations return the fallbacks.
  OpenFeature.setProvider(provider ?? createPortalProvider(config));
}

const WATCHED = [
  ProviderEvents.Ready,
  ProviderEvents.Error,
  ProviderEvents.Stale,
  ProviderEvents.ConfigurationChanged,
  ProviderEvents.ContextChanged,
  ProviderEvents.Reconciling,
];

function toStatus(s: ProviderStatus): FlagsStatus {
  switch (s) {
    case ProviderStatus.READY:
      return 'online';
    case ProviderStatus.NOT_READY:
    case ProviderStatus.RECONCILING:
      return 'connecting';
    default:
      return 'offline';
  }
}

/**
 * Flags as Angular signals. Every provider event (ready, configuration changed — Portal's change events —,
 * context changed, stale, error) bumps a revision that the signals depend on, so templates re-render with the new
 * values without a reload. Evaluations never go to the network: the provider serves them from its last bulk
 * response.
 */
@Injectable({ providedIn: 'root' })
export class FlagService {
  private readonly client: Client = OpenFeature.getClient();
  private readonly revision = signal(0);
  /** Whether flag values currently come from Portal. */
  readonly status = signal<FlagsStatus>(toStatus(this.client.providerStatus));
  /** The keys the last configuration change touched. */
  readonly lastChanged = signal<readonly string[]>([]);

  constructor() {
    const zone = inject(NgZone);
    const handler = (details?: EventDetails) =>
      zone.run(() => {
        this.status.set(toStatus(this.client.providerStatus));
        const changed = (details as { flagsChanged?: string[] } | undefined)?.flagsChanged;
        if (changed) {
          this.lastChanged.set(changed);
        }
        this.revision.update((n) => n + 1);
      });
    for (const e of WATCHED) {
      this.client.addHandler(e, handler);
    }
    inject(DestroyRef).onDestroy(() => WATCHED.forEach((e) => this.client.removeHandler(e, handler)));
  }

  boolean(flag: FlagDef<boolean>): Signal<boolean> {
    return computed(() => (this.revision(), this.client.getBooleanValue(flag.key, flag.fallback)));
  }

  number(flag: FlagDef<number>): Signal<number> {
    return computed(() => (this.revision(), this.client.getNumberValue(flag.key, flag.fallback)));
  }

  string(flag: FlagDef<string>): Signal<string> {
    return computed(() => (this.revision(), this.client.getStringValue(flag.key, flag.fallback)));
  }

  object<T extends JsonValue>(flag: FlagDef<T>): Signal<T> {
    return computed(() => (this.revision(), this.client.getObjectValue<T>(flag.key, flag.fallback)));
  }

  /** The maintenance banner, checked for shape. */
  maintenanceBanner(): Signal<MaintenanceBanner> {
    const def = FLAGS.maintenanceBanner as unknown as FlagDef<JsonValue>;
    return computed(() => (this.revision(), toMaintenanceBanner(this.client.getObjectValue(def.key, def.fallback))));
  }
}
