// Walks the developer portal's main journeys in headless Chromium against a running Portal, as a person would:
// sign in with GitHub, find a component by search and open its page and API, filter the catalog, read a
// component's docs, create a service from a template and watch its task finish, evaluate a flag
// and switch it off and on again watching the preview change, create and revoke a personal access token, deploy
// a component to the test cluster and watch the rollout (then deploy a new tag and roll back), sign out. cmd/portal/web_test.go starts Portal (signing people in through a GitHub fake) and runs this script.
// A screenshot of every page goes to SCREENSHOT_DIR. Exit status 0 means every step passed.
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

const PORTAL = env('PORTAL_BASE_URL').replace(/\/$/, '');
const CHROMIUM = env('CHROMIUM_PATH', '/usr/bin/chromium');
const ARGS = env('CHROMIUM_ARGS', '--headless --no-sandbox --disable-gpu').split(/\s+/).filter(Boolean);
const SHOTS = env('SCREENSHOT_DIR', 'out');
const TIMEOUT_MS = Number(env('WEB_TIMEOUT_MS', '15000'));
const OFREP_KEY = env('OFREP_CLIENT_KEY');
const DEPLOY_JOURNEY = env('DEPLOY_JOURNEY', '0') === '1';

mkdirSync(SHOTS, { recursive: true });

let lastSay = Date.now();
function say(line) {
  const now = Date.now();
  console.log(line.startsWith('ok ') ? `${line} (${now - lastSay} ms)` : line);
  lastSay = now;
}

const problems = [];

