const { withModuleFederationPlugin } = require('@angular-architects/module-federation/webpack');
const { shared, sharedMappings } = require('../../tools/mf-shared');

// Remote "paymentApp": the shell loads ./routes from remoteEntry.js at run time (see apps/shell/src/mf.manifest.json).
module.exports = withModuleFederationPlugin({
  name: 'paymentApp',
  exposes: {
    './routes': './apps/payment-app/src/app/routes.ts',
  },
  shared,
  sharedMappings,
});
