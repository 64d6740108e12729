import { getManifest } from '@angular-architects/module-federation';
import { startApp } from '@billpay/shared';
import { AppComponent } from './app/app.component';
import { REMOTES, RemoteEntry, remoteRoutes } from './app/remotes';

const manifest = getManifest<Record<string, RemoteEntry>>() ?? {};
void startApp(AppComponent, remoteRoutes(manifest), [{ provide: REMOTES, useValue: manifest }]);
