import { ChangeDetectionStrategy, Component, Input, Pipe, PipeTransform, inject } from '@angular/core';
import { RUNTIME_CONFIG } from '../config/runtime-config';
import { FlagService } from '../flags/flags';
import { SessionService } from '../session/session';

/** The maintenance-banner flag, shown above every app. */
@Component({
  selector: 'bp-maintenance-banner',
  standalone: true,
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    @if (banner().show) {
      <div class="bp-banner" [class.bp-banner--warning]="banner().severity === 'warning'" role="status" data-testid="maintenance-banner">
        {{ banner().message }}
      </div>
    }
  `,
})
export class MaintenanceBannerComponent {
  readonly banner = inject(FlagService).maintenanceBanner();
}

/** A subtle indicator of where flag values come from: nothing when online, a pill when offline. */
@Component({
  selector: 'bp-flags-status',
  standalone: true,
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    @switch (status()) {
      @case ('offline') {
        <span class="bp-pill bp-pill--muted" data-testid="flags-offline"
              title="Portal cannot be reached: features use their default settings until it answers again">flags offline</span>
      }
      @case ('connecting') {
        <span class="bp-pill bp-pill--muted" data-testid="flags-connecting">flags…</span>
      }
      @default {
        <span class="bp-pill bp-pill--ok" data-testid="flags-online" [title]="'Flags from Portal (' + env + ')'">{{ env }}</span>
      }
    }
  `,
})
export class FlagsStatusComponent {
  readonly status = inject(FlagService).status;
  readonly env = inject(RUNTIME_CONFIG).environment;
}

/** The demo sign-in: pick who you are; flags are evaluated for that person. */
@Component({
  selector: 'bp-user-picker',
  standalone: true,
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <label class="bp-user-picker">
      <span class="bp-visually-hidden">Signed in as</span>
      <select data-testid="user-picker" [value]="session.user().id" (change)="pick($event)">
        @for (u of session.users; track u.id) {
          <option [value]="u.id" [selected]="u.id === session.user().id">{{ u.name }} ({{ u.roles.join(', ') }})</option>
        }
      </select>
    </label>
  `,
})
export class UserPickerComponent {
  readonly session = inject(SessionService);

  pick(e: Event): void {
    void this.session.signIn((e.target as HTMLSelectElement).value);
  }
}

/** Minor units and an ISO 4217 code as money. */
@Pipe({ name: 'money', standalone: true })
export class MoneyPipe implements PipeTransform {
  transform(minor: number | null | undefined, currency = 'EUR'): string {
    if (minor === null || minor === undefined) {
      return '';
    }
    return new Intl.NumberFormat('en-GB', { style: 'currency', currency }).format(minor / 100);
  }
}

/** The header a remote shows when it runs on its own (inside the shell, the shell's header is used). */
@Component({
  selector: 'bp-standalone-header',
  standalone: true,
  imports: [UserPickerComponent, FlagsStatusComponent, MaintenanceBannerComponent],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <bp-maintenance-banner />
    <header class="bp-header">
      <span class="bp-header__brand">BillPay · {{ title }}</span>
      <span class="bp-header__spacer"></span>
      <bp-flags-status />
      <bp-user-picker />
    </header>
  `,
})
export class StandaloneHeaderComponent {
  @Input() title = '';
}
