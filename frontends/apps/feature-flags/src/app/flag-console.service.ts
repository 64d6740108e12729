import { Injectable, inject } from '@angular/core';
import { PortalApi, PortalSchemas, problemMessage } from '@billpay/shared';

export type FlagDoc = PortalSchemas['FlagDoc'];
export type EnvironmentInfo = PortalSchemas['EnvironmentInfo'];
export type AuditEntry = PortalSchemas['AuditEntry'];

/** A failed call to Portal, with the HTTP status (412: someone else changed the flag first). */
export class PortalError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

function check<T>(r: { data?: T; error?: unknown; response: Response }, what: string): T {
  if (r.data === undefined) {
    throw new PortalError(problemMessage(r.error, `${what}: HTTP ${r.response.status}`), r.response.status);
  }
  return r.data;
}

/** Portal's flag management API (/api/flags), through the client generated from Portal's OpenAPI document. */
@Injectable({ providedIn: 'root' })
export class FlagConsoleService {
  private readonly portal = inject(PortalApi);

  async environments(): Promise<EnvironmentInfo[]> {
    return check(await this.portal.client.GET('/api/flags/environments'), 'could not list environments') ?? [];
  }

  async list(environment: string): Promise<FlagDoc[]> {
    const r = await this.portal.client.GET('/api/flags/environments/{environment}/flags', { params: { path: { environment } } });
    return check(r, 'could not list flags').Items ?? [];
  }

  async get(environment: string, key: string): Promise<FlagDoc> {
    const r = await this.portal.client.GET('/api/flags/environments/{environment}/flags/{key}', {
      params: { path: { environment, key } },
    });
    return check(r, `could not read ${key}`);
  }

  async setEnabled(flag: FlagDoc, enabled: boolean): Promise<FlagDoc> {
    const params = { path: { environment: flag.environment, key: flag.key }, header: { 'If-Match': flag.etag } };
    const r = enabled
      ? await this.portal.client.POST('/api/flags/environments/{environment}/flags/{key}/enable', { params })
      : await this.portal.client.POST('/api/flags/environments/{environment}/flags/{key}/disable', { params });
    return check(r, `could not ${enabled ? 'enable' : 'disable'} ${flag.key}`);
  }

  async put(environment: string, key: string, definition: Record<string, unknown>, etag: string): Promise<FlagDoc> {
    const r = await this.portal.client.PUT('/api/flags/environments/{environment}/flags/{key}', {
      params: { path: { environment, key }, header: { 'If-Match': etag } },
      body: definition,
    });
    return check(r, `could not save ${key}`);
  }

  async audit(environment: string, key?: string): Promise<AuditEntry[]> {
    const r = key
      ? await this.portal.client.GET('/api/flags/environments/{environment}/flags/{key}/audit', {
          params: { path: { environment, key }, query: { limit: 100 } },
        })
      : await this.portal.client.GET('/api/flags/environments/{environment}/audit', {
          params: { path: { environment }, query: { limit: 100 } },
        });
    return check(r, 'could not read the audit log').items ?? [];
  }

  /** Follows Portal's change feed (GET /api/flags/events, server-sent events) for one environment. */
  watch(environment: string, onChange: () => void): () => void {
    if (typeof EventSource === 'undefined') {
      return () => undefined;
    }
    const es = new EventSource(`${this.portal.baseUrl}/api/flags/events?environment=${encodeURIComponent(environment)}`);
    es.addEventListener('change', () => onChange());
    return () => es.close();
  }
}
