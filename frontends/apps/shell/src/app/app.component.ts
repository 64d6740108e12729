import { ChangeDetectionStrategy, Component, inject } from '@angular/core';
import { KeyValuePipe } from '@angular/common';
import { RouterLink, RouterLinkActive, RouterOutlet } from '@angular/router';
import {
  FlagsStatusComponent,
  MaintenanceBannerComponent,
  RUNTIME_CONFIG,
  UserPickerComponent,
  storeEnvironment,
} from '@billpay/shared';
import { REMOTES } from './remotes';

/** The host: banner, navigation built from the manifest, flag status, environment and user pickers, and the
 * remotes' routes. */
@Component({
  selector: 'bp-root',
  standalone: true,
  imports: [RouterOutlet, RouterLink, RouterLinkActive, KeyValuePipe, MaintenanceBannerComponent, FlagsStatusComponent, UserPickerComponent],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <bp-maintenance-banner />
    <header class="bp-header">
      <a class="bp-header__brand" routerLink="/">BillPay</a>
      <nav class="bp-nav" aria-label="Apps">
        @for (r of remotes | keyvalue; track r.key) {
          <a [routerLink]="'/' + r.value.routePath" routerLinkActive="active" [attr.data-testid]="'nav-' + r.key">{{ r.value.displayName }}</a>
        }
      </nav>
      <span class="bp-header__spacer"></span>
      <bp-flags-status />
      @if (config.environments.length > 1) {
        <select aria-label="Environment" data-testid="env-picker" (change)="switchEnvironment($event)">
          @for (e of config.environments; track e) { <option [value]="e" [selected]="e === config.environment">{{ e }}</option> }
        </select>
      }
      <bp-user-picker />
    </header>
    <main><router-outlet /></main>
  `,
})
export class AppComponent {
  readonly config = inject(RUNTIME_CONFIG);
  readonly remotes = inject(REMOTES, { optional: true }) ?? {};

  switchEnvironment(e: Event): void {
    storeEnvironment((e.target as HTMLSelectElement).value);
    location.reload();
  }
}
