// Module Federation needs an asynchronous boundary before Angular starts, so that shared libraries
// are negotiated with the shell first.
import('./bootstrap').catch((err) => console.error(err));
