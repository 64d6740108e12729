import { ChangeDetectionStrategy, Component, EventEmitter, Output, inject, signal } from '@angular/core';
import { FormsModule } from '@angular/forms';
import { DEMO_BILLERS, MoneyPipe } from '@billpay/shared';
import { MethodType, Payment, PaymentsService, demoToken, toMinorUnits } from './payments.service';

/** The proven three-step checkout: who you pay, how much, then confirm. */
@Component({
  selector: 'bp-classic-checkout',
  standalone: true,
  imports: [FormsModule, MoneyPipe],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <section class="bp-card" data-testid="checkout-classic">
      <h2>Pay a bill · step {{ step() }} of 3</h2>
      @switch (step()) {
        @case (1) {
          <label class="bp-field">Biller
            <select name="biller" [(ngModel)]="billerId">
              @for (b of billers; track b.billerId) { <option [value]="b.billerId">{{ b.name }}</option> }
            </select>
          </label>
          <label class="bp-field">Reference on your bill
            <input name="reference" [(ngModel)]="reference" data-testid="reference" />
          </label>
          <button class="bp-button bp-button--primary" type="button" [disabled]="reference.trim() === ''" (click)="step.set(2)">Next</button>
        }
        @case (2) {
          <label class="bp-field">Amount (EUR)
            <input name="amount" [(ngModel)]="amountText" inputmode="decimal" data-testid="amount" />
          </label>
          <label class="bp-field">Pay with
            <select name="method" [(ngModel)]="method">
              <option value="CARD">Card</option>
              <option value="BANK_TRANSFER">Bank transfer</option>
              <option value="DIRECT_DEBIT">Direct debit</option>
            </select>
          </label>
          <button class="bp-button" type="button" (click)="step.set(1)">Back</button>
          <button class="bp-button bp-button--primary" type="button" [disabled]="isNaN(minor())" (click)="step.set(3)">Review</button>
        }
        @case (3) {
          <p>Pay <strong>{{ minor() | money }}</strong> to <strong>{{ billerName() }}</strong>, reference {{ reference }}.</p>
          @if (error()) { <p class="bp-error" role="alert">{{ error() }}</p> }
          <button class="bp-button" type="button" (click)="step.set(2)">Back</button>
          <button class="bp-button bp-button--primary" type="button" [disabled]="busy()" (click)="pay()" data-testid="pay">Confirm payment</button>
        }
      }
    </section>
  `,
})
export class ClassicCheckoutComponent {
  @Output() readonly paid = new EventEmitter<Payment>();
  private readonly payments = inject(PaymentsService);
  readonly billers = DEMO_BILLERS;
  readonly step = signal<1 | 2 | 3>(1);
  readonly busy = signal(false);
  readonly error = signal('');
  readonly isNaN = Number.isNaN;
  billerId = DEMO_BILLERS[0].billerId;
  reference = '';
  amountText = '';
  method: MethodType = 'CARD';

  minor(): number {
    return toMinorUnits(this.amountText);
  }

  billerName(): string {
    return DEMO_BILLERS.find((b) => b.billerId === this.billerId)?.name ?? this.billerId;
  }

  async pay(): Promise<void> {
    this.busy.set(true);
    this.error.set('');
    try {
      const p = await this.payments.payBill({
        amount: this.minor(),
        currency: 'EUR',
        method: { type: this.method, token: demoToken(this.method) },
        biller: { billerId: this.billerId, reference: this.reference.trim() },
      });
      this.paid.emit(p);
      this.step.set(1);
      this.reference = '';
      this.amountText = '';
    } catch (e) {
      this.error.set(e instanceof Error ? e.message : String(e));
    } finally {
      this.busy.set(false);
    }
  }
}
