import { ChangeDetectionStrategy, Component, InjectionToken, inject } from '@angular/core';
import { ActivatedRoute, Routes } from '@angular/router';
import { loadRemoteModule } from '@angular-architects/module-federation';
import { HomeComponent } from './home.component';

/** One entry of mf.manifest.json: where a remote's remoteEntry.js is and where the shell mounts it. */
export interface RemoteEntry {
  remoteEntry: string;
  type: 'module' | 'script';
  exposedModule: string;
  routePath: string;
  displayName: string;
  [key: string]: unknown;
}

export const REMOTES = new InjectionToken<Record<string, RemoteEntry>>('billpay.remotes');

/** Shown in place of a remote whose remoteEntry.js or routes could not be loaded; the other remotes go on. */
@Component({
  selector: 'bp-remote-unavailable',
  standalone: true,
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <div class="bp-card" data-testid="remote-unavailable">
      <h1>{{ name }} is unavailable</h1>
      <p class="bp-muted">Its code could not be loaded. The rest of BillPay still works; try again later.</p>
    </div>
  `,
})
export class RemoteUnavailableComponent {
  readonly name = (inject(ActivatedRoute).snapshot.data['name'] as string | undefined) ?? 'This app';
}

@Component({
  selector: 'bp-not-found',
  standalone: true,
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `<div class="bp-card"><h1>Page not found</h1></div>`,
})
export class NotFoundComponent {}

/** The shell's routes: home, then one lazily loaded route per remote in the manifest (the remote's exposed
 * ./routes, loaded from its remoteEntry.js on first visit). */
export function remoteRoutes(manifest: Record<string, RemoteEntry>): Routes {
  const routes: Routes = [{ path: '', pathMatch: 'full', component: HomeComponent, title: 'BillPay' }];
  for (const [remoteName, entry] of Object.entries(manifest)) {
    routes.push({
      path: entry.routePath,
      title: `BillPay · ${entry.displayName}`,
      loadChildren: () =>
        loadRemoteModule<{ ROUTES: Routes }>({ type: 'manifest', remoteName, exposedModule: entry.exposedModule })
          .then((m) => m.ROUTES)
          .catch((err: unknown) => {
            console.error(`remote ${remoteName} could not be loaded from ${entry.remoteEntry}`, err);
            const fallback: Routes = [
              { path: '**', component: RemoteUnavailableComponent, data: { name: entry.displayName } },
            ];
            return fallback;
          }),
    });
  }
  routes.push({ path: '**', component: NotFoundComponent });
  return routes;
}
