import { ChangeDetectionStrategy, Component, inject } from '@angular/core';
import { KeyValuePipe } from '@angular/common';
import { RouterLink } from '@angular/router';
import { SessionService } from '@billpay/shared';
import { REMOTES } from './remotes';

@Component({
  selector: 'bp-home',
  standalone: true,
  imports: [RouterLink, KeyValuePipe],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <h1>Hello, {{ session.user().name }}</h1>
    <div class="cards">
      @for (r of remotes | keyvalue; track r.key) {
        <a class="bp-card" [routerLink]="'/' + r.value.routePath" [attr.data-testid]="'home-' + r.key">
          <h2>{{ r.value.displayName }}</h2>
          <span class="bp-muted">{{ r.key }}</span>
        </a>
      }
    </div>
  `,
  styles: [`.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); gap: 16px; } a { text-decoration: none; color: inherit; }`],
})
export class HomeComponent {
  readonly session = inject(SessionService);
  readonly remotes = inject(REMOTES, { optional: true }) ?? {};
}
