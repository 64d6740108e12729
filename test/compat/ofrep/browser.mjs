// Drives the OpenFeature web SDK with the OFREP web provider in headless Chromium against a running Portal and
// fails on any behaviour a browser application would notice. cmd/portal/ofrep_browser_test.go starts Portal,
// imports flags/dev.flagd.json, serves page/ and the packages from a second origin and runs this script; see
// ../README.md for the variables. Exit status 0 means every step passed.
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const env = (name, fallback) => {
  const v = process.env[name] ?? fallback;
  if (v === undefined) {
    throw new Error(`${name} is not set`);
  }
  return v;
};

const PORTAL = env('PORTAL_BASE_URL').replace(/\/$/, '');
const TOKEN = env('PORTAL_TOKEN');
const PAGE_URL = env('OFREP_PAGE_URL');
const API_KEY = env('OFREP_CLIENT_KEY');
const CACHE_MODE = env('OFREP_CACHE_MODE', 'local-cache-first');
const ROLLOUT = env('OFREP_EXPECT_ROLLOUT'); // the variant of flag "rollout" for targetingKey user-1
const CHROMIUM = env('CHROMIUM_PATH', '/usr/bin/chromium');
const TIMEOUT_MS = Number(env('OFREP_TIMEOUT_MS', '15000'));

const BULK_PATH = '/ofrep/v1/evaluate/flags';
const EVENTS_PATH = '/ofrep/v1/events';

// Every request the page makes to Portal and every response it gets, in order.
const net = [];
const log = [];

let lastSay = Date.now();

function say(line) {
  const now = Date.now();
  const timed = line.startsWith('ok ') ? `${line} (${now - lastSay} ms)` : line;
  lastSay = now;
  log.push(timed);
  console.log(timed);
}

