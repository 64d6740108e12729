import { TestBed } from '@angular/core/testing';
import { ActivatedRoute } from '@angular/router';
import { DEMO_USERS, SessionService, provideBillPay, resetDemoBackend, setFlags, testRuntimeConfig, until, useInMemoryFlags } from '@billpay/shared';
import { PaymentsComponent } from './payments.component';

describe('PaymentsComponent (flags refunds-enabled, bulk-refunds)', () => {
  beforeEach(async () => {
    localStorage.clear();
    resetDemoBackend();
    TestBed.configureTestingModule({
      imports: [PaymentsComponent],
      providers: [provideBillPay(testRuntimeConfig()), { provide: ActivatedRoute, useValue: { snapshot: { data: {} } } }],
    });
    // An admin: the demo backend lets only admins refund.
    await TestBed.inject(SessionService).signIn(DEMO_USERS.find((u) => u.roles.includes('admin'))!.id);
  });

  const q = (el: HTMLElement, id: string) => Array.from(el.querySelectorAll<HTMLButtonElement | HTMLInputElement>(`[data-testid="${id}"]`));

  it('disables every refund control while the refunds kill switch is off, and enables them live', async () => {
    const provider = await useInMemoryFlags({ 'refunds-enabled': false, 'bulk-refunds': false });
    const fixture = TestBed.createComponent(PaymentsComponent);
    const el = fixture.nativeElement as HTMLElement;
    await until(() => q(el, 'refund').length > 0, () => fixture.detectChanges());
    expect(q(el, 'refunds-disabled').length).toBe(1);
    expect(q(el, 'refund').every((b) => b.disabled)).toBeTrue();

    await setFlags(provider, { 'refunds-enabled': true, 'bulk-refunds': false });
    await until(() => q(el, 'refunds-disabled').length === 0, () => fixture.detectChanges());
    expect(q(el, 'refund').some((b) => !b.disabled)).toBeTrue();
  });

  it('offers bulk refunds only with bulk-refunds on, and refunds the selected payments', async () => {
    const provider = await useInMemoryFlags({ 'refunds-enabled': true, 'bulk-refunds': false });
    const fixture = TestBed.createComponent(PaymentsComponent);
    const el = fixture.nativeElement as HTMLElement;
    await until(() => q(el, 'refund').length > 0, () => fixture.detectChanges());
    expect(q(el, 'bulk-refund').length).toBe(0);
    expect(q(el, 'select-payment').length).toBe(0);

    await setFlags(provider, { 'refunds-enabled': true, 'bulk-refunds': true });
    await until(() => q(el, 'bulk-refund').length === 1, () => fixture.detectChanges());
    const boxes = q(el, 'select-payment').filter((b) => !b.disabled);
    expect(boxes.length).toBeGreaterThan(1);
    boxes.slice(0, 2).forEach((b) => b.dispatchEvent(new Event('change')));
    fixture.detectChanges();
    expect(q(el, 'bulk-refund')[0].textContent).toContain('(2)');
    q(el, 'bulk-refund')[0].click();
    await until(() => q(el, 'refund-result').length === 1, () => fixture.detectChanges());
    expect(q(el, 'refund-result')[0].textContent).toContain('2 of 2 payment(s) refunded');
  });
});
