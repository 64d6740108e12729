// The fixture catalog as data.
//
// fixtures/*.yaml are generated from this module by `node catalog/lib/write-fixtures.mjs`
// (run from test/compat), and catalog/fixtures.test.mjs fails when the committed YAML no
// longer matches. The tests compute their expectations (counts, facets, relations, specs)
// from the same data, so the YAML and the expectations cannot drift apart.
//
// Every static fixture carries the label FIXTURE_SET_LABEL=static and every file served
// over HTTP carries FIXTURE_SET_LABEL=http. Read-only tests filter on the static label so
// that they stay exact while the mutation tests (another test file, run concurrently by
// `node --test`) register and delete the HTTP fixtures.

export const FIXTURE_SET_LABEL = 'portal.test/fixture-set';

// Which catalog the suite is checked against. Portal (the default) differs from Backstage in
// exactly the ways listed in PORTAL_DEVIATIONS below; PORTAL_COMPAT_TARGET=backstage (set by
// backstage-reference/run.sh) switches every expectation back to Backstage's behaviour.
const COMPAT_TARGETS = ['portal', 'backstage'];
export const COMPAT_TARGET = process.env.PORTAL_COMPAT_TARGET || 'portal';
if (!COMPAT_TARGETS.includes(COMPAT_TARGET)) {
  throw new Error(
    `PORTAL_COMPAT_TARGET=${COMPAT_TARGET} is not one of ${COMPAT_TARGETS.join(', ')}`,
  );
}

const V1 = 'backstage.io/v1alpha1';

function staticLabels(extra = {}) {
  return { [FIXTURE_SET_LABEL]: 'static', ...extra };
}

function httpLabels(extra = {}) {
  return { [FIXTURE_SET_LABEL]: 'http', ...extra };
}

const PAYMENTS_OPENAPI = `openapi: 3.0.3
info:
  title: Payments API
  version: 1.0.0
paths:
  /payments:
    get:
      summary: List payments
      responses:
        '200':
          description: OK
`;

const IDENTITY_PROTO = `syntax = "proto3";
package identity.v1;
service Identity {
  rpc Whoami (WhoamiRequest) returns (WhoamiResponse);
}
message WhoamiRequest {}
message WhoamiResponse { string user_ref = 1; }
`;

// ---------------------------------------------------------------------------------------
// Static catalog, registered by the Go harness as one config location (type file):
// fixtures/all.yaml. Keys of FILES are paths relative to fixtures/.
// ---------------------------------------------------------------------------------------

const allYaml = [
  {
    apiVersion: V1,
    kind: 'Location',
    metadata: {
      name: 'compat-fixtures',
      description: 'The valid part of the compatibility fixture catalog.',
      labels: staticLabels(),
    },
    spec: {
      targets: [
        './org.yaml',
        './systems.yaml',
        './components.yaml',
        './apis.yaml',
        './generated.yaml',
        './invalid-entity.yaml',
      ],
    },
  },
  {
    // Kept in its own Location on purpose: in Backstage a read error (here a YAML syntax
    // error) makes the processing of the Location that read the file fail as a whole, so
    // nothing that Location would emit is written, not even the valid documents of the same
    // file. Isolating it keeps the rest of the catalog loading. Portal loads the valid
    // documents and reports the error on this Location instead (PORTAL_DEVIATIONS).
    apiVersion: V1,
    kind: 'Location',
    metadata: {
      name: 'compat-fixtures-broken',
      description: 'Points at a file that contains a YAML syntax error.',
      labels: staticLabels(),
    },
    spec: {
      targets: ['./broken-yaml.yaml'],
    },
  },
];

