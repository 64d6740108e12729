// @billpay/shared: imported once by the shell and every remote (a Module Federation shared singleton), so the
// runtime config, the OpenFeature client, the session and the API clients are the same objects everywhere.
export * from './lib/config/runtime-config';
export * from './lib/flags/flag-keys';
export * from './lib/flags/flags';
export * from './lib/session/session';
export * from './lib/api/clients';
export { DEMO_BILLERS, demoBackendFetch, resetDemoBackend } from './lib/api/demo-backend';
export * from './lib/ui/components';
export * from './lib/providers';
export * from './lib/testing';
