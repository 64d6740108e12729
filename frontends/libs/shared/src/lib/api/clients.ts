import { Injectable, InjectionToken, inject } from '@angular/core';
import createClient, { Client } from 'openapi-fetch';
import { RUNTIME_CONFIG } from '../config/runtime-config';
import { SessionService } from '../session/session';
import { demoBackendFetch } from './demo-backend';
import type { components as backendComponents, paths as backendPaths } from './generated/backend-api';
import type { components as portalComponents, paths as portalPaths } from './generated/portal-api';

/** Schemas of the Backend API (catalog-info/apis/openapi/backend-api.yaml). */
export type BackendSchemas = backendComponents['schemas'];
/** Schemas of Portal's API (api/openapi.yaml). */
export type PortalSchemas = portalComponents['schemas'];

export type FetchFn = (request: Request) => Promise<Response>;

/** The fetch the Backend API client uses; tests replace it. Default: the network, or the demo backend when the
 * runtime config has no apiBaseUrl. */
export const BACKEND_FETCH = new InjectionToken<FetchFn>('billpay.backend-fetch');
/** The fetch the Portal API client uses; tests replace it. */
export const PORTAL_FETCH = new InjectionToken<FetchFn>('billpay.portal-fetch');

const DEMO_BASE_URL = '/demo-backend/api/v1';

/** A problem+json body reduced to what a person should read. */
export function problemMessage(error: unknown, fallback: string): string {
  if (typeof error === 'object' && error !== null) {
    const p = error as { title?: unknown; detail?: unknown; errors?: unknown };
    const details = Array.isArray(p.errors)
      ? p.errors
          .map((e: { message?: unknown; location?: unknown; field?: unknown }) =>
            [e.location ?? e.field, e.message].filter((x) => typeof x === 'string' && x !== '').join(': '),
          )
          .filter((s) => s !== '')
      : [];
    const head = typeof p.detail === 'string' && p.detail !== '' ? p.detail : typeof p.title === 'string' ? p.title : '';
    const all = [head, ...details].filter((s) => s !== '');
    if (all.length > 0) {
      return all.join('; ');
    }
  }
  return fallback;
}

/**
 * The BillPay Backend API, typed by the paths generated from its OpenAPI definition. Every request carries the
 * signed-in user (a demo session token).
 */
@Injectable({ providedIn: 'root' })
export class BackendApi {
  readonly client: Client<backendPaths>;

  constructor() {
    const config = inject(RUNTIME_CONFIG);
    const session = inject(SessionService);
    const custom = inject(BACKEND_FETCH, { optional: true });
    const demo = config.apiBaseUrl === '';
    this.client = createClient<backendPaths>({
      baseUrl: demo ? DEMO_BASE_URL : config.apiBaseUrl,
      fetch: custom ?? (demo ? demoBackendFetch : (r: Request) => fetch(r)),
    });
    this.client.use({
      onRequest({ request }) {
        request.headers.set('Authorization', `Bearer demo-session.${session.user().id}`);
        return request;
      },
    });
  }
}

/** Portal's API (the flag console uses /api/flags), typed by the paths generated from api/openapi.yaml. */
@Injectable({ providedIn: 'root' })
export class PortalApi {
  readonly client: Client<portalPaths>;
  readonly baseUrl: string;

  constructor() {
    const config = inject(RUNTIME_CONFIG);
    const custom = inject(PORTAL_FETCH, { optional: true });
    this.baseUrl = config.portalApiUrl;
    this.client = createClient<portalPaths>({
      baseUrl: config.portalApiUrl,
      fetch: custom ?? ((r: Request) => fetch(r)),
    });
  }
}