const orgYaml = [
  {
    apiVersion: V1,
    kind: 'Group',
    metadata: {
      name: 'platform',
      title: 'Platform',
      description: 'Platform department',
      labels: staticLabels(),
    },
    spec: {
      type: 'department',
      profile: { displayName: 'Platform', email: 'platform@example.com' },
      children: ['team-payments', 'team-identity'],
    },
  },
  {
    apiVersion: V1,
    kind: 'Group',
    metadata: {
      name: 'team-payments',
      description: 'Owns money movement',
      labels: staticLabels(),
    },
    spec: {
      type: 'team',
      profile: { displayName: 'Payments Team', email: 'payments@example.com' },
      parent: 'platform',
      children: [],
    },
  },
  {
    apiVersion: V1,
    kind: 'Group',
    metadata: {
      name: 'team-identity',
      labels: staticLabels(),
    },
    spec: {
      type: 'team',
      parent: 'group:default/platform',
      children: [],
    },
  },
  {
    apiVersion: V1,
    kind: 'User',
    metadata: {
      name: 'alice',
      labels: staticLabels(),
    },
    spec: {
      profile: { displayName: 'Alice Example', email: 'alice@example.com' },
      memberOf: ['team-payments'],
    },
  },
  {
    apiVersion: V1,
    kind: 'User',
    metadata: {
      name: 'bob',
      labels: staticLabels(),
    },
    spec: {
      profile: { displayName: 'Bob Example', email: 'bob@example.com' },
      memberOf: ['team-payments', 'group:default/team-identity'],
    },
  },
  {
    apiVersion: V1,
    kind: 'User',
    metadata: {
      name: 'carol',
      labels: staticLabels(),
    },
    spec: {
      memberOf: ['team-identity'],
    },
  },
];

const systemsYaml = [
  {
    apiVersion: V1,
    kind: 'Domain',
    metadata: {
      name: 'commerce',
      description: 'Everything that sells things',
      labels: staticLabels(),
    },
    spec: { owner: 'platform' },
  },
  {
    apiVersion: V1,
    kind: 'System',
    metadata: {
      name: 'payments',
      description: 'Payments system',
      labels: staticLabels(),
      tags: ['payments'],
    },
    spec: { owner: 'team-payments', domain: 'commerce' },
  },
  {
    apiVersion: V1,
    kind: 'System',
    metadata: {
      name: 'identity',
      labels: staticLabels(),
    },
    spec: { owner: 'team-identity', domain: 'domain:default/commerce' },
  },
];

const componentsYaml = [
  {
    apiVersion: V1,
    kind: 'Component',
    metadata: {
      name: 'payments-service',
      title: 'Payments Service',
      description: 'Moves money between accounts',
      labels: staticLabels({ tier: 'backend' }),
      annotations: {
        'github.com/project-slug': 'example/payments-service',
        'portal.test/note': 'Mixed Case value, with: punctuation',
      },
      tags: ['java', 'payments'],
      links: [
        {
          url: 'https://example.com/payments/runbook',
          title: 'Runbook',
          icon: 'docs',
          type: 'runbook',
        },
        { url: 'https://example.com/payments/dashboard' },
      ],
    },
    spec: {
      type: 'service',
      lifecycle: 'production',
      owner: 'team-payments',
      system: 'payments',
      providesApis: ['payments-api'],
      consumesApis: ['identity-api'],
      dependsOn: ['resource:payments-db', 'component:default/ledger-worker'],
    },
  },
  {
    apiVersion: V1,
    kind: 'Component',
    metadata: {
      name: 'ledger-worker',
      description: 'Books payments into the ledger',
      labels: staticLabels({ tier: 'backend' }),
      tags: ['go', 'payments'],
    },
    spec: {
      type: 'service',
      lifecycle: 'production',
      owner: 'group:team-payments',
      system: 'payments',
      consumesApis: ['payments-api'],
    },
  },
  {
    apiVersion: V1,
    kind: 'Component',
    metadata: {
      name: 'identity-service',
      description: 'Knows who you are',
      labels: staticLabels({ tier: 'backend' }),
      tags: ['go', 'security'],
    },
    spec: {
      type: 'service',
      lifecycle: 'experimental',
      owner: 'group:default/team-identity',
      system: 'identity',
      providesApis: ['api:identity-api'],
    },
  },
  {
    apiVersion: V1,
    kind: 'Component',
    metadata: {
      name: 'checkout-web',
      title: 'Checkout',
      labels: staticLabels({ tier: 'frontend' }),
      tags: ['typescript', 'payments'],
      links: [{ url: 'https://example.com/checkout', title: 'Checkout' }],
    },
    spec: {
      type: 'website',
      lifecycle: 'production',
      owner: 'team-payments',
      system: 'payments',
      consumesApis: ['payments-api', 'identity-api'],
    },
  },
  {
    // Lives in another namespace; its unqualified owner therefore resolves to
    // group:ops/platform (relation targets default to the source's namespace), which does
    // not exist; relations may point at missing entities.
    apiVersion: V1,
    kind: 'Component',
    metadata: {
      name: 'status-page',
      namespace: 'ops',
      labels: staticLabels({ tier: 'frontend' }),
      tags: ['typescript'],
    },
    spec: {
      type: 'website',
      lifecycle: 'production',
      owner: 'platform',
      dependsOn: ['component:default/payments-service'],
    },
  },
  {
    apiVersion: V1,
    kind: 'Resource',
    metadata: {
      name: 'payments-db',
      description: 'Payments database',
      labels: staticLabels(),
    },
    spec: {
      type: 'database',
      owner: 'team-payments',
      system: 'payments',
    },
  },
];