async function shot(page, name) {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

async function api(path, token) {
  const res = await fetch(`${PORTAL}${path}`, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  return { status: res.status, body: await res.text() };
}

// ofrep evaluates a flag as the BillPay frontends do, with the dev environment's client key.
async function ofrep(key, context) {
  const res = await fetch(`${PORTAL}/ofrep/v1/evaluate/flags/${key}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-API-Key': OFREP_KEY },
    body: JSON.stringify({ context }),
  });
  return res.json();
}

const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: TIMEOUT_MS });
try {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  context.setDefaultTimeout(TIMEOUT_MS);
  const page = await context.newPage();
  page.on('console', (msg) => {
    // A page's own status (401 on the sign-in page, 422 on a refused form) is reported as a failed load; those
    // statuses are the point. Anything else, CSP refusals included, is a problem.
    if (msg.type() === 'error' && !/^Failed to load resource: the server responded with a status of (401|422)/.test(msg.text())) {
      problems.push(`console error on ${page.url()}: ${msg.text()}`);
    }
  });
  page.on('pageerror', (err) => problems.push(`script error on ${page.url()}: ${err.message}`));
  page.on('dialog', (dialog) => dialog.accept());

  // Signed out, the portal asks for sign-in and returns to where the person was going.
  await page.goto(`${PORTAL}/catalog/default/component/payment-service`);
  assert.equal(await page.locator('h1').innerText(), 'Sign in to use the portal');
  await shot(page, '01-sign-in');
  await page.getByRole('link', { name: 'Sign in with GitHub' }).click();
  await page.waitForURL(`${PORTAL}/catalog/default/component/payment-service`);
  assert.match(await page.locator('.who-name').innerText(), /Lucía Fernández/);
  say('ok signed in through GitHub and came back to the page asked for');

  // The keyboard reaches the skip link first.
  await page.goto(`${PORTAL}/`);
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.className), 'skip');
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'main');
  assert.match(await page.locator('#owned-h').innerText(), /Your components/);
  assert.ok(await page.getByRole('link', { name: 'Payment Service' }).count() >= 1, 'her team owns payment-service');
  await shot(page, '02-home');
  say('ok home shows her components; Tab then Enter skips to the content');

  // Find a component by search and open its page.
  await page.getByLabel('Search the catalog').fill('payment');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.waitForURL(/\?q=payment/);
  await shot(page, '03-search');
  // The search covers the catalog and the docs: open the component, not its runbook.
  await page.locator('ol.results a[href="/catalog/default/component/payment-service"]').click();
  await page.waitForURL(`${PORTAL}/catalog/default/component/payment-service`);
  assert.equal((await page.locator('h1').innerText()).trim(), 'Payment Service');
  assert.ok(await page.locator('svg.relations-graph .node').count() >= 5, 'the relations graph is drawn');
  await shot(page, '04-entity');
  say('ok found payment-service by search and opened its page with its relations graph');

  await page.emulateMedia({ colorScheme: 'dark' });
  await shot(page, '05-entity-dark');
  await page.emulateMedia({ colorScheme: 'light' });

  // Its APIs, and the OpenAPI definition as a reference.
  await page.getByRole('link', { name: 'APIs', exact: true }).click();
  await page.locator('table').getByRole('link', { name: 'Payments API' }).first().click();
  await page.waitForURL(/\/catalog\/default\/api\/payments-api\/api$/);
  assert.ok(await page.locator('article.operation').count() >= 3, 'operations are listed');
  assert.ok(await page.locator('article.schema').count() >= 1, 'schemas are listed');
  await shot(page, '06-api-definition');
  say('ok the Payments API definition reads as a reference');

  // The catalog table: a facet applies as soon as it is ticked, and the filter stays in the links.
  await page.goto(`${PORTAL}/catalog`);
  await page.locator('input[name=kind][value=Component]').check();
  await page.waitForURL(/kind=Component/);
  const kinds = await page.locator('table.entities tbody tr td:nth-child(2)').allInnerTexts();
  assert.ok(kinds.length > 0 && kinds.every((k) => k.trim() === 'Component'), `only components: ${kinds}`);
  await shot(page, '07-catalog');
  say(`ok the catalog filtered to ${kinds.length} components`);

  await page.goto(`${PORTAL}/catalog/errors`);
  await shot(page, '08-catalog-errors');

  // Find a component by search and open its docs (the portal documents itself).
  await page.goto(`${PORTAL}/?q=portal`);
  await page.locator('ol.results a[href="/catalog/default/component/portal"]').first().click();
  await page.waitForURL(`${PORTAL}/catalog/default/component/portal`);
  await page.locator('nav.tabs').getByRole('link', { name: 'Docs' }).click();
  await page.getByRole('link', { name: 'Read the docs' }).click();
  await page.waitForURL(`${PORTAL}/docs/default/component/portal/`);
  // The portal builds docs in the background after it starts: wait for the first build.
  const built = Date.now() + 60000;
  while ((await page.locator('.docs-body').count()) === 0) {
    assert.ok(Date.now() < built, 'the portal docs were built within a minute');
    await new Promise((r) => setTimeout(r, 500));
    await page.reload();
  }
  const navLinks = page.locator('nav.docs-nav a');
  assert.ok((await navLinks.count()) > 2, 'the docs have a navigation');
  await shot(page, '08d-docs');
  const second = navLinks.nth(1);
  const target = await second.getAttribute('href');
  await second.click();
  await page.waitForURL(`${PORTAL}${target}`);
  assert.equal(await page.locator('nav.docs-nav a[aria-current="page"]').getAttribute('href'), target);
  const anchors = page.locator('nav.docs-toc a');
  if ((await anchors.count()) > 0) {
    const id = (await anchors.first().getAttribute('href')).slice(1);
    assert.equal(await page.locator(`[id="${id}"]`).count(), 1, 'the table of contents points at a heading on the page');
  }
  await shot(page, '08e-docs-page');
  say('ok found the portal by search and read its docs: navigation, pages and anchors');

  // Create a service from a template and watch its task finish.
  await page.goto(`${PORTAL}/create`);
  await shot(page, '08a-create');
  await page.getByRole('link', { name: 'Choose Hello service' }).click();
  await page.getByLabel('Name').fill('Not Valid');
  await page.getByLabel('Owner').fill('group:default/payments-team');
  await page.getByLabel('Language').selectOption('java');
  await page.getByRole('button', { name: 'Create' }).click();
  await page.locator('#error-summary').waitFor();
  await shot(page, '08b-create-invalid');
  await page.getByLabel('Name').fill('journey-service');
  await page.getByRole('button', { name: 'Create' }).click();
  await page.waitForURL(/\/create\/tasks\/[^/]+$/);
  await page.locator('#steps-h .status-completed').waitFor();
  assert.match(await page.locator('pre.log').innerText(), /hello journey-service owned by group:default\/payments-team, 2 replicas of java/);
  assert.equal(await page.getByRole('link', { name: 'Open in catalog' }).getAttribute('href'), '/catalog/default/component/journey-service');
  await shot(page, '08c-create-task');
  say('ok created a service from a template: refused an invalid name beside its field, then watched the task finish');

  // A flag: evaluate it, switch it off and see the preview change, switch it on again.
  await page.goto(`${PORTAL}/flags/dev`);
  await shot(page, '09-flags');
  await page.getByRole('link', { name: 'new-checkout-flow' }).click();
  await page.getByLabel('Evaluation context (JSON)').fill('{"email": "ana@billpay.example"}');
  await page.getByRole('button', { name: 'Evaluate' }).click();
  const result = page.locator('#preview-result .result-card');
  await result.and(page.locator('[data-reason="TARGETING_MATCH"]')).waitFor();
  assert.equal(await result.getAttribute('data-variant'), 'on');
  await shot(page, '10-flag-preview');
  say('ok the preview evaluates new-checkout-flow for a staff e-mail: on, TARGETING_MATCH');

  await page.getByRole('button', { name: 'Disable in dev' }).click();
  await page.locator('.flash').getByText('Disabled new-checkout-flow in dev.').waitFor();
  await page.locator('#preview-result [data-reason="DISABLED"]').waitFor();
  assert.equal(await page.getByLabel('Evaluation context (JSON)').inputValue(), '{"email": "ana@billpay.example"}');
  await shot(page, '11-flag-disabled');
  let served = await ofrep('new-checkout-flow', { email: 'ana@billpay.example' });
  assert.equal(served.reason, 'DISABLED', JSON.stringify(served));
  say('ok switched off: the preview says DISABLED, and so do OFREP clients');

  await page.getByRole('button', { name: 'Enable in dev' }).click();
  await page.locator('.flash').getByText('Enabled new-checkout-flow in dev.').waitFor();
  await page.locator('#preview-result [data-reason="TARGETING_MATCH"]').waitFor();
  served = await ofrep('new-checkout-flow', { email: 'ana@billpay.example' });
  assert.equal(served.value, true, JSON.stringify(served));
  say('ok switched on again: TARGETING_MATCH on the page and over OFREP');

  // The editor reports the service's validation beside the field.
  await page.getByLabel('Default variant').fill('nope');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.locator('#error-summary').waitFor();
  assert.match(await page.locator('#field-defaultVariant .field-error').innerText(), /defaultVariant "nope" is not one of its variants/);
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'error-summary');
  await shot(page, '12-flag-invalid');
  say('ok an invalid default variant is refused, named beside its field');

  // A personal access token: created, shown once, works, revoked, stops working.
  await page.goto(`${PORTAL}/settings`);
  await page.getByLabel('Name').fill('browser journey');
  await page.getByRole('button', { name: 'Create token' }).click();
  const token = await page.locator('#new-token').inputValue();
  assert.match(token, /^pat_/);
  await shot(page, '13-token-created');
  let me = await api('/api/auth/me', token);
  assert.equal(me.status, 200, me.body);
  assert.equal(JSON.parse(me.body).subject, 'user:default/lucia.fernandez');
  say('ok created a token, shown once, that authenticates as her');

  await page.goto(`${PORTAL}/settings`);
  assert.equal(await page.locator('#new-token').count(), 0, 'the token is not shown again');
  await page.getByRole('button', { name: 'Revoke browser journey' }).click();
  await page.locator('.flash').getByText(/Revoked token/).waitFor();
  await shot(page, '14-token-revoked');
  me = await api('/api/auth/me', token);
  assert.equal(me.status, 401, 'a revoked token no longer works');
  say('ok revoked it; the API refuses it');

  await page.goto(`${PORTAL}/docs`);
  await shot(page, '15-docs');
  if (DEPLOY_JOURNEY) {
    // Deploy to the test cluster: dry run first, then the release page follows the rollout live.
    await page.goto(`${PORTAL}/deploys`);
    await shot(page, '16-deploys');
    // Two fields are labelled Component (the deploy form's and the releases filter's): take the form's.
    await page.locator('form.deploy-form').getByLabel('Component').fill('component:default/payment-service');
    await page.getByLabel('Image tag').fill('1.0.0');
    await page.getByRole('button', { name: 'Dry run' }).click();
    await page.locator('#plan-h').waitFor();
    assert.match(await page.locator('#plan-h').innerText(), /would change/);
    assert.match(await page.locator('#dry-run').innerText(), /Deployment\/billpay\/payment-service/);
    await shot(page, '17-deploy-dry-run');
    say('ok a dry run shows what the deploy would create, changing nothing');

    await page.getByRole('button', { name: 'Deploy 1.0.0 to dev' }).click();
    await page.waitForURL(/\/deploys\/releases\/\d+$/);
    const first = page.url();
    await page.locator('#status-h .status-succeeded').waitFor({ timeout: 90000 });
    const events = await page.locator('.events').innerText();
    assert.match(events, /Requested/);
    assert.match(events, /Succeeded/);
    await shot(page, '18-deploy-release');
    say('ok deployed payment-service 1.0.0 to dev and watched the rollout succeed on its page');

    // The component's Deployments tab shows the release and the pod running in the cluster; deploy a new tag from it.
    await page.goto(`${PORTAL}/catalog/default/component/payment-service/deployments`);
    await page.locator('td', { hasText: 'Running' }).first().waitFor();
    await shot(page, '19-entity-deployments');
    await page.getByLabel('Image tag').fill('1.1.0');
    await page.getByRole('button', { name: 'Deploy', exact: true }).click();
    await page.waitForURL(/\/deploys\/releases\/\d+$/);
    await page.locator('#status-h .status-succeeded').waitFor({ timeout: 90000 });
    say('ok deployed 1.1.0 from the component page: it shows the pod Running');

    // Roll back to the first release.
    await page.goto(first);
    await page.getByRole('button', { name: 'Roll back to this release' }).click();
    await page.waitForURL(/\/deploys\/releases\/\d+$/);
    assert.notEqual(page.url(), first);
    await page.locator('#status-h .status-succeeded').waitFor({ timeout: 90000 });
    assert.match(await page.locator('h1').innerText(), /Rollback of payment-service to release/);
    await shot(page, '20-deploy-rollback');
    say('ok rolled back to the first release and watched it succeed');
  } else {
    await page.goto(`${PORTAL}/deploys`);
    await shot(page, '16-deploys');
    say('skip the deploy journey: the local Kubernetes control plane is not built (scripts/kube-testenv.sh build)');
  }

  await page.goto(`${PORTAL}/settings`);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(`${PORTAL}/`);
  assert.equal(await page.locator('h1').innerText(), 'Sign in to use the portal');
  say('ok signed out');
  assert.deepEqual(problems, [], 'no script errors or CSP violations');
  say('ok no script errors or CSP violations on any page');
} finally {
  await browser.close();
}
