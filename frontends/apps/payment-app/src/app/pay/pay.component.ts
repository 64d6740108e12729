import { ChangeDetectionStrategy, Component, inject, signal } from '@angular/core';
import { FLAGS, FlagService, MoneyPipe } from '@billpay/shared';
import { ClassicCheckoutComponent } from './classic-checkout.component';
import { NewCheckoutComponent } from './new-checkout.component';
import { Payment } from './payments.service';

/** Pay a bill: the new one-page checkout when new-checkout-flow is on for the signed-in user, else the classic
 * one. The choice follows the flag live: a change in Portal swaps the checkout without a reload. */
@Component({
  selector: 'bp-pay',
  standalone: true,
  imports: [NewCheckoutComponent, ClassicCheckoutComponent, MoneyPipe],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <h1>Pay a bill</h1>
    @if (receipt(); as r) {
      <div class="bp-card" data-testid="receipt" role="status">
        Paid {{ r.amount | money: r.currency }} to {{ r.biller.name }} (reference {{ r.biller.reference }}): {{ r.status }}.
      </div>
    }
    @if (newCheckout()) {
      <bp-new-checkout (paid)="receipt.set($event)" />
    } @else {
      <bp-classic-checkout (paid)="receipt.set($event)" />
    }
  `,
})
export class PayComponent {
  readonly newCheckout = inject(FlagService).boolean(FLAGS.newCheckoutFlow);
  readonly receipt = signal<Payment | null>(null);
}
