// Registered locations and the mutating endpoints, driven through the real
// @backstage/catalog-client: addLocation (dry run, 201, 409), getLocation*,
// removeLocationById, refreshEntity, removeEntityByUid, validateEntity, analyzeLocation,
// and authentication of mutating calls.
//
// Uses only the files under fixtures/http/, served by the harness at PORTAL_FIXTURE_HTTP.
// Those entities never reference a static fixture, so entities.test.mjs (which may run at
// the same time) is not disturbed. The tests in this file run in order and share state.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ANNOTATION_LOCATION,
  ANNOTATION_ORIGIN_LOCATION,
  ANNOTATION_VIEW_URL,
  PORTAL_TOKEN,
  UUID_RE,
  assertErrorBody,
  client,
  expectResponseError,
  generatedLocationName,
  opts,
  raw,
  rawJson,
  refOfEntity,
  waitFor,
} from './lib/harness.mjs';
import { FIXTURE_SET_LABEL, HTTP_FILES, expectedRelations, expectedSpec } from './lib/fixture-model.mjs';

const HTTP = (() => {
  const value = process.env.PORTAL_FIXTURE_HTTP;
  if (!value) {
    throw new Error('PORTAL_FIXTURE_HTTP is not set; see test/compat/README.md.');
  }
  return value.replace(/\/+$/, '');
})();

const TARGET = `${HTTP}/catalog-info.yaml`;
const NESTED_TARGET = `${HTTP}/location.yaml`;
const NESTED_FILE = `${HTTP}/nested/service.yaml`;
const MISSING_TARGET = `${HTTP}/does-not-exist.yaml`;
const UNAUTH_TARGET = `${HTTP}/unauthenticated.yaml`;
const OUR_TARGETS = new Set([TARGET, NESTED_TARGET, MISSING_TARGET, UNAUTH_TARGET]);

const GENERATED = `location:default/${generatedLocationName(`url:${TARGET}`)}`;
const GENERATED_NESTED = `location:default/${generatedLocationName(`url:${NESTED_TARGET}`)}`;
const ALPHA = 'component:default/compat-http-alpha';
const BETA = 'component:default/compat-http-beta';
const API = 'api:default/compat-http-api';
const HTTP_LOCATION = 'location:default/compat-http-location';
const NESTED = 'component:default/compat-http-nested';

const CATALOG_INFO_REFS = [GENERATED, ALPHA, BETA, API];
const NESTED_REFS = [GENERATED_NESTED, HTTP_LOCATION, NESTED];
const ALL_REFS = [...CATALOG_INFO_REFS, ...NESTED_REFS];

const MISSING_ID = '00000000-0000-4000-8000-000000000000';

async function byRefs(refs) {
  const { items } = await client.getEntitiesByRefs({ entityRefs: refs }, opts);
  return items;
}

async function removeOurLocations() {
  const { items } = await client.getLocations({}, opts);
  for (const loc of items) {
    if (OUR_TARGETS.has(loc.target)) await client.removeLocationById(loc.id, opts);
  }
}

before(async () => {
  // Leftovers from an interrupted run against a reused database.
  await removeOurLocations();
  await waitFor('leftover HTTP fixture entities to disappear', async () =>
    (await byRefs(ALL_REFS)).every(e => e === undefined),
  );
});

after(async () => {
  await removeOurLocations();
});

