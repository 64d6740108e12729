import { Injectable, inject } from '@angular/core';
import { BackendApi, BackendSchemas, problemMessage } from '@billpay/shared';

export type PayBillRequest = BackendSchemas['PayBillRequest'];
export type Payment = BackendSchemas['Payment'];
export type MethodType = PayBillRequest['method']['type'];

/** Paying a bill through the generated Backend API client, whichever checkout the user sees. */
@Injectable({ providedIn: 'root' })
export class PaymentsService {
  private readonly api = inject(BackendApi);

  async payBill(req: PayBillRequest): Promise<Payment> {
    const { data, error } = await this.api.client.POST('/payments', {
      params: { header: { 'Idempotency-Key': crypto.randomUUID() } },
      body: req,
    });
    if (!data) {
      throw new Error(problemMessage(error, 'the payment failed'));
    }
    return data;
  }
}

/** "45.99" → 4599; NaN for anything that is not a positive amount with at most two decimals. */
export function toMinorUnits(text: string): number {
  const t = text.trim().replace(',', '.');
  if (!/^\d+(\.\d{1,2})?$/.test(t)) {
    return NaN;
  }
  const minor = Math.round(Number(t) * 100);
  return minor > 0 ? minor : NaN;
}

/** A tokenised instrument as the payment provider's SDK would return it (the demo has no provider SDK). */
export function demoToken(method: MethodType): string {
  return `tok_demo_${method.toLowerCase()}`;
}
