const { withModuleFederationPlugin } = require('@angular-architects/module-federation/webpack');
const { shared, sharedMappings } = require('../../tools/mf-shared');

// Remote "featureFlags": the shell loads ./routes from remoteEntry.js at run time (see apps/shell/src/mf.manifest.json).
module.exports = withModuleFederationPlugin({
  name: 'featureFlags',
  exposes: {
    './routes': './apps/feature-flags/src/app/routes.ts',
  },
  shared,
  sharedMappings,
});