const apisYaml = [
  {
    apiVersion: V1,
    kind: 'API',
    metadata: {
      name: 'payments-api',
      description: 'Public payments API',
      labels: staticLabels(),
      tags: ['payments', 'rest'],
    },
    spec: {
      type: 'openapi',
      lifecycle: 'production',
      owner: 'team-payments',
      system: 'payments',
      definition: PAYMENTS_OPENAPI,
    },
  },
  {
    apiVersion: V1,
    kind: 'API',
    metadata: {
      name: 'identity-api',
      labels: staticLabels(),
      tags: ['grpc'],
    },
    spec: {
      type: 'grpc',
      lifecycle: 'production',
      owner: 'team-identity',
      system: 'identity',
      definition: IDENTITY_PROTO,
    },
  },
];

export const GENERATED_COUNT = 40;

function pad2(n) {
  return String(n).padStart(2, '0');
}

const generatedYaml = Array.from({ length: GENERATED_COUNT }, (_, i) => {
  const n = i + 1;
  const tags = ['generated'];
  if (n % 3 === 0) tags.push('java');
  if (n % 5 === 0) tags.push('go');
  const metadata = {
    name: `gen-component-${pad2(n)}`,
    description: `Generated component number ${n}`,
    labels: staticLabels({ 'portal.test/batch': n % 2 === 0 ? 'even' : 'odd' }),
    tags,
  };
  if (n % 4 === 0) metadata.title = `Generated ${n}`;
  return {
    apiVersion: V1,
    kind: 'Component',
    metadata,
    spec: {
      type: n % 2 === 0 ? 'library' : 'service',
      lifecycle: n % 7 === 0 ? 'deprecated' : 'production',
      owner: 'platform',
    },
  };
});

const invalidEntityYaml = [
  {
    apiVersion: V1,
    kind: 'Component',
    metadata: {
      name: 'neighbour-a',
      description: 'Valid entity next to invalid ones',
      labels: staticLabels(),
    },
    spec: { type: 'service', lifecycle: 'production', owner: 'team-identity' },
  },
  {
    // Envelope is fine, the Component kind schema is not (owner and lifecycle missing).
    apiVersion: V1,
    kind: 'Component',
    metadata: {
      name: 'invalid-missing-spec',
      labels: staticLabels(),
    },
    spec: { type: 'service' },
  },
  {
    // Envelope is fine, metadata.name breaks the field format policy.
    apiVersion: V1,
    kind: 'Component',
    metadata: {
      name: '-invalid-name-',
      labels: staticLabels(),
    },
    spec: { type: 'service', lifecycle: 'production', owner: 'team-identity' },
  },
  {
    apiVersion: V1,
    kind: 'Component',
    metadata: {
      name: 'neighbour-b',
      labels: staticLabels(),
    },
    spec: { type: 'library', lifecycle: 'experimental', owner: 'team-identity' },
  },
];

// Hand-written on purpose: the middle document has a YAML syntax error. Its valid
// documents are BROKEN_YAML_VALID_DOCS below (fixtures.test.mjs checks that each of them
// appears here exactly as write-fixtures.mjs would render it).
export const BROKEN_YAML_TEXT = `# A file with a YAML syntax error in its second document.
# Backstage fails the Location that reads this file, so none of its documents load there;
# Portal loads the valid ones and reports the error on that Location (PORTAL_DEVIATIONS).
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: broken-neighbour-a
  labels:
    ${FIXTURE_SET_LABEL}: static
spec:
  type: service
  lifecycle: production
  owner: team-identity
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: broken-document
  tags: [unclosed, flow, sequence
spec:
  type: service
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: broken-neighbour-b
  labels:
    ${FIXTURE_SET_LABEL}: static
spec:
  type: service
  lifecycle: production
  owner: team-identity
`;

/** The documents of BROKEN_YAML_TEXT that parse (the first and the third). */
export const BROKEN_YAML_VALID_DOCS = [
  {
    apiVersion: V1,
    kind: 'Component',
    metadata: { name: 'broken-neighbour-a', labels: staticLabels() },
    spec: { type: 'service', lifecycle: 'production', owner: 'team-identity' },
  },
  {
    apiVersion: V1,
    kind: 'Component',
    metadata: { name: 'broken-neighbour-b', labels: staticLabels() },
    spec: { type: 'service', lifecycle: 'production', owner: 'team-identity' },
  },
];

