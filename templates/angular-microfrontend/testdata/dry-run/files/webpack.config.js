const { shareAll, withModuleFederationPlugin } = require('@angular-architects/module-federation/webpack');

// Bill Splitter is a remote: the shell loads ./Routes from remoteEntry.js at runtime.
module.exports = withModuleFederationPlugin({
  name: 'bill_splitter',
  exposes: {
    './Routes': './src/app/app.routes.ts',
  },
  shared: {
    ...shareAll({ singleton: true, strictVersion: true, requiredVersion: 'auto' }),
  },
});
