import { ChangeDetectionStrategy, Component, inject } from '@angular/core';
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
  imports: [RouterOutlet, RouterLink, RouterLinkActive, MaintenanceBannerComponent, FlagsStatusComponent, UserPickerComponent],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <bp-maintenance-banner />
    <header class="bp-header">
      <a class="bp-header__brand" routerLink="/">BillPay</a>
      <nav class="bp-nav" aria-label="Apps">
        @for (r of remotes; track r[0]) {
          <a [routerLink]="'/' + r[1].routePath" routerLinkActive="active" [attr.data-testid]="'nav-' + r[0]">{{ r[1].displayName }}</a>
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
  /** In manifest order. */
  readonly remotes = Object.entries(inject(REMOTES, { optional: true }) ?? {});

  switchEnvironment(e: Event): void {
    storeEnvironment((e.target as HTMLSelectElement).value);
    location.reload();
  }
}