// ---------------------------------------------------------------------------------------
// PORTAL_DEVIATIONS: where Portal deliberately differs from Backstage.
//
// Portal's requirement: an invalid entity or broken YAML never stops the others in its file
// from loading; the error is stored on the entity or location and returned by the API.
// Backstage instead drops a whole Location's output on a read error and keeps validation
// errors of emitted entities out of the API. Everything else in this suite is Backstage's
// behaviour. With PORTAL_COMPAT_TARGET=backstage, `enabled` is false and the expectations
// are Backstage's (no extra entities, no `status` anywhere).
// ---------------------------------------------------------------------------------------

const PROCESSING_ERROR = 'backstage.io/catalog-processing';

export const PORTAL_DEVIATIONS = {
  enabled: COMPAT_TARGET === 'portal',

  // 1. Broken YAML in one document of a file. Backstage fails the processing of the
  //    Location that read the file, so neither the file's valid documents nor (failing on
  //    its first run) that Location are ever visible. Portal writes the valid documents
  //    (with their relations, like any entity) and the Location, whose `status.items` holds
  //    the YAML error. These refs are invisible in Backstage and visible in Portal.
  brokenYaml: {
    location: 'location:default/compat-fixtures-broken',
    file: 'broken-yaml.yaml',
    visibleRefs: [
      'location:default/compat-fixtures-broken',
      'component:default/broken-neighbour-a',
      'component:default/broken-neighbour-b',
    ],
  },

  // 2. Children that fail validation. Both keep them invisible, but Portal lists each one's
  //    error in `status.items` of the Location that emitted it (Backstage shows nothing).
  invalidChildren: {
    location: 'location:default/compat-fixtures',
    refs: ['component:default/invalid-missing-spec', 'component:default/-invalid-name-'],
  },
};

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The `status.items` Portal returns on a Location (keyed by ref), each item described by
 * {type, level, errorName, message: RegExp}; the items' order is not specified. Empty in
 * Backstage mode: there no entity has a `status`.
 *
 * `fileRefs` are the acceptable `file:` location refs of the broken file (the path as
 * resolved by the test, or with symlinks resolved).
 */
export function expectedLocationStatus(fileRefs) {
  if (!PORTAL_DEVIATIONS.enabled) return new Map();
  const files = [...fileRefs].map(escapeRegExp).join('|');
  return new Map([
    [
      PORTAL_DEVIATIONS.brokenYaml.location,
      [
        {
          type: PROCESSING_ERROR,
          level: 'error',
          errorName: 'InputError',
          message: new RegExp(`^InputError: (?:${files}): YAML error at line \\d+`),
        },
      ],
    ],
    [
      PORTAL_DEVIATIONS.invalidChildren.location,
      PORTAL_DEVIATIONS.invalidChildren.refs.map(ref => ({
        type: PROCESSING_ERROR,
        level: 'error',
        errorName: 'InputError',
        ref,
        message: new RegExp(`^${escapeRegExp(ref)}: InputError: Policy check failed for ${escapeRegExp(ref)}`),
      })),
    ],
  ]);
}

// Entities that are written in fixtures but must NOT be visible through the API.
export const INVISIBLE_REFS = [
  // fails validation (kind schema)
  'component:default/invalid-missing-spec',
  // fails validation (metadata.name format)
  'component:default/-invalid-name-',
  // the document with the YAML syntax error itself
  'component:default/broken-document',
  // Backstage only (PORTAL_DEVIATIONS.brokenYaml): the Location whose only target has a
  // YAML syntax error fails processing on its very first run, so it never gets a processed
  // entity and is never stitched; the valid documents of that file are never emitted.
  ...(PORTAL_DEVIATIONS.enabled ? [] : PORTAL_DEVIATIONS.brokenYaml.visibleRefs),
];

export const STATIC_FILES = {
  'all.yaml': allYaml,
  'org.yaml': orgYaml,
  'systems.yaml': systemsYaml,
  'components.yaml': componentsYaml,
  'apis.yaml': apisYaml,
  'generated.yaml': generatedYaml,
  'invalid-entity.yaml': invalidEntityYaml,
};

