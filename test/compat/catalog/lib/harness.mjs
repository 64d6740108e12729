// Shared setup for the catalog compatibility tests: environment, the real CatalogClient,
// raw HTTP helpers and assertions on Backstage's error shape.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { CatalogClient } from '@backstage/catalog-client';
import { ResponseError } from '@backstage/errors';

function requireEnv(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(
      `${name} is not set. These tests run against a live Portal; see test/compat/README.md.`,
    );
  }
  return value.replace(/\/+$/, '');
}

export const PORTAL_BASE_URL = requireEnv('PORTAL_BASE_URL');
export const CATALOG_BASE_URL = `${PORTAL_BASE_URL}/api/catalog`;
export const PORTAL_TOKEN = process.env.PORTAL_TOKEN || undefined;

/** Upper bound for waiting on asynchronous processing (ingestion, deletion). */
export const WAIT_TIMEOUT_MS = Number(process.env.PORTAL_COMPAT_TIMEOUT_MS || 60_000);

/** Request options passed to every client call. */
export const opts = PORTAL_TOKEN ? { token: PORTAL_TOKEN } : {};

const discoveryApi = {
  async getBaseUrl(pluginId) {
    assert.equal(pluginId, 'catalog', 'the catalog client asks discovery for "catalog"');
    return CATALOG_BASE_URL;
  },
};

/** The real @backstage/catalog-client, using its default fetch (cross-fetch). */
export const client = new CatalogClient({ discoveryApi });

/** Raw request against the catalog (path relative to /api/catalog). */
export async function raw(path, init = {}) {
  const headers = { ...(init.headers ?? {}) };
  if (PORTAL_TOKEN && !('Authorization' in headers) && !init.noAuth) {
    headers.Authorization = `Bearer ${PORTAL_TOKEN}`;
  }
  const { noAuth: _ignored, ...rest } = init;
  return fetch(`${CATALOG_BASE_URL}${path}`, { ...rest, headers });
}

export async function rawJson(path, init) {
  const res = await raw(path, init);
  const text = await res.text();
  let body;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = text;
  }
  return { res, status: res.status, headers: res.headers, body, text };
}

/** GET and expect 200 JSON. */
export async function getJson(path) {
  const r = await rawJson(path);
  assert.equal(r.status, 200, `GET ${path} -> ${r.status} ${r.text}`);
  assertJsonContentType(r.headers);
  return r.body;
}

export function assertJsonContentType(headers) {
  const ct = headers.get('content-type') ?? '';
  assert.match(ct, /^application\/json/i, `content-type should be application/json, got "${ct}"`);
}

const STATUS_TEXT = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
};

/**
 * Asserts Backstage's error body for a raw response:
 * { error: { name, message, ... }, request: { method, url }, response: { statusCode } }.
 */
export function assertErrorBody(r, status, name, { method, message } = {}) {
  assert.equal(r.status, status, `expected ${status}, got ${r.status}: ${r.text}`);
  assertJsonContentType(r.headers);
  assert.equal(typeof r.body, 'object', `error body should be JSON: ${r.text}`);
  assert.equal(typeof r.body.error, 'object', `error body needs "error": ${r.text}`);
  assert.equal(r.body.error.name, name, `error.name: ${r.text}`);
  assert.equal(typeof r.body.error.message, 'string', `error.message: ${r.text}`);
  if (message !== undefined) {
    if (message instanceof RegExp) assert.match(r.body.error.message, message);
    else assert.equal(r.body.error.message, message);
  }
  assert.deepEqual(r.body.response, { statusCode: status }, `response: ${r.text}`);
  assert.equal(typeof r.body.request, 'object', `error body needs "request": ${r.text}`);
  if (method) assert.equal(r.body.request.method, method);
  assert.equal(typeof r.body.request.url, 'string');
}

/**
 * Awaits a client call that must fail with a ResponseError carrying Backstage's error
 * body: the client only fills body.error.name from a JSON body with both `error` and
 * `response` keys, otherwise it reports the name "Error".
 */
export async function expectResponseError(promise, status, name, { message } = {}) {
  let err;
  try {
    await promise;
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected a ${status} ${name} ResponseError, but the call succeeded`);
  assert.ok(err instanceof ResponseError, `expected ResponseError, got ${err?.stack ?? err}`);
  assert.equal(err.response.status, status, `status of ${err.message}: ${JSON.stringify(err.body)}`);
  assert.equal(err.statusCode, status);
  assert.equal(err.body?.error?.name, name, `error body: ${JSON.stringify(err.body)}`);
  assert.equal(err.cause?.name, name);
  assert.equal(typeof err.body.error.message, 'string');
  assert.equal(err.body.response?.statusCode, status);
  if (STATUS_TEXT[status]) {
    assert.equal(err.message, `Request failed with ${status} ${STATUS_TEXT[status]}`);
  }
  if (message !== undefined) {
    if (message instanceof RegExp) assert.match(err.body.error.message, message);
    else assert.equal(err.body.error.message, message);
  }
  return err;
}

export function sleep(ms) {
  return new Promise(resolve => setTimeout(resolve, ms));
}

/** Polls fn until it returns a truthy value; returns that value. */
export async function waitFor(description, fn, { timeoutMs = WAIT_TIMEOUT_MS, intervalMs = 250 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value;
      lastError = undefined;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) {
      const why = lastError ? `; last error: ${lastError.stack ?? lastError}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}${why}`);
    }
    await sleep(intervalMs);
  }
}

export function sha1Hex(text) {
  return createHash('sha1').update(text).digest('hex');
}

/** Name of the Location entity Backstage generates for a location ref "type:target". */
export function generatedLocationName(locationRef) {
  return `generated-${sha1Hex(locationRef)}`;
}

export function refOfEntity(entity) {
  const ns = entity.metadata.namespace ?? 'default';
  return `${entity.kind}:${ns}/${entity.metadata.name}`.toLocaleLowerCase('en-US');
}

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export const ANNOTATION_LOCATION = 'backstage.io/managed-by-location';
export const ANNOTATION_ORIGIN_LOCATION = 'backstage.io/managed-by-origin-location';
export const ANNOTATION_VIEW_URL = 'backstage.io/view-url';
export const ANNOTATION_ORPHAN = 'backstage.io/orphan';

/** Decodes an opaque cursor the way newer catalog clients peek into it. */
export function decodeCursor(cursor) {
  return JSON.parse(Buffer.from(cursor, 'base64').toString('utf8'));
}
