import { ChangeDetectionStrategy, Component, inject } from '@angular/core';
import { RouterLink } from '@angular/router';
import { SessionService } from '@billpay/shared';
import { REMOTES } from './remotes';

@Component({
  selector: 'bp-home',
  standalone: true,
  imports: [RouterLink],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <h1>Hello, {{ session.user().name }}</h1>
    <div class="cards">
      @for (r of remotes; track r[0]) {
        <a class="bp-card" [routerLink]="'/' + r[1].routePath" [attr.data-testid]="'home-' + r[0]">
          <h2>{{ r[1].displayName }}</h2>
          <span class="bp-muted">{{ r[0] }}</span>
        </a>
      }
    </div>
  `,
  styles: [`.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); gap: 16px; } a { text-decoration: none; color: inherit; }`],
})
export class HomeComponent {
  readonly session = inject(SessionService);
  readonly remotes = Object.entries(inject(REMOTES, { optional: true }) ?? {});
}
