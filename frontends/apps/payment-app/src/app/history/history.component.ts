import { ChangeDetectionStrategy, Component, effect, inject, signal, untracked } from '@angular/core';
import { DatePipe } from '@angular/common';
import { BackendApi, FLAGS, FlagService, MoneyPipe, SessionService, problemMessage } from '@billpay/shared';
import type { Payment } from '../pay/payments.service';

/** The signed-in user's payments, newest first, in pages of payment-history-page-size rows. */
@Component({
  selector: 'bp-history',
  standalone: true,
  imports: [MoneyPipe, DatePipe],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <h1>Payment history</h1>
    <p class="bp-muted">{{ pageSize() }} per page</p>
    @if (error()) { <p class="bp-error" role="alert">{{ error() }}</p> }
    <table class="bp-table" data-testid="history">
      <thead><tr><th>Date</th><th>Biller</th><th>Reference</th><th>Amount</th><th>Status</th></tr></thead>
      <tbody>
        @for (p of payments(); track p.id) {
          <tr>
            <td>{{ p.createdAt | date: 'mediumDate' }}</td>
            <td>{{ p.biller.name }}</td>
            <td>{{ p.biller.reference }}</td>
            <td>{{ p.amount | money: p.currency }}</td>
            <td>{{ p.status }}</td>
          </tr>
        } @empty {
          <tr><td colspan="5" class="bp-muted">{{ loading() ? 'Loading…' : 'No payments yet.' }}</td></tr>
        }
      </tbody>
    </table>
    @if (next()) {
      <p><button class="bp-button" type="button" (click)="more()" [disabled]="loading()" data-testid="more">Show more</button></p>
    }
  `,
})
export class HistoryComponent {
  private readonly api = inject(BackendApi);
  readonly pageSize = inject(FlagService).number(FLAGS.paymentHistoryPageSize);
  readonly payments = signal<Payment[]>([]);
  readonly next = signal<string | null>(null);
  readonly loading = signal(false);
  readonly error = signal('');

  constructor() {
    const session = inject(SessionService);
    // A new user or a new page size starts the list again.
    effect(() => {
      session.user();
      const size = this.pageSize();
      untracked(() => void this.load(size, undefined, true));
    });
  }

  more(): void {
    void this.load(this.pageSize(), this.next() ?? undefined, false);
  }

  private async load(limit: number, cursor: string | undefined, reset: boolean): Promise<void> {
    this.loading.set(true);
    const { data, error } = await this.api.client.GET('/me/payments', {
      params: { query: { limit: Math.min(100, Math.max(1, limit)), cursor } },
    });
    this.loading.set(false);
    if (!data) {
      this.error.set(problemMessage(error, 'could not load your payments'));
      return;
    }
    this.error.set('');
    this.payments.set(reset ? data.items : [...this.payments(), ...data.items]);
    this.next.set(data.nextCursor ?? null);
  }
}
