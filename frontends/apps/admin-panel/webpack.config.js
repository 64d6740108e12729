const { withModuleFederationPlugin } = require('@angular-architects/module-federation/webpack');
const { shared, sharedMappings } = require('../../tools/mf-shared');

// Remote "adminPanel": the shell loads ./routes from remoteEntry.js at run time (see apps/shell/src/mf.manifest.json).
module.exports = withModuleFederationPlugin({
  name: 'adminPanel',
  exposes: {
    './routes': './apps/admin-panel/src/app/routes.ts',
  },
  shared,
  sharedMappings,
});
