import { InjectionToken } from '@angular/core';

/**
 * One environment's settings in config.json. Nothing here is baked into a build: the same bundle is promoted from
 * dev to production and reads the file its host serves next to index.html.
 */
export interface EnvironmentConfig {
  /** Portal's base URL, the part before /ofrep (the OFREP web provider's baseUrl). Empty: this page's origin. */
  portalUrl: string;
  /** The environment's public OFREP client key (portal.yaml flags.environments[].clientKeys), sent as X-API-Key.
   * Empty: no key, which Portal answers from its guest environment (dev) while guest access is on. */
  ofrepClientKey?: string;
  /** Where the flag console reaches Portal's management API (/api/flags). Portal does not answer cross-origin
   * calls there, so this is a same-origin path that the host proxies to Portal (default "/portal"). */
  portalApiUrl?: string;
  /** Base URL of BillPay's Backend API (e.g. "/api/v1" behind CloudFront). Empty: the in-browser demo backend. */
  apiBaseUrl?: string;
}

/** config.json: the environment to use and every environment's settings. */
export interface RuntimeConfigFile {
  environment: string;
  environments: Record<string, EnvironmentConfig>;
}

/** The settings in force: the chosen environment's, with defaults filled in. */
export interface RuntimeConfig {
  environment: string;
  environments: string[];
  portalUrl: string;
  ofrepClientKey: string;
  portalApiUrl: string;
  apiBaseUrl: string;
}

export const RUNTIME_CONFIG = new InjectionToken<RuntimeConfig>('billpay.runtime-config');

const ENV_STORAGE_KEY = 'billpay.environment';

/** Checks config.json's shape and picks the environment: ?env= in the URL, then the last one chosen, then the
 * file's own. Throws an Error that says what is wrong. */
export function resolveRuntimeConfig(file: unknown, search = '', stored: string | null = null): RuntimeConfig {
  if (!isObject(file) || typeof file['environment'] !== 'string' || !isObject(file['environments'])) {
    throw new Error('config.json must be an object with "environment" (string) and "environments" (object)');
  }
  const environments = file['environments'];
  const names = Object.keys(environments);
  const wanted = new URLSearchParams(search).get('env') ?? stored ?? file['environment'];
  const name = names.includes(wanted) ? wanted : file['environment'];
  const env = environments[name];
  if (!isObject(env)) {
    throw new Error(`config.json: environment "${name}" is not defined under "environments"`);
  }
  for (const field of ['portalUrl', 'ofrepClientKey', 'portalApiUrl', 'apiBaseUrl']) {
    if (env[field] !== undefined && typeof env[field] !== 'string') {
      throw new Error(`config.json: environments.${name}.${field} must be a string`);
    }
  }
  const str = (v: unknown): string => (typeof v === 'string' ? v : '');
  return {
    environment: name,
    environments: names,
    portalUrl: str(env['portalUrl']).replace(/\/+$/, '') || globalThis.location?.origin || '',
    ofrepClientKey: str(env['ofrepClientKey']),
    portalApiUrl: (str(env['portalApiUrl']) || '/portal').replace(/\/+$/, ''),
    apiBaseUrl: str(env['apiBaseUrl']).replace(/\/+$/, ''),
  };
}

/** Fetches and resolves config.json (relative to the page) before the application starts. */
export async function loadRuntimeConfig(url = 'config.json'): Promise<RuntimeConfig> {
  const res = await fetch(url, { cache: 'no-store' });
  if (!res.ok) {
    throw new Error(`could not load ${url}: HTTP ${res.status}`);
  }
  return resolveRuntimeConfig(await res.json(), globalThis.location?.search ?? '', readStoredEnvironment());
}

/** Remembers the environment chosen in the UI; the page reloads with it. */
export function storeEnvironment(name: string): void {
  try {
    localStorage.setItem(ENV_STORAGE_KEY, name);
  } catch {
    // storage unavailable (private mode): the choice lasts for this page only
  }
}

function readStoredEnvironment(): string | null {
  try {
    return localStorage.getItem(ENV_STORAGE_KEY);
  } catch {
    return null;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
