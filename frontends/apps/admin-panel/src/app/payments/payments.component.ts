import { ChangeDetectionStrategy, Component, computed, effect, inject, signal, untracked } from '@angular/core';
import { DatePipe } from '@angular/common';
import { ActivatedRoute } from '@angular/router';
import { BackendApi, BackendSchemas, FLAGS, FlagService, MoneyPipe, SessionService, problemMessage } from '@billpay/shared';

type AdminPayment = BackendSchemas['AdminPayment'];

const REFUNDABLE: readonly AdminPayment['status'][] = ['COMPLETED', 'PARTIALLY_REFUNDED'];

/**
 * Payments across users, refunded one at a time or — with bulk-refunds on for the signed-in admin — many at once.
 * refunds-enabled is the kill switch: off, every refund control is disabled and says why. The same page, filtered
 * to refunded payments, is the Refunds tab.
 */
@Component({
  selector: 'bp-admin-payments',
  standalone: true,
  imports: [MoneyPipe, DatePipe],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <h1>{{ refundedOnly ? 'Refunds' : 'Payments' }}</h1>
    @if (!refundsEnabled()) {
      <p class="bp-card bp-muted" data-testid="refunds-disabled" role="status">Refunds are switched off (flag refunds-enabled).</p>
    }
    @if (error()) { <p class="bp-error" role="alert">{{ error() }}</p> }
    @if (message()) { <p class="bp-card" role="status" data-testid="refund-result">{{ message() }}</p> }
    @if (bulk()) {
      <p>
        <button class="bp-button bp-button--primary" type="button" data-testid="bulk-refund"
                [disabled]="!refundsEnabled() || selected().size === 0 || busy()" (click)="refundSelected()">
          Refund selected ({{ selected().size }})
        </button>
      </p>
    }
    <table class="bp-table" data-testid="payments">
      <thead>
        <tr>
          @if (bulk()) { <th><span class="bp-visually-hidden">Select</span></th> }
          <th>Date</th><th>Customer</th><th>Biller</th><th>Amount</th><th>Refunded</th><th>Status</th>
          @if (!refundedOnly) { <th></th> }
        </tr>
      </thead>
      <tbody>
        @for (p of payments(); track p.id) {
          <tr>
            @if (bulk()) {
              <td><input type="checkbox" [checked]="selected().has(p.id)" [disabled]="!canRefund(p)" (change)="toggle(p.id)"
                         [attr.aria-label]="'Select payment ' + p.id" data-testid="select-payment" /></td>
            }
            <td>{{ p.createdAt | date: 'short' }}</td>
            <td>{{ p.userEmail }}</td>
            <td>{{ p.billerId }}</td>
            <td>{{ p.amount | money: p.currency }}</td>
            <td>{{ p.refundedAmount ?? 0 | money: p.currency }}</td>
            <td>{{ p.status }}</td>
            @if (!refundedOnly) {
              <td><button class="bp-button" type="button" data-testid="refund" [disabled]="!refundsEnabled() || !canRefund(p) || busy()"
                          (click)="refund([p])">Refund</button></td>
            }
          </tr>
        } @empty {
          <tr><td colspan="8" class="bp-muted">No payments.</td></tr>
        }
      </tbody>
    </table>
  `,
})
export class PaymentsComponent {
  private readonly api = inject(BackendApi);
  private readonly flags = inject(FlagService);
  readonly refundedOnly = inject(ActivatedRoute).snapshot.data['refunded'] === true;
  readonly refundsEnabled = this.flags.boolean(FLAGS.refundsEnabled);
  readonly bulkRefunds = this.flags.boolean(FLAGS.bulkRefunds);
  readonly bulk = computed(() => this.bulkRefunds() && !this.refundedOnly);
  readonly payments = signal<AdminPayment[]>([]);
  readonly selected = signal<ReadonlySet<string>>(new Set());
  readonly busy = signal(false);
  readonly error = signal('');
  readonly message = signal('');

  constructor() {
    const session = inject(SessionService);
    effect(() => {
      session.user();
      untracked(() => void this.load());
    });
  }

  canRefund(p: AdminPayment): boolean {
    return REFUNDABLE.includes(p.status);
  }

  toggle(id: string): void {
    const next = new Set(this.selected());
    if (!next.delete(id)) {
      next.add(id);
    }
    this.selected.set(next);
  }

  refundSelected(): Promise<void> {
    return this.refund(this.payments().filter((p) => this.selected().has(p.id)));
  }

  async refund(list: AdminPayment[]): Promise<void> {
    if (!this.refundsEnabled() || list.length === 0) {
      return;
    }
    this.busy.set(true);
    this.error.set('');
    const failures: string[] = [];
    for (const p of list) {
      const { error } = await this.api.client.POST('/admin/payments/{paymentId}/refunds', {
        params: { path: { paymentId: p.id } },
        body: { reason: 'REQUESTED_BY_CUSTOMER', comment: 'Refunded from the admin panel' },
      });
      if (error) {
        failures.push(problemMessage(error, `payment ${p.id} could not be refunded`));
      }
    }
    this.busy.set(false);
    this.selected.set(new Set());
    this.message.set(`${list.length - failures.length} of ${list.length} payment(s) refunded.`);
    if (failures.length > 0) {
      this.error.set(failures.join('\n'));
    }
    await this.load();
  }

  async load(): Promise<void> {
    const statuses: (AdminPayment['status'] | undefined)[] = this.refundedOnly ? ['REFUNDED', 'PARTIALLY_REFUNDED'] : [undefined];
    const pages = await Promise.all(
      statuses.map((status) => this.api.client.GET('/admin/payments', { params: { query: { status, size: 25 } } })),
    );
    const failed = pages.find((r) => !r.data);
    if (failed) {
      this.payments.set([]);
      this.error.set(problemMessage(failed.error, 'could not load payments'));
      return;
    }
    this.payments.set(pages.flatMap((r) => r.data?.content ?? []).sort((a, b) => b.createdAt.localeCompare(a.createdAt)));
  }
}
