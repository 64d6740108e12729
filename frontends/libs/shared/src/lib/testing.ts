import { InMemoryProvider, JsonValue, OpenFeature } from '@openfeature/web-sdk';
import type { RuntimeConfig } from './config/runtime-config';

/** A runtime config for tests: the demo backend and a Portal nobody calls. */
export function testRuntimeConfig(overrides: Partial<RuntimeConfig> = {}): RuntimeConfig {
  return {
    environment: 'dev',
    environments: ['dev', 'staging', 'production'],
    portalUrl: 'http://portal.test',
    ofrepClientKey: '',
    portalApiUrl: 'http://portal.test',
    apiBaseUrl: '',
    ...overrides,
  };
}

type FlagConfig = ConstructorParameters<typeof InMemoryProvider>[0];

function toConfig(values: Record<string, JsonValue>): NonNullable<FlagConfig> {
  const out: NonNullable<FlagConfig> = {};
  for (const [key, value] of Object.entries(values)) {
    out[key] = { variants: { value }, defaultVariant: 'value', disabled: false };
  }
  return out;
}

/**
 * Stubs OpenFeature with the web SDK's InMemoryProvider holding these values (one variant each) and waits until it
 * is ready. Change values later with setFlags, which emits PROVIDER_CONFIGURATION_CHANGED as Portal's change
 * events do.
 */
export async function useInMemoryFlags(values: Record<string, JsonValue>): Promise<InMemoryProvider> {
  const provider = new InMemoryProvider(toConfig(values));
  await OpenFeature.setProviderAndWait(provider);
  return provider;
}

export async function setFlags(provider: InMemoryProvider, values: Record<string, JsonValue>): Promise<void> {
  await provider.putConfiguration(toConfig(values));
}

/** Waits until check() holds, running render() (e.g. fixture.detectChanges) between tries. */
export async function until(check: () => boolean, render: () => void = () => undefined, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    render();
    if (check()) {
      return;
    }
    if (Date.now() > deadline) {
      throw new Error(`condition not met within ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}