describe('registered locations', () => {
  let locationId;
  let nestedLocationId;

  test('addLocation dryRun: 201 with the processed entities, nothing persisted', async () => {
    const res = await client.addLocation({ target: TARGET, dryRun: true }, opts);
    assert.equal(res.location.type, 'url');
    assert.equal(res.location.target, TARGET);
    assert.equal(res.location.id, `url:${TARGET}`);
    assert.equal(res.exists, false);
    assert.deepEqual(res.entities.map(refOfEntity).sort(), [...CATALOG_INFO_REFS].sort());
    for (const e of res.entities) {
      assert.equal(e.metadata.annotations[ANNOTATION_LOCATION], `url:${TARGET}`, refOfEntity(e));
      assert.equal(e.metadata.annotations[ANNOTATION_ORIGIN_LOCATION], `url:${TARGET}`, refOfEntity(e));
    }
    const generated = res.entities.find(e => refOfEntity(e) === GENERATED);
    assert.deepEqual(generated.spec, { type: 'url', target: TARGET });

    const { items } = await client.getLocations({}, opts);
    assert.ok(!items.some(l => l.target === TARGET), 'dry run must not register the location');
    assert.equal(await client.getEntityByRef(ALPHA, opts), undefined, 'dry run must not ingest');
  });

  test('addLocation dryRun follows nested Location entities', async () => {
    const res = await client.addLocation({ type: 'url', target: NESTED_TARGET, dryRun: true }, opts);
    assert.equal(res.exists, false);
    assert.deepEqual(res.entities.map(refOfEntity).sort(), [...NESTED_REFS].sort());
    const nested = res.entities.find(e => refOfEntity(e) === NESTED);
    assert.equal(nested.metadata.annotations[ANNOTATION_LOCATION], `url:${NESTED_FILE}`);
    assert.equal(nested.metadata.annotations[ANNOTATION_ORIGIN_LOCATION], `url:${NESTED_TARGET}`);
  });

  test('addLocation dryRun of an unreadable target: 400 InputError', async () => {
    await expectResponseError(
      client.addLocation({ target: MISSING_TARGET, dryRun: true }, opts),
      400,
      'InputError',
    );
  });

  test('addLocation of a non-url type: 400 InputError', async () => {
    await expectResponseError(
      client.addLocation({ type: 'file', target: '/tmp/catalog-info.yaml' }, opts),
      400,
      'InputError',
      // 3.x: "Registered locations must be of type 'url'";
      // 4.x: 'Registered locations must be of an allowed type ["url"]'
      { message: /^Registered locations must be of /u },
    );
  });

  test('addLocation registers: 201 {location, entities: []}', async () => {
    const res = await client.addLocation({ type: 'url', target: TARGET }, opts);
    assert.match(res.location.id, UUID_RE);
    assert.equal(res.location.type, 'url');
    assert.equal(res.location.target, TARGET);
    if (res.location.entityRef !== undefined) assert.equal(res.location.entityRef, GENERATED);
    assert.deepEqual(res.entities, []);
    assert.ok(res.exists === undefined || res.exists === false, `exists: ${res.exists}`);
    locationId = res.location.id;
  });

  test('registered entities appear, with url: location annotations', async () => {
    const items = await waitFor('entities of catalog-info.yaml', async () => {
      const found = await byRefs(CATALOG_INFO_REFS);
      return found.every(Boolean) && found;
    });
    const docs = HTTP_FILES['http/catalog-info.yaml'];
    for (const e of items) {
      const ref = refOfEntity(e);
      const a = e.metadata.annotations;
      assert.equal(a[ANNOTATION_LOCATION], `url:${TARGET}`, ref);
      assert.equal(a[ANNOTATION_ORIGIN_LOCATION], `url:${TARGET}`, ref);
      assert.match(e.metadata.uid, UUID_RE, ref);
      if (ref === GENERATED) {
        assert.equal(e.kind, 'Location');
        assert.deepEqual(e.spec, { type: 'url', target: TARGET });
        continue;
      }
      const want = docs.find(d => refOfEntity(d) === ref);
      assert.deepEqual(e.spec, expectedSpec(want), ref);
      assert.deepEqual(e.metadata.labels, { [FIXTURE_SET_LABEL]: 'http' }, ref);
      assert.equal(a[ANNOTATION_VIEW_URL], TARGET, `${ref}: view-url is the file read`);
      assert.equal(a['backstage.io/edit-url'], undefined, `${ref}: no SCM integration, no edit-url`);
      assert.equal(a['backstage.io/orphan'], undefined, ref);
    }
  });

  test('relations of registered entities settle to the expected set', async () => {
    const expected = expectedRelations(HTTP_FILES['http/catalog-info.yaml']);
    await waitFor('relations of the registered entities', async () => {
      const items = await byRefs([ALPHA, BETA, API]);
      for (const e of items) {
        assert.deepEqual(e.relations, expected.get(refOfEntity(e)) ?? [], refOfEntity(e));
      }
      return true;
    });
    const [generated] = await byRefs([GENERATED]);
    assert.deepEqual(generated.relations, []);
  });

  test('getLocations, getLocationById, getLocationByRef, getLocationByEntity', async () => {
    assert.ok(locationId, 'needs the registered location');
    const want = { id: locationId, type: 'url', target: TARGET };

    const { items } = await client.getLocations({}, opts);
    const listed = items.find(l => l.id === locationId);
    assert.ok(listed, 'listed by getLocations');
    assert.deepEqual({ id: listed.id, type: listed.type, target: listed.target }, want);

    const r = await rawJson('/locations');
    assert.equal(r.status, 200);
    assert.ok(Array.isArray(r.body));
    for (const row of r.body) assert.deepEqual(Object.keys(row), ['data'], 'GET /locations wraps rows in {data}');

    const byId = await client.getLocationById(locationId, opts);
    assert.deepEqual({ id: byId.id, type: byId.type, target: byId.target }, want);
    if (byId.entityRef !== undefined) assert.equal(byId.entityRef, GENERATED);

    const byRef = await client.getLocationByRef(`url:${TARGET}`, opts);
    assert.equal(byRef?.id, locationId);

    for (const ref of [ALPHA, API, GENERATED]) {
      const byEntity = await client.getLocationByEntity(ref, opts);
      assert.deepEqual(
        byEntity && { id: byEntity.id, type: byEntity.type, target: byEntity.target },
        want,
        ref,
      );
    }
  });

  test('registering the same target again: 409 ConflictError', async () => {
    await expectResponseError(client.addLocation({ target: TARGET }, opts), 409, 'ConflictError', {
      message: `Location url:${TARGET} already exists`,
    });
    const { items } = await client.getLocations({}, opts);
    assert.equal(items.filter(l => l.target === TARGET).length, 1);
  });

  test('dryRun of a registered target reports exists: true', async () => {
    const res = await client.addLocation({ target: TARGET, dryRun: true }, opts);
    assert.equal(res.exists, true);
    assert.equal(res.location.id, `url:${TARGET}`);
  });

  test('getEntityAncestors of a registered entity', async () => {
    const res = await client.getEntityAncestors({ entityRef: ALPHA }, opts);
    assert.equal(res.rootEntityRef, ALPHA);
    assert.deepEqual(
      res.items.map(i => [refOfEntity(i.entity), i.parentEntityRefs]),
      [
        [ALPHA, [GENERATED]],
        [GENERATED, []],
      ],
    );
  });

  test('refreshEntity: exactly 200 with an empty body', async () => {
    assert.equal(await client.refreshEntity(ALPHA, opts), undefined);
    const res = await raw('/refresh', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ entityRef: BETA }),
    });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), '');
  });

  test('removeEntityByUid: gone at once, then re-emitted by its parent with a new uid', async () => {
    const before = await client.getEntityByRef(BETA, opts);
    assert.ok(before, 'needs compat-http-beta');
    const uid = before.metadata.uid;

    assert.equal(await client.removeEntityByUid(uid, opts), undefined);

    const r = await rawJson(`/entities/by-uid/${uid}`);
    assertErrorBody(r, 404, 'NotFoundError', { message: `No entity with uid ${uid}` });

    const back = await waitFor('compat-http-beta to be re-emitted', async () => {
      const e = await client.getEntityByRef(BETA, opts);
      return e && e.metadata.uid !== uid && e;
    });
    assert.match(back.metadata.uid, UUID_RE);
    assert.deepEqual(back.spec, before.spec);
  });

  test('removeEntityByUid of an unknown uid succeeds (204)', async () => {
    assert.equal(await client.removeEntityByUid(MISSING_ID, opts), undefined);
    const res = await raw(`/entities/by-uid/${MISSING_ID}`, { method: 'DELETE' });
    assert.equal(res.status, 204);
  });

  test('nested Location: three-level ancestry and origin lookup', async () => {
    const res = await client.addLocation({ target: NESTED_TARGET }, opts);
    nestedLocationId = res.location.id;
    const [nested] = await waitFor('compat-http-nested', async () => {
      const found = await byRefs([NESTED, HTTP_LOCATION, GENERATED_NESTED]);
      return found.every(Boolean) && found;
    });
    assert.equal(nested.metadata.annotations[ANNOTATION_LOCATION], `url:${NESTED_FILE}`);
    assert.equal(nested.metadata.annotations[ANNOTATION_ORIGIN_LOCATION], `url:${NESTED_TARGET}`);
    assert.equal(nested.metadata.annotations[ANNOTATION_VIEW_URL], NESTED_FILE);

    const ancestry = await client.getEntityAncestors({ entityRef: NESTED }, opts);
    assert.deepEqual(
      ancestry.items.map(i => [refOfEntity(i.entity), i.parentEntityRefs]),
      [
        [NESTED, [HTTP_LOCATION]],
        [HTTP_LOCATION, [GENERATED_NESTED]],
        [GENERATED_NESTED, []],
      ],
    );

    const loc = await client.getLocationByEntity(NESTED, opts);
    assert.equal(loc?.id, nestedLocationId);
    assert.equal(loc?.target, NESTED_TARGET);
  });

  test('removeLocationById: location gone at once, its entities disappear after processing', async () => {
    assert.ok(locationId && nestedLocationId, 'needs both registered locations');
    assert.equal(await client.removeLocationById(locationId, opts), undefined);
    assert.equal(await client.removeLocationById(nestedLocationId, opts), undefined);

    assert.equal(await client.getLocationById(locationId, opts), undefined);
    assert.equal(await client.getLocationById(nestedLocationId, opts), undefined);
    assert.equal(await client.getLocationByRef(`url:${TARGET}`, opts), undefined);

    await waitFor('entities of removed locations to disappear', async () =>
      (await byRefs(ALL_REFS)).every(e => e === undefined),
    );
    assert.equal(await client.getLocationByEntity(ALPHA, opts), undefined);
  });

  test('removeLocationById of an unknown id: 404 NotFoundError', async () => {
    await expectResponseError(client.removeLocationById(MISSING_ID, opts), 404, 'NotFoundError', {
      message: `Found no location with ID ${MISSING_ID}`,
    });
  });

  test('a target that cannot be read is still registered (201) and removable', async () => {
    const res = await client.addLocation({ target: MISSING_TARGET }, opts);
    assert.match(res.location.id, UUID_RE);
    assert.equal(res.location.target, MISSING_TARGET);
    assert.equal((await client.getLocationById(res.location.id, opts))?.target, MISSING_TARGET);
    await client.removeLocationById(res.location.id, opts);
    assert.equal(await client.getLocationById(res.location.id, opts), undefined);
  });
});

