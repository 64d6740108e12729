import { ChangeDetectionStrategy, Component, EventEmitter, Output, computed, inject, signal } from '@angular/core';
import { FormsModule } from '@angular/forms';
import { DEMO_BILLERS, MoneyPipe } from '@billpay/shared';
import { MethodType, Payment, PaymentsService, demoToken, toMinorUnits } from './payments.service';

/** The redesigned one-page checkout (flag new-checkout-flow): everything on one card, one button. */
@Component({
  selector: 'bp-new-checkout',
  standalone: true,
  imports: [FormsModule, MoneyPipe],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <section class="bp-card" data-testid="checkout-new">
      <h2>Checkout <span class="bp-pill bp-pill--ok">new</span></h2>
      <form (ngSubmit)="pay()" class="one-page">
        <label class="bp-field">Biller
          <select name="biller" [(ngModel)]="billerId">
            @for (b of billers; track b.billerId) { <option [value]="b.billerId">{{ b.name }}</option> }
          </select>
        </label>
        <label class="bp-field">Reference on your bill
          <input name="reference" [(ngModel)]="reference" required placeholder="7712-0093" data-testid="reference" />
        </label>
        <label class="bp-field">Amount (EUR)
          <input name="amount" [ngModel]="amountText()" (ngModelChange)="amountText.set($event)" inputmode="decimal" placeholder="45.99" data-testid="amount" />
        </label>
        <fieldset class="bp-field methods">
          <legend>Pay with</legend>
          @for (m of methods; track m.type) {
            <label><input type="radio" name="method" [value]="m.type" [(ngModel)]="method" /> {{ m.label }}</label>
          }
        </fieldset>
        @if (error()) { <p class="bp-error" role="alert">{{ error() }}</p> }
        <button class="bp-button bp-button--primary" type="submit" [disabled]="busy() || !valid()" data-testid="pay">
          Pay {{ valid() ? (amount() | money) : '' }}
        </button>
      </form>
    </section>
  `,
  styles: [`.methods { border: 0; padding: 0; flex-direction: row; gap: 16px; }`],
})
export class NewCheckoutComponent {
  @Output() readonly paid = new EventEmitter<Payment>();
  private readonly payments = inject(PaymentsService);
  readonly billers = DEMO_BILLERS;
  readonly methods: { type: MethodType; label: string }[] = [
    { type: 'CARD', label: 'Card' },
    { type: 'BANK_TRANSFER', label: 'Bank transfer' },
    { type: 'WALLET', label: 'Wallet' },
  ];
  billerId = DEMO_BILLERS[0].billerId;
  reference = '';
  method: MethodType = 'CARD';
  readonly amountText = signal('');
  readonly amount = computed(() => toMinorUnits(this.amountText()));
  readonly valid = computed(() => !Number.isNaN(this.amount()));
  readonly busy = signal(false);
  readonly error = signal('');

  async pay(): Promise<void> {
    if (!this.valid() || this.reference.trim() === '') {
      this.error.set('Enter the reference on your bill and an amount.');
      return;
    }
    this.busy.set(true);
    this.error.set('');
    try {
      const p = await this.payments.payBill({
        amount: this.amount(),
        currency: 'EUR',
        method: { type: this.method, token: demoToken(this.method) },
        biller: { billerId: this.billerId, reference: this.reference.trim() },
      });
      this.paid.emit(p);
      this.reference = '';
      this.amountText.set('');
    } catch (e) {
      this.error.set(e instanceof Error ? e.message : String(e));
    } finally {
      this.busy.set(false);
    }
  }
}
