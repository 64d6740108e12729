// Module Federation needs an asynchronous boundary before shared modules are used: everything starts in bootstrap.ts.
import('./bootstrap').catch((err: unknown) => console.error(err));
