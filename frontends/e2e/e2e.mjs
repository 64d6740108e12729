// End-to-end check of BillPay's microfrontends in headless Chromium (playwright-core) against a running Portal and
// a mock of BillPay's Backend API that Prism serves from its OpenAPI definition (tools/mock-api.mjs; the answers are
// the definition's examples). internal/frontendtest (go test) starts Portal and the mock, serves the production
// builds of the four apps from four loopback origins with config.json pointing at both, and runs this script
// twice; see that test for the variables (PORTAL_URL, API_URL, SHELL_URL, PAYMENT_URL, ADMIN_URL, FLAGS_URL).
//
// PHASE=live (Portal running):
//   1. the shell loads all three remotes named in mf.manifest.json, each remoteEntry.js from its own origin
//   2. payment-app shows the classic checkout to a customer and the new one to staff (new-checkout-flow targeting
//      on the signed-in user's e-mail), switching when the user picker changes the OpenFeature context
//   3. turning new-checkout-flow on for everyone through Portal's management API switches the customer's page to
//      the new checkout without a reload (Portal's event stream → re-fetch → PROVIDER_CONFIGURATION_CHANGED); a
//      bill paid there goes to the Backend API mock and its answer is the receipt
//   4. the maintenance-banner object flag shows and hides the banner live
//   5. the feature-flags console lists every flag of the environment from Portal; switching bulk-refunds off there
//      changes it in Portal, and the admin panel's bulk refund control follows live when it is switched on again;
//      the admin panel's payments come from the mock, and a bulk refund goes to it
//   6. the console's editor shows validation errors and saves a change, which its audit view then lists
//   6b. payment-app's history asks the API for payment-history-page-size (10) rows at a time
//   7. each remote also runs on its own origin, outside the shell
// The Backend API calls go to API_URL, and the mock accepts every one of them (Prism checks each against the
// definition, so a call the definition does not allow fails the run).
// PHASE=offline (Portal stopped): the shell and payment-app still render, with default flag values (the classic
//   checkout) and the "flags offline" indicator.
// Screenshots of each app go to OUT_DIR. Exit status 0 means every step passed.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const env = (name, fallback) => {
  const v = process.env[name] ?? fallback;
  if (v === undefined) {
    throw new Error(`${name} is not set`);
  }
  return v;
};

const PHASE = env('PHASE', 'live');
const PORTAL = env('PORTAL_URL').replace(/\/$/, '');
const API = env('API_URL').replace(/\/$/, '');
const SHELL = env('SHELL_URL');
const REMOTES = { 'payment-app': env('PAYMENT_URL'), 'admin-panel': env('ADMIN_URL'), 'feature-flags': env('FLAGS_URL') };
const OUT = env('OUT_DIR', 'test-output');
const CHROMIUM = env('CHROMIUM_PATH', '/usr/bin/chromium');
const TIMEOUT = Number(env('E2E_TIMEOUT_MS', '15000'));

mkdirSync(OUT, { recursive: true });

let last = Date.now();
function ok(what) {
  const now = Date.now();
  console.log(`ok ${what} (${now - last} ms)`);
  last = now;
}

