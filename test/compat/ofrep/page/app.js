// The application side of the browser suite: an OpenFeature web SDK client on the OFREP web provider, as a
// BillPay frontend would set it up. browser.mjs drives it through window.harness and reads what it reports.
import { OpenFeature, ProviderEvents } from '@openfeature/web-sdk';
import { OFREPWebProvider } from '@openfeature/ofrep-web-provider';

// What the page evaluates, with the code defaults the application passes.
const FLAGS = [
  ['checkout-enabled', 'boolean', false],
  ['payment-provider', 'string', 'none'],
  ['page-size', 'number', 10],
  ['fee-rate', 'number', 0],
  ['banner', 'object', { show: false, code: true }],
  ['plan-flag', 'string', 'none'],
  ['rollout', 'string', 'none'],
  ['paused', 'boolean', false],
  ['code-default-bool', 'boolean', true],
  ['broken-rule', 'boolean', true],
  ['unknown-variant', 'boolean', true],
  ['environment', 'string', 'none'],
  ['no-such-flag', 'boolean', true],
];

const events = [];
let client;

function record(type) {
  return (details) => {
    events.push({
      type,
      flagsChanged: details?.flagsChanged ?? null,
      message: details?.message ?? null,
      at: Date.now(),
    });
  };
}

window.harness = {
  events,
  origin: location.origin,

  // start sets up the provider and resolves once it is ready (or rejects with the provider's error).
  async start({ baseUrl, apiKey, cacheMode, context }) {
    for (const type of [
      ProviderEvents.Ready,
      ProviderEvents.Error,
      ProviderEvents.ConfigurationChanged,
      ProviderEvents.Stale,
      ProviderEvents.Reconciling,
      ProviderEvents.ContextChanged,
    ]) {
      OpenFeature.addHandler(type, record(type));
    }
    const provider = new OFREPWebProvider({ baseUrl, headers: [['X-API-Key', apiKey]], cacheMode });
    await OpenFeature.setContext(context);
    await OpenFeature.setProviderAndWait(provider);
    client = OpenFeature.getClient();
    document.getElementById('status').textContent = 'ready';
  },

  // details evaluates every flag of FLAGS; evaluations never go to the network with this provider.
  details(extra = []) {
    const out = {};
    for (const [key, type, def] of [...FLAGS, ...extra]) {
      const d = {
        boolean: () => client.getBooleanDetails(key, def),
        string: () => client.getStringDetails(key, def),
        number: () => client.getNumberDetails(key, def),
        object: () => client.getObjectDetails(key, def),
      }[type]();
      out[key] = {
        value: d.value,
        variant: d.variant ?? null,
        reason: d.reason ?? null,
        errorCode: d.errorCode ?? null,
        flagMetadata: d.flagMetadata ?? {},
      };
    }
    return out;
  },

  // setContext resolves once the provider has reconciled the new context.
  async setContext(context) {
    await OpenFeature.setContext(context);
  },

  // becomeVisible fires the page-visibility refresh the provider does when a tab comes back to the front.
  becomeVisible() {
    document.dispatchEvent(new Event('visibilitychange'));
    return document.visibilityState;
  },
};
