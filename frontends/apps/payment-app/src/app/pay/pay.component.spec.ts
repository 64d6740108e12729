import { TestBed } from '@angular/core/testing';
import { By } from '@angular/platform-browser';
import { provideBillPay, resetDemoBackend, setFlags, testRuntimeConfig, until, useInMemoryFlags } from '@billpay/shared';
import { PayComponent } from './pay.component';

describe('PayComponent (flag new-checkout-flow)', () => {
  beforeEach(() => {
    localStorage.clear();
    resetDemoBackend();
    TestBed.configureTestingModule({ imports: [PayComponent], providers: [provideBillPay(testRuntimeConfig())] });
  });

  const has = (root: HTMLElement, id: string) => root.querySelector(`[data-testid="${id}"]`) !== null;

  it('shows the classic checkout while the flag is off and swaps to the new one live when it turns on', async () => {
    const provider = await useInMemoryFlags({ 'new-checkout-flow': false });
    const fixture = TestBed.createComponent(PayComponent);
    fixture.detectChanges();
    const el = fixture.nativeElement as HTMLElement;
    expect(has(el, 'checkout-classic')).toBeTrue();
    expect(has(el, 'checkout-new')).toBeFalse();

    await setFlags(provider, { 'new-checkout-flow': true });
    await until(() => has(el, 'checkout-new'), () => fixture.detectChanges());
    expect(has(el, 'checkout-classic')).toBeFalse();

    await setFlags(provider, { 'new-checkout-flow': false });
    await until(() => has(el, 'checkout-classic'), () => fixture.detectChanges());
  });

  it('falls back to the classic checkout when the flag is unknown (Portal unreachable)', async () => {
    await useInMemoryFlags({});
    const fixture = TestBed.createComponent(PayComponent);
    fixture.detectChanges();
    expect(has(fixture.nativeElement, 'checkout-classic')).toBeTrue();
  });

  it('pays a bill through the generated Backend API client in the new checkout', async () => {
    await useInMemoryFlags({ 'new-checkout-flow': true });
    const fixture = TestBed.createComponent(PayComponent);
    fixture.detectChanges();
    await fixture.whenStable();
    const el = fixture.nativeElement as HTMLElement;
    const type = (id: string, value: string) => {
      const input = fixture.debugElement.query(By.css(`[data-testid="${id}"]`)).nativeElement as HTMLInputElement;
      input.value = value;
      input.dispatchEvent(new Event('input'));
    };
    type('reference', '7712-0093');
    type('amount', '45.99');
    fixture.detectChanges();
    await fixture.whenStable();
    (el.querySelector('[data-testid="pay"]') as HTMLButtonElement).click();
    await until(() => has(el, 'receipt'), () => fixture.detectChanges());
    expect(el.querySelector('[data-testid="receipt"]')?.textContent).toContain('€45.99');
    expect(el.querySelector('[data-testid="receipt"]')?.textContent).toContain('COMPLETED');
  });
});