// Portal's flag management API, as an operator (or the console) calls it. Guest access is on in the test Portal.
async function manage(method, path, body, headers = {}) {
  const res = await fetch(`${PORTAL}/api/flags/environments/dev${path}`, {
    method,
    headers: { 'Content-Type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  assert.ok(res.ok, `${method} ${path}: HTTP ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

async function patchFlag(key, change) {
  const flag = await manage('GET', `/flags/${key}`);
  return manage('PUT', `/flags/${key}`, { ...flag.definition, ...change }, { 'If-Match': flag.etag });
}

async function until(what, probe) {
  const deadline = Date.now() + TIMEOUT;
  while (!(await probe())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${TIMEOUT} ms waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

const testid = (id) => `[data-testid="${id}"]`;

const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
context.setDefaultTimeout(TIMEOUT);
const page = await context.newPage();
// Every request the page made, and the Backend API's answers to it ("METHOD path?query" → status).
const requests = [];
const apiCalls = [];
const errors = [];
page.on('request', (r) => requests.push(r.url()));
page.on('response', (r) => {
  if (r.url().startsWith(`${API}/`) && r.request().method() !== 'OPTIONS') {
    apiCalls.push({ call: `${r.request().method()} ${r.url().slice(API.length)}`, status: r.status() });
  }
});
page.on('pageerror', (e) => errors.push(e.message));
page.on('console', (m) => {
  if (m.type() === 'error') {
    errors.push(m.text());
  }
});

async function shot(name) {
  await page.screenshot({ path: join(OUT, `${PHASE}-${name}.png`), fullPage: true });
}

/** Waits for a Backend API call to the mock that matches, and checks its status. */
async function apiCall(what, match, status) {
  await until(`${what} at the Backend API mock`, async () => apiCalls.some((c) => match.test(c.call)));
  const calls = apiCalls.filter((c) => match.test(c.call));
  assert.ok(
    calls.every((c) => c.status === status),
    `${what}: the mock answered ${calls.map((c) => `${c.call} → ${c.status}`).join(', ')}`,
  );
  return calls;
}

async function pickUser(name) {
  const select = page.locator(testid('user-picker'));
  const value = await select.locator('option', { hasText: name }).getAttribute('value');
  await select.selectOption(value);
}

try {
  if (PHASE === 'live') {
    await live();
  } else {
    await offline();
  }
  console.log(`all ${PHASE} steps passed`);
} catch (err) {
  await shot('failure').catch(() => undefined);
  console.error(`FAILED in phase ${PHASE}: ${err.stack ?? err}`);
  console.error(`page errors: ${errors.join('\n') || '(none)'}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}

async function live() {
  // A known start: new-checkout-flow on for staff only, nothing else on; no banner; bulk refunds for admins.
  await patchFlag('new-checkout-flow', {
    state: 'ENABLED',
    defaultVariant: 'off',
    targeting: { if: [{ ends_with: [{ var: 'email' }, '@billpay.example'] }, 'on', null] },
  });
  await patchFlag('maintenance-banner', { defaultVariant: 'none' });
  ok('flags reset through the management API');

  // 1. The shell composes the remotes from its manifest.
  await page.goto(SHELL);
  for (const name of Object.keys(REMOTES)) {
    await page.locator(testid(`nav-${name}`)).waitFor();
  }
  await page.locator(testid('flags-online')).waitFor();
  ok('shell rendered the navigation from mf.manifest.json, flags online');
  await shot('shell-home');

  // 2. payment-app inside the shell, as Ana (customer) then Carla (staff).
  await page.locator(testid('nav-payment-app')).click();
  await page.locator(testid('checkout-classic')).waitFor();
  assert.ok(requests.some((u) => u.startsWith(new URL('remoteEntry.js', REMOTES['payment-app']).href)), 'payment-app remoteEntry.js came from its own origin');
  ok('payment-app loaded into the shell; a customer sees the classic checkout');
  await pickUser('Carla Ruiz');
  await page.locator(testid('checkout-new')).waitFor();
  ok('staff (targeting on e-mail) see the new checkout after the user picker changed the context');
  await pickUser('Ana García');
  await page.locator(testid('checkout-classic')).waitFor();

  // 3. Turn the flag on for everyone in Portal: the page follows without reloading.
  await page.evaluate(() => {
    window.__e2eMarker = 'same-page';
  });
  const t0 = Date.now();
  await patchFlag('new-checkout-flow', { defaultVariant: 'on', targeting: {} });
  await page.locator(testid('checkout-new')).waitFor();
  assert.equal(await page.evaluate(() => window.__e2eMarker), 'same-page', 'the page was not reloaded');
  ok(`new-checkout-flow turned on in Portal → the customer's page switched to the new checkout live in ${Date.now() - t0} ms`);
  await shot('payment-app-new-checkout');

  // Pay a bill in the new checkout: the generated client posts it to the Backend API mock, whose example answer
  // (catalog-info/apis/openapi/backend-api.yaml, payBill 201) is the receipt.
  await page.locator(testid('reference')).fill('7712-0093');
  await page.locator(testid('amount')).fill('45.99');
  await page.locator(testid('pay')).click();
  await page.locator(testid('receipt'), { hasText: 'ACME Telecom' }).waitFor();
  assert.match(await page.locator(testid('receipt')).innerText(), /45\.99.*COMPLETED/s);
  await apiCall('POST /payments', /^POST \/payments$/, 201);
  ok('a bill paid in the new checkout went to the Backend API mock (Prism), which answered 201 with the receipt');
  await shot('payment-app-receipt');

  // 4. An object flag: the maintenance banner.
  await patchFlag('maintenance-banner', { defaultVariant: 'incident' });
  await page.locator(testid('maintenance-banner'), { hasText: 'investigating delays' }).waitFor();
  ok('maintenance-banner (object flag) shown live');
  await shot('payment-app-banner');
  await patchFlag('maintenance-banner', { defaultVariant: 'none' });
  await page.locator(testid('maintenance-banner')).waitFor({ state: 'detached' });
  ok('maintenance banner hidden live');

  // 5. The flag console inside the shell lists the environment's flags from Portal and toggles them.
  await page.locator(testid('nav-feature-flags')).click();
  const keys = (await manage('GET', '/flags')).Items.map((f) => f.key);
  assert.ok(keys.length >= 8, `Portal has BillPay's flags (${keys})`);
  for (const key of keys) {
    await page.locator(testid(`flag-${key}`)).waitFor();
  }
  ok(`feature-flags console lists all ${keys.length} flags of dev from Portal`);
  await shot('feature-flags-list');
  const toggle = page.locator(testid('toggle-bulk-refunds'));
  assert.equal(await toggle.isChecked(), true);
  await toggle.uncheck();
  await until('bulk-refunds disabled in Portal', async () => (await manage('GET', '/flags/bulk-refunds')).definition.state === 'DISABLED');
  ok('switching bulk-refunds off in the console disabled it in Portal');

  await page.locator(testid('nav-admin-panel')).click();
  await pickUser('Dev Admin');
  await page.locator(testid('refund')).first().waitFor();
  assert.equal(await page.locator(testid('bulk-refund')).count(), 0, 'no bulk refunds while the flag is disabled');
  await manage('POST', '/flags/bulk-refunds/enable');
  await page.locator(testid('bulk-refund')).waitFor();
  ok('admin-panel: bulk refunds appeared live for the admin when bulk-refunds was enabled again');
  await page.locator(testid('select-payment')).first().check();
  await page.locator(testid('bulk-refund')).click();
  await page.locator(testid('refund-result'), { hasText: '1 of 1' }).waitFor();
  await apiCall('GET /admin/payments', /^GET \/admin\/payments\?/, 200);
  await apiCall('the refund', /^POST \/admin\/payments\/[0-9a-f-]{36}\/refunds$/, 201);
  ok('admin-panel: payments listed from the Backend API mock, and a bulk refund went to it through the generated client');
  await shot('admin-panel-payments');

  // 6. Edit a flag in the console: validation errors, then a saved change that the audit log shows.
  await page.locator(testid('nav-feature-flags')).click();
  await page.locator(testid('edit-payment-history-page-size')).click();
  const editor = page.locator(testid('definition'));
  await page.waitForFunction(() => (document.querySelector('[data-testid="definition"]')?.value ?? '').includes('"variants"'));
  const original = JSON.parse(await editor.inputValue());
  await editor.fill('{"state": "ENABLED", "variants": {"small": 10}, "defaultVariant": "tiny"}');
  await page.locator(testid('validation-errors'), { hasText: 'defaultVariant "tiny"' }).waitFor();
  assert.equal(await page.locator(testid('save')).isDisabled(), true);
  ok('console editor shows validation errors and refuses to save');
  await editor.fill(JSON.stringify({ ...original, defaultVariant: 'small' }, null, 2));
  await page.locator(testid('save')).click();
  await page.locator(testid('saved')).waitFor();
  assert.equal((await manage('GET', '/flags/payment-history-page-size')).definition.defaultVariant, 'small');
  ok('console saved payment-history-page-size with defaultVariant small');
  await shot('feature-flags-edit');
  await page.goBack();
  await page.locator(testid('audit-link')).click();
  await page.locator(testid('audit'), { hasText: 'payment-history-page-size' }).waitFor();
  await page.locator(testid('audit'), { hasText: 'disable' }).waitFor();
  ok('console audit view lists the edit and the toggle');
  await shot('feature-flags-audit');

  // payment-app's history follows the page size flag.
  await page.locator(testid('nav-payment-app')).click();
  await pickUser('Ana García');
  await page.getByRole('link', { name: 'Payment history' }).click();
  await page.locator('p', { hasText: '10 per page' }).waitFor();
  const history = await apiCall('GET /me/payments', /^GET \/me\/payments\?/, 200);
  assert.ok(history.some((c) => new URL(c.call.split(' ')[1], API).searchParams.get('limit') === '10'), 'the history asked for 10 rows');
  await page.locator(`${testid('history')} tbody tr`, { hasText: 'Northwind Energy' }).waitFor();
  ok('payment history asks the Backend API mock for 10 rows per page (payment-history-page-size: small) and lists its answer');
  await shot('payment-app-history');

  // 7. Each remote on its own origin, without the shell.
  for (const [name, url] of Object.entries(REMOTES)) {
    const own = await context.newPage();
    await own.goto(url);
    await own.locator(testid('flags-online')).waitFor();
    await own.locator('main').locator('h1').first().waitFor();
    await own.screenshot({ path: join(OUT, `${PHASE}-${name}-standalone.png`), fullPage: true });
    await own.close();
  }
  ok('payment-app, admin-panel and feature-flags each run on their own as well');
  assert.deepEqual(errors.filter((e) => !/EventSource|ERR_|net::|Failed to load resource/.test(e)), [], 'no page errors');
  assert.deepEqual(apiCalls.filter((c) => c.status >= 400), [], 'the mock accepted every Backend API call (Prism validates them against the definition)');
}

async function offline() {
  const down = await fetch(`${PORTAL}/readyz`).then(
    () => false,
    () => true,
  );
  assert.ok(down, 'Portal is stopped for this phase');
  await page.goto(SHELL);
  await page.locator(testid('nav-payment-app')).waitFor();
  await page.locator(testid('flags-offline')).waitFor();
  ok('with Portal stopped the shell renders and shows "flags offline"');
  await page.locator(testid('nav-payment-app')).click();
  await page.locator(testid('checkout-classic')).waitFor();
  ok('payment-app renders with the default flag values (classic checkout)');
  await shot('payment-app-offline');
  await page.locator(testid('nav-admin-panel')).click();
  await pickUser('Dev Admin');
  await page.locator(testid('refund')).first().waitFor();
  assert.equal(await page.locator(testid('refunds-disabled')).count(), 0, 'refunds stay on by default');
  assert.equal(await page.locator(testid('bulk-refund')).count(), 0, 'no bulk refunds by default');
  await apiCall('GET /admin/payments', /^GET \/admin\/payments\?/, 200);
  ok('admin-panel renders with its defaults, its payments from the Backend API mock');
}