describe('validateEntity', () => {
  const locationRef = `url:${TARGET}`;
  const component = (name, spec) => ({
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: { name },
    spec,
  });

  test('a valid entity: {valid: true}, nothing stored', async () => {
    const res = await client.validateEntity(
      component('compat-validate-ok', { type: 'service', lifecycle: 'production', owner: 'team-payments' }),
      locationRef,
      opts,
    );
    assert.deepEqual(res, { valid: true });
    assert.equal(await client.getEntityByRef('component:default/compat-validate-ok', opts), undefined);
  });

  test('kind schema violation: {valid: false, errors: [InputError]}', async () => {
    const res = await client.validateEntity(
      component('compat-validate-bad', { type: 'service' }),
      locationRef,
      opts,
    );
    assert.equal(res.valid, false);
    assert.ok(res.errors.length >= 1);
    assert.equal(res.errors[0].name, 'InputError', JSON.stringify(res.errors));
    assert.match(res.errors[0].message, /component:default\/compat-validate-bad/);
  });

  test('field format violation: {valid: false, errors: [InputError]}', async () => {
    const res = await client.validateEntity(
      component('-bad-name-', { type: 'service', lifecycle: 'production', owner: 'team-payments' }),
      locationRef,
      opts,
    );
    assert.equal(res.valid, false);
    assert.equal(res.errors[0].name, 'InputError', JSON.stringify(res.errors));
  });

  test('a location ref that is not url: is rejected', async () => {
    const res = await client.validateEntity(
      component('compat-validate-ok', { type: 'service', lifecycle: 'production', owner: 'team-payments' }),
      'file:/tmp/catalog-info.yaml',
      opts,
    );
    assert.deepEqual(
      res.errors.map(e => [e.name, e.message]),
      [
        [
          'TypeError',
          "Invalid location ref file:/tmp/catalog-info.yaml, only 'url:<target>' is supported, e.g. url:https://host/path",
        ],
      ],
    );
    assert.equal(res.valid, false);
  });

  test('a broken envelope is rejected', async () => {
    const res = await client.validateEntity(
      { apiVersion: 'backstage.io/v1alpha1', kind: 'Component', spec: {} },
      locationRef,
      opts,
    );
    assert.equal(res.valid, false);
    assert.ok(res.errors.length >= 1);
    assert.equal(typeof res.errors[0].message, 'string');
  });

  test('raw: 400 carries {errors: [...]}, not the usual error body', async () => {
    const r = await rawJson('/validate-entity', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ entity: component('compat-validate-bad', { type: 'service' }), location: locationRef }),
    });
    assert.equal(r.status, 400);
    assert.ok(Array.isArray(r.body.errors), r.text);
    assert.equal(r.body.error, undefined);
  });
});

