import { ChangeDetectionStrategy, Component, effect, inject, signal, untracked } from '@angular/core';
import { DatePipe } from '@angular/common';
import { FormsModule } from '@angular/forms';
import { BackendApi, BackendSchemas, FLAGS, FlagService, SessionService, problemMessage } from '@billpay/shared';

/** User search. admin-user-search-v2 switches to the e-mail prefix search of user-service's new index. */
@Component({
  selector: 'bp-users',
  standalone: true,
  imports: [FormsModule, DatePipe],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <h1>Users</h1>
    <form class="bp-card" (ngSubmit)="search()">
      <label class="bp-field">{{ searchV2() ? 'E-mail starts with' : 'Name contains' }}
        <input name="q" [(ngModel)]="q" [placeholder]="searchV2() ? 'ana@' : 'García'" data-testid="user-search" />
      </label>
      <button class="bp-button bp-button--primary" type="submit">Search</button>
      @if (searchV2()) { <span class="bp-pill bp-pill--ok">search v2</span> }
    </form>
    @if (error()) { <p class="bp-error" role="alert">{{ error() }}</p> }
    <table class="bp-table" data-testid="users">
      <thead><tr><th>Name</th><th>E-mail</th><th>Roles</th><th>Status</th><th>Payments</th><th>Since</th></tr></thead>
      <tbody>
        @for (u of users(); track u.id) {
          <tr><td>{{ u.fullName }}</td><td>{{ u.email }}</td><td>{{ u.roles.join(', ') }}</td><td>{{ u.status }}</td>
            <td>{{ u.paymentsCount }}</td><td>{{ u.createdAt | date: 'mediumDate' }}</td></tr>
        } @empty {
          <tr><td colspan="6" class="bp-muted">No users.</td></tr>
        }
      </tbody>
    </table>
  `,
})
export class UsersComponent {
  private readonly api = inject(BackendApi);
  readonly searchV2 = inject(FlagService).boolean(FLAGS.adminUserSearchV2);
  readonly users = signal<BackendSchemas['AdminUser'][]>([]);
  readonly error = signal('');
  q = '';

  constructor() {
    const session = inject(SessionService);
    effect(() => {
      session.user();
      untracked(() => void this.search());
    });
  }

  async search(): Promise<void> {
    const q = this.q.trim();
    const { data, error } = await this.api.client.GET('/admin/users', { params: { query: { q: q || undefined, size: 50 } } });
    if (!data) {
      this.users.set([]);
      this.error.set(problemMessage(error, 'could not load users'));
      return;
    }
    this.error.set('');
    // Without search v2 the old search matches names only.
    this.users.set(this.searchV2() || q === '' ? data.content : data.content.filter((u) => u.fullName.toLowerCase().includes(q.toLowerCase())));
  }
}
