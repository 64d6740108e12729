// The Module Federation share scope every app uses: Angular, RxJS, OpenFeature and openapi-fetch as strict
// singletons (one OpenFeature API, one router, one zone), and @billpay/shared (a tsconfig path mapping) shared
// the same way, so the shell and the remotes use one runtime config, one flag client and one session.
const path = require('node:path');
const { share } = require('@angular-architects/module-federation/webpack');

const singleton = { singleton: true, strictVersion: true, requiredVersion: 'auto' };

module.exports.shared = share(
  {
    '@angular/core': singleton,
    '@angular/common': singleton,
    '@angular/router': singleton,
    '@angular/forms': singleton,
    '@angular/platform-browser': singleton,
    rxjs: singleton,
    '@openfeature/web-sdk': singleton,
    '@openfeature/core': singleton,
    '@openfeature/ofrep-web-provider': singleton,
    'openapi-fetch': singleton,
  },
  path.join(__dirname, '..', 'package.json'),
);

module.exports.sharedMappings = ['@billpay/shared'];