describe('analyzeLocation', () => {
  test('answers 200 with existingEntityFiles and generateEntities', async () => {
    const res = await client.analyzeLocation({ location: { type: 'url', target: TARGET } }, opts);
    assert.ok(Array.isArray(res.existingEntityFiles), JSON.stringify(res));
    assert.ok(Array.isArray(res.generateEntities), JSON.stringify(res));
    for (const g of res.generateEntities) {
      assert.equal(typeof g.entity, 'object');
      assert.ok(Array.isArray(g.fields));
    }
  });
});

describe('authentication of mutating calls', { skip: !PORTAL_TOKEN && 'PORTAL_TOKEN not set' }, () => {
  const cases = [
    ['addLocation', o => client.addLocation({ target: UNAUTH_TARGET }, o)],
    ['removeLocationById', o => client.removeLocationById(MISSING_ID, o)],
    ['removeEntityByUid', o => client.removeEntityByUid(MISSING_ID, o)],
    ['refreshEntity', o => client.refreshEntity('component:default/payments-service', o)],
  ];
  for (const [name, call] of cases) {
    test(`${name} without a token: 401 AuthenticationError`, async () => {
      await expectResponseError(call(undefined), 401, 'AuthenticationError');
    });
    test(`${name} with an invalid token: 401 AuthenticationError`, async () => {
      await expectResponseError(call({ token: 'not-a-valid-token' }), 401, 'AuthenticationError');
    });
  }
});