// ---------------------------------------------------------------------------------------
// Files served by the Go harness over plain HTTP (fixtures/http/), used with addLocation.
// Only Component, API and Location kinds: those are what Backstage's default catalog rules
// accept from registered locations. Nothing here relates to a static entity, so the static
// entities' relations do not change while these are registered.
// ---------------------------------------------------------------------------------------

const httpCatalogInfo = [
  {
    apiVersion: V1,
    kind: 'Component',
    metadata: {
      name: 'compat-http-alpha',
      description: 'Registered through addLocation',
      labels: httpLabels(),
      tags: ['http'],
    },
    spec: {
      type: 'service',
      lifecycle: 'experimental',
      owner: 'compat-http-team',
      providesApis: ['compat-http-api'],
    },
  },
  {
    apiVersion: V1,
    kind: 'Component',
    metadata: {
      name: 'compat-http-beta',
      labels: httpLabels(),
    },
    spec: {
      type: 'website',
      lifecycle: 'experimental',
      owner: 'compat-http-team',
      consumesApis: ['compat-http-api'],
    },
  },
  {
    apiVersion: V1,
    kind: 'API',
    metadata: {
      name: 'compat-http-api',
      labels: httpLabels(),
    },
    spec: {
      type: 'openapi',
      lifecycle: 'experimental',
      owner: 'compat-http-team',
      definition: 'openapi: 3.0.3\ninfo:\n  title: Compat HTTP API\n  version: 0.0.1\npaths: {}\n',
    },
  },
];

const httpLocation = [
  {
    apiVersion: V1,
    kind: 'Location',
    metadata: {
      name: 'compat-http-location',
      labels: httpLabels(),
    },
    spec: {
      targets: ['./nested/service.yaml'],
    },
  },
];

const httpNested = [
  {
    apiVersion: V1,
    kind: 'Component',
    metadata: {
      name: 'compat-http-nested',
      labels: httpLabels(),
    },
    spec: {
      type: 'service',
      lifecycle: 'experimental',
      owner: 'compat-http-team',
    },
  },
];

export const HTTP_FILES = {
  'http/catalog-info.yaml': httpCatalogInfo,
  'http/location.yaml': httpLocation,
  'http/nested/service.yaml': httpNested,
};

// ---------------------------------------------------------------------------------------
// Derived expectations
// ---------------------------------------------------------------------------------------

export function refOf(entity) {
  const ns = entity.metadata.namespace ?? 'default';
  return `${entity.kind}:${ns}/${entity.metadata.name}`.toLocaleLowerCase('en-US');
}

const invisible = new Set(INVISIBLE_REFS);

/**
 * Every parseable document of the static catalog, by file (relative to fixtures/): the
 * generated files plus the valid documents of the hand-written broken one.
 */
export const STATIC_DOCUMENTS = {
  ...STATIC_FILES,
  [PORTAL_DEVIATIONS.brokenYaml.file]: BROKEN_YAML_VALID_DOCS,
};

/** All static entities that must be visible, with the file (relative to fixtures/) they come from. */
export const STATIC_VISIBLE = Object.entries(STATIC_DOCUMENTS).flatMap(([file, docs]) =>
  docs.filter(e => !invisible.has(refOf(e))).map(entity => ({ file, entity, ref: refOf(entity) })),
);

export const STATIC_VISIBLE_REFS = STATIC_VISIBLE.map(x => x.ref);

export function staticByRef(ref) {
  const hit = STATIC_VISIBLE.find(x => x.ref === ref);
  if (!hit) throw new Error(`no static fixture ${ref}`);
  return hit;
}

// Built-in relation rules (plugins/catalog-backend BuiltinKindsEntityProcessor):
// [kind, spec field, outgoing type, incoming type, default target kind]
const RELATION_RULES = [
  ['Component', 'owner', 'ownedBy', 'ownerOf', 'Group'],
  ['Component', 'subcomponentOf', 'partOf', 'hasPart', 'Component'],
  ['Component', 'providesApis', 'providesApi', 'apiProvidedBy', 'API'],
  ['Component', 'consumesApis', 'consumesApi', 'apiConsumedBy', 'API'],
  ['Component', 'dependsOn', 'dependsOn', 'dependencyOf', undefined],
  ['Component', 'system', 'partOf', 'hasPart', 'System'],
  ['API', 'owner', 'ownedBy', 'ownerOf', 'Group'],
  ['API', 'system', 'partOf', 'hasPart', 'System'],
  ['Resource', 'owner', 'ownedBy', 'ownerOf', 'Group'],
  ['Resource', 'dependsOn', 'dependsOn', 'dependencyOf', undefined],
  ['Resource', 'dependencyOf', 'dependencyOf', 'dependsOn', undefined],
  ['Resource', 'system', 'partOf', 'hasPart', 'System'],
  ['System', 'owner', 'ownedBy', 'ownerOf', 'Group'],
  ['System', 'domain', 'partOf', 'hasPart', 'Domain'],
  ['Domain', 'owner', 'ownedBy', 'ownerOf', 'Group'],
  ['User', 'memberOf', 'memberOf', 'hasMember', 'Group'],
  ['Group', 'parent', 'childOf', 'parentOf', 'Group'],
  ['Group', 'children', 'parentOf', 'childOf', 'Group'],
  ['Group', 'members', 'hasMember', 'memberOf', 'User'],
];

