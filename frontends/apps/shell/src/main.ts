import { initFederation } from '@angular-architects/module-federation';

// The remotes are whatever mf.manifest.json (served next to index.html, replaced per environment at deploy time)
// lists; their remoteEntry.js files load when their route is first visited, so one remote being down breaks only
// its own route. Module Federation needs an asynchronous boundary before shared modules are used: everything else
// starts in bootstrap.ts.
initFederation('mf.manifest.json', true)
  .catch((err: unknown) => console.error('mf.manifest.json could not be loaded: the shell runs without remotes', err))
  .then(() => import('./bootstrap'))
  .catch((err: unknown) => console.error(err));