async function until(what, probe, timeoutMs = TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await probe();
    if (last) {
      return last;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

// manage calls Portal's flag management API as an operator would.
async function manage(method, path, body) {
  const res = await fetch(`${PORTAL}/api/flags/environments/dev${path}`, {
    method,
    headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text);
}

const bulkResponses = (from) => net.slice(from).filter((e) => e.phase === 'response' && e.path === BULK_PATH);

// bulkAfter waits for the responses to bulk evaluations since net[from] (playwright reports a response a little
// after the page has seen it) and requires exactly n.
async function bulkAfter(from, n, what) {
  await until(what, () => bulkResponses(from).length >= n);
  const requests = net.slice(from).filter((e) => e.phase === 'request' && e.path === BULK_PATH);
  await until(`${what}: a response to every request`, () => bulkResponses(from).length >= requests.length);
  const got = bulkResponses(from);
  assert.equal(got.length, n, `${what}: expected ${n} bulk evaluation(s), got ${JSON.stringify(got)}`);
  return got;
}

function watchNetwork(page) {
  const entry = (phase, req, extra) => {
    const url = new URL(req.url());
    if (url.origin !== new URL(PORTAL).origin) {
      return;
    }
    const h = req.headers();
    net.push({
      phase,
      method: req.method(),
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      ifNoneMatch: h['if-none-match'] ?? null,
      apiKey: h['x-api-key'] ?? null,
      ...extra,
    });
  };
  page.on('request', (req) => entry('request', req, {}));
  page.on('requestfailed', (req) => entry('failed', req, { failure: req.failure()?.errorText }));
  page.on('response', (res) => {
    const h = res.headers();
    entry('response', res.request(), {
      status: res.status(),
      etag: h['etag'] ?? null,
      contentType: h['content-type'] ?? null,
      allowOrigin: h['access-control-allow-origin'] ?? null,
    });
  });
  page.on('console', (msg) => log.push(`console.${msg.type()}: ${msg.text()}`));
  page.on('pageerror', (err) => log.push(`pageerror: ${err.message}`));
}

// The context the page starts with: every attribute a rule in dev.flagd.json reads.
const CONTEXT = {
  targetingKey: 'user-1',
  plan: 'free',
  country: 'NL',
  email: 'ana@billpay.example',
  roles: ['support', 'admin'],
  pick: 'sideways',
  seed: { k: 1 },
};

const SET_METADATA = { flagSetId: 'ofrep-compat-dev', version: '1' };

// expectInitial checks the evaluations of the page's starting context.
function expectInitial(d, reasonOverride) {
  const r = (reason) => reasonOverride ?? reason;
  assert.deepEqual(d['checkout-enabled'], {
    value: true, variant: 'on', reason: r('STATIC'), errorCode: null,
    flagMetadata: { ...SET_METADATA, owner: 'group:default/payments-team', rollout: 0.5, tier: 3, beta: true },
  });
  assert.deepEqual(d['payment-provider'], { value: 'adyen', variant: 'eu', reason: r('TARGETING_MATCH'), errorCode: null, flagMetadata: SET_METADATA });
  assert.deepEqual(d['page-size'], { value: 100, variant: 'staff', reason: r('TARGETING_MATCH'), errorCode: null, flagMetadata: SET_METADATA });
  assert.deepEqual(d['fee-rate'], { value: 0.25, variant: 'standard', reason: r('STATIC'), errorCode: null, flagMetadata: SET_METADATA });
  assert.deepEqual(d['banner'].value, { show: true, severity: 'warning', message: 'Maintenance tonight' });
  assert.equal(d['banner'].reason, r('TARGETING_MATCH'));
  assert.deepEqual(d['rollout'], { value: ROLLOUT, variant: ROLLOUT, reason: r('TARGETING_MATCH'), errorCode: null, flagMetadata: SET_METADATA });
  // DISABLED and a flag without a default variant: the code default, reason from the server, no error.
  assert.deepEqual(d['paused'], { value: false, variant: null, reason: r('DISABLED'), errorCode: null, flagMetadata: SET_METADATA });
  assert.deepEqual(d['code-default-bool'], { value: true, variant: null, reason: r('DEFAULT'), errorCode: null, flagMetadata: SET_METADATA });
  // Per-flag failures inside the bulk answer.
  assert.equal(d['broken-rule'].value, true);
  assert.equal(d['broken-rule'].errorCode, 'PARSE_ERROR');
  assert.equal(d['broken-rule'].reason, 'ERROR');
  assert.equal(d['unknown-variant'].value, true);
  assert.equal(d['unknown-variant'].errorCode, 'GENERAL');
  assert.equal(d['environment'].value, 'dev');
  // Missing flags carry the set metadata.
  assert.deepEqual(d['no-such-flag'], { value: true, variant: null, reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND', flagMetadata: SET_METADATA });
}

async function run() {
  const started = Date.now();
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await (await browser.newContext()).newPage();
    watchNetwork(page);
    const details = (extra) => page.evaluate((x) => window.harness.details(x), extra);
    const events = () => page.evaluate(() => window.harness.events);
    const configChanges = async () => (await events()).filter((e) => e.type === 'PROVIDER_CONFIGURATION_CHANGED');
    const start = async (context) => {
      await page.goto(PAGE_URL);
      await page.waitForFunction(() => window.harness !== undefined, null, { timeout: TIMEOUT_MS });
      await page.evaluate((o) => window.harness.start(o), { baseUrl: PORTAL, apiKey: API_KEY, cacheMode: CACHE_MODE, context });
    };
    const sseOpen = (from) => until('the event stream to open', () =>
      net.slice(from).find((e) => e.phase === 'response' && e.path === EVENTS_PATH && e.status === 200));
    say(`# cacheMode ${CACHE_MODE}, chromium ${browser.version()}, page ${PAGE_URL}, portal ${PORTAL}`);

    // 1. Start-up: one bulk evaluation, cross-origin, with the key; then the advertised event stream.
    await start(CONTEXT);
    const origin = await page.evaluate(() => window.harness.origin);
    assert.notEqual(origin, new URL(PORTAL).origin, 'the page must be on another origin than Portal');
    let bulk = await bulkAfter(0, 1, 'the start-up response');
    assert.equal(bulk.length, 1, `one bulk request at start-up: ${JSON.stringify(bulk)}`);
    assert.equal(bulk[0].status, 200);
    assert.equal(bulk[0].apiKey, API_KEY);
    assert.equal(bulk[0].ifNoneMatch, null, 'nothing cached yet, so no If-None-Match');
    assert.equal(bulk[0].allowOrigin, '*');
    assert.match(bulk[0].contentType, /^application\/json/);
    assert.match(bulk[0].etag ?? '', /^(W\/)?".+"$/);
    const etag1 = bulk[0].etag;
    expectInitial(await details());
    const stream = await sseOpen(0);
    assert.match(stream.contentType, /^text\/event-stream/);
    assert.ok(stream.query.token, 'the stream URL carries its token');
    say(`ok 1 - start-up: 200 with ETag ${etag1}, typed evaluations, event stream open`);

    // 2. A flag edited through the management API reaches the page: event stream, then a 200 with a new ETag,
    //    then PROVIDER_CONFIGURATION_CHANGED naming exactly that flag.
    let mark = net.length;
    const flag = await manage('GET', '/flags/checkout-enabled');
    await manage('PUT', '/flags/checkout-enabled', { ...flag.definition, defaultVariant: 'off' });
    let changes = await until('PROVIDER_CONFIGURATION_CHANGED after the edit', async () => {
      const c = await configChanges();
      return c.length === 1 && c;
    });
    assert.deepEqual(changes[0].flagsChanged, ['checkout-enabled']);
    bulk = await bulkAfter(mark, 1, 'the re-fetch after the change event');
    assert.ok(bulk[0].query.flagConfigEtag, 'the re-fetch was driven by the event stream (flagConfigEtag)');
    assert.ok(bulk[0].query.flagConfigLastModified, 'flagConfigLastModified from the event');
    assert.equal(bulk[0].ifNoneMatch, etag1, 'the provider sent the ETag it read (exposed through CORS)');
    assert.equal(bulk[0].status, 200);
    assert.ok(bulk[0].etag && bulk[0].etag !== etag1, `a new ETag: ${bulk[0].etag}`);
    const etag2 = bulk[0].etag;
    let d = await details();
    assert.deepEqual([d['checkout-enabled'].value, d['checkout-enabled'].variant, d['checkout-enabled'].reason], [false, 'off', 'STATIC']);
    say(`ok 2 - edit seen: refetchEvaluation, 200 with ETag ${etag2}, flagsChanged [checkout-enabled]`);

    // 3. Re-fetches whose results did not change get 304 and the page keeps its values: a context change that
    //    keeps the targetingKey and touches no rule, and the page becoming visible again.
    mark = net.length;
    const unrelated = { ...CONTEXT, theme: 'dark' };
    await page.evaluate((c) => window.harness.setContext(c), unrelated);
    await page.evaluate(() => window.harness.becomeVisible());
    bulk = await bulkAfter(mark, 2, 'two conditional re-fetches');
    for (const b of bulk) {
      assert.equal(b.ifNoneMatch, etag2);
      assert.equal(b.status, 304, `unchanged results: ${JSON.stringify(b)}`);
    }
    d = await details();
    assert.equal(d['checkout-enabled'].value, false);
    assert.equal(d['plan-flag'].value, 'free');
    assert.equal(d['page-size'].value, 100);
    assert.equal((await configChanges()).length, 1, 'no configuration change for a 304');
    say('ok 3 - context change without effect and visibility refresh: 304, values kept');

    // 4. After those 304s the page still follows edits: disabling a flag gives the code default.
    mark = net.length;
    await manage('POST', '/flags/page-size/disable');
    changes = await until('a second PROVIDER_CONFIGURATION_CHANGED', async () => {
      const c = await configChanges();
      return c.length === 2 && c;
    });
    assert.deepEqual(changes[1].flagsChanged, ['page-size']);
    bulk = await bulkAfter(mark, 1, 'the re-fetch after the change event');
    assert.equal(bulk[0].status, 200);
    assert.equal(bulk[0].ifNoneMatch, etag2);
    assert.ok(bulk[0].etag && bulk[0].etag !== etag2);
    const etag3 = bulk[0].etag;
    d = await details();
    assert.deepEqual([d['page-size'].value, d['page-size'].variant, d['page-size'].reason, d['page-size'].errorCode], [10, null, 'DISABLED', null]);
    say(`ok 4 - after 304s: disable seen, 200 with ETag ${etag3}, page-size is the code default`);

    // 5. The ETag trap: the provider keeps its ETag when the targetingKey stays, so a context change that alters
    //    results must still get a 200 (the ETag covers the evaluations, not only the configuration).
    mark = net.length;
    const pro = { ...unrelated, plan: 'pro' };
    await page.evaluate((c) => window.harness.setContext(c), pro);
    bulk = await bulkAfter(mark, 1, 'the re-fetch for the new context');
    assert.equal(bulk[0].ifNoneMatch, etag3, 'same targetingKey: the provider sends its old ETag');
    assert.equal(bulk[0].status, 200, 'different results must not be answered 304');
    assert.ok(bulk[0].etag && bulk[0].etag !== etag3);
    const etag4 = bulk[0].etag;
    d = await details();
    assert.deepEqual([d['plan-flag'].value, d['plan-flag'].reason], ['pro', 'TARGETING_MATCH']);
    assert.equal(d['checkout-enabled'].value, false);
    say(`ok 5 - context change with effect (plan free -> pro, same targetingKey): 200 with ETag ${etag4}, plan-flag pro`);

    // 6. A new page load.
    mark = net.length;
    await start(pro);
    if (CACHE_MODE === 'disabled') {
      // Nothing persisted: an unconditional 200 with the same ETag as before for the same context.
      bulk = await bulkAfter(mark, 1, 'the start-up request');
      assert.equal(bulk[0].ifNoneMatch, null);
      assert.equal(bulk[0].status, 200);
      assert.equal(bulk[0].etag, etag4, 'same context, same flags: same ETag');
      d = await details();
      assert.deepEqual([d['plan-flag'].value, d['plan-flag'].reason], ['pro', 'TARGETING_MATCH']);
      say('ok 6 - reload without a cache: 200 with the same ETag');
    } else {
      // local-cache-first: values come from localStorage at once (reason CACHED), and the background refresh
      // sends the persisted ETag; Portal answers 304 without any session state.
      d = await details();
      assert.deepEqual([d['plan-flag'].value, d['plan-flag'].reason], ['pro', 'CACHED']);
      assert.equal(d['page-size'].value, 10);
      bulk = await bulkAfter(mark, 1, 'the background refresh');
      assert.equal(bulk[0].ifNoneMatch, etag4, 'the persisted ETag');
      assert.equal(bulk[0].status, 304);
      d = await details();
      // web provider 0.4.3 only clears its "using cache" state on a 200, so after a 304 the reason stays CACHED.
      assert.deepEqual([d['plan-flag'].value, d['plan-flag'].reason], ['pro', 'CACHED']);
      say('ok 6 - reload from the local cache: values at once, background refresh with the persisted ETag got 304');
    }
    // The event stream (from the response, or from the cached eventStreams) still delivers changes.
    await sseOpen(mark);
    mark = net.length;
    await manage('POST', '/flags/page-size/enable');
    changes = await until('PROVIDER_CONFIGURATION_CHANGED after the reload', async () => {
      const c = await configChanges(); // the new page's events only
      return c.length === 1 && c;
    });
    assert.deepEqual(changes[0].flagsChanged, ['page-size']);
    bulk = await bulkAfter(mark, 1, 'the re-fetch after the change event');
    assert.equal(bulk[0].status, 200);
    assert.ok(bulk[0].query.flagConfigEtag);
    d = await details();
    assert.deepEqual([d['page-size'].value, d['page-size'].reason], [100, 'TARGETING_MATCH']);
    assert.deepEqual([d['plan-flag'].value, d['plan-flag'].reason], ['pro', 'TARGETING_MATCH']);
    say('ok 7 - after the reload the event stream still delivers edits');

    const failed = net.filter((e) => e.phase === 'failed' && e.path !== EVENTS_PATH);
    assert.deepEqual(failed, [], 'no failed requests');
    say(`# ${net.filter((e) => e.phase === 'request').length} requests to Portal in ${Date.now() - started} ms`);
  } finally {
    await browser.close();
  }
}

try {
  await run();
} catch (err) {
  console.log(`not ok - ${err.stack ?? err}`);
  console.log('# network (page -> Portal):');
  for (const e of net) {
    console.log(`#   ${JSON.stringify(e)}`);
  }
  console.log('# page log:');
  for (const line of log.filter((l) => !l.startsWith('ok ') && !l.startsWith('# '))) {
    console.log(`#   ${line}`);
  }
  process.exit(1);
}