/** Minimal entity ref parser with the catalog-model defaulting rules; result lowercased. */
export function toTargetRef(ref, defaultKind, defaultNamespace) {
  let kind;
  let rest = ref;
  const colon = ref.indexOf(':');
  const slash = ref.indexOf('/');
  if (colon !== -1 && (slash === -1 || colon < slash)) {
    kind = ref.slice(0, colon);
    rest = ref.slice(colon + 1);
  } else {
    kind = defaultKind;
  }
  if (!kind) throw new Error(`ref ${ref} needs a kind`);
  let namespace = defaultNamespace;
  let name = rest;
  const s = rest.indexOf('/');
  if (s !== -1) {
    namespace = rest.slice(0, s);
    name = rest.slice(s + 1);
  }
  return `${kind}:${namespace}/${name}`.toLocaleLowerCase('en-US');
}

function compareCodeUnits(a, b) {
  if (a < b) return -1;
  if (a > b) return 1;
  return 0;
}

/**
 * Expected relations of every entity (keyed by lowercase ref) given the visible entities:
 * the distinct union of everything emitted with that entity as source, sorted by type,
 * then by targetRef.
 */
export function expectedRelations(entities) {
  const bySource = new Map();
  const add = (source, type, targetRef) => {
    if (!bySource.has(source)) bySource.set(source, new Map());
    bySource.get(source).set(`${type}\u0000${targetRef}`, { type, targetRef });
  };
  for (const entity of entities) {
    const self = refOf(entity);
    const ns = entity.metadata.namespace ?? 'default';
    for (const [kind, field, out, inc, defaultKind] of RELATION_RULES) {
      if (entity.kind !== kind) continue;
      const value = entity.spec?.[field];
      if (value === undefined) continue;
      for (const target of [value].flat()) {
        const targetRef = toTargetRef(target, defaultKind, ns);
        add(self, out, targetRef);
        add(targetRef, inc, self);
      }
    }
  }
  const result = new Map();
  for (const [source, rels] of bySource) {
    result.set(
      source,
      [...rels.values()].sort(
        (a, b) => compareCodeUnits(a.type, b.type) || compareCodeUnits(a.targetRef, b.targetRef),
      ),
    );
  }
  return result;
}

// Spec fields whose string arrays the catalog sorts while pre-processing (built-in kinds
// processor, since plugin-catalog-backend 3.0.1: "sort built-in relation fields for a more
// stable entity hash").
const SORTED_SPEC_FIELDS = [
  'providesApis',
  'consumesApis',
  'dependsOn',
  'dependencyOf',
  'memberOf',
  'children',
  'members',
];

/** The spec as the catalog returns it: as written, with the relation arrays sorted. */
export function expectedSpec(entity) {
  const spec = structuredClone(entity.spec);
  for (const field of SORTED_SPEC_FIELDS) {
    const value = spec?.[field];
    if (Array.isArray(value) && value.every(v => typeof v === 'string')) {
      spec[field] = [...value].sort();
    }
  }
  return spec;
}

/** Facet counts ({value, count}[] sorted by value) over the given entities for a dotted path. */
export function expectedFacet(entities, path) {
  const counts = new Map();
  for (const entity of entities) {
    let value = entity;
    for (const part of path.split('.')) value = value?.[part];
    if (value === undefined || value === null) continue;
    for (const v of new Set([value].flat().map(String))) {
      counts.set(v, (counts.get(v) ?? 0) + 1);
    }
  }
  return [...counts.entries()]
    .map(([value, count]) => ({ value, count }))
    .sort((a, b) => compareCodeUnits(a.value, b.value));
}
