const { withModuleFederationPlugin } = require('@angular-architects/module-federation/webpack');
const { shared, sharedMappings } = require('../../tools/mf-shared');

// The host: no remotes at build time; they come from mf.manifest.json at run time.
module.exports = withModuleFederationPlugin({
  shared,
  sharedMappings,
});
