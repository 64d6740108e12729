import { TestBed } from '@angular/core/testing';
import { provideBillPay, resetDemoBackend, setFlags, testRuntimeConfig, until, useInMemoryFlags } from '@billpay/shared';
import { HistoryComponent } from './history.component';

describe('HistoryComponent (flag payment-history-page-size)', () => {
  beforeEach(() => {
    localStorage.clear();
    resetDemoBackend();
    TestBed.configureTestingModule({ imports: [HistoryComponent], providers: [provideBillPay(testRuntimeConfig())] });
  });

  it('shows as many rows per page as the flag says, and reloads when it changes', async () => {
    const provider = await useInMemoryFlags({ 'payment-history-page-size': 10 });
    const fixture = TestBed.createComponent(HistoryComponent);
    const rows = () => (fixture.nativeElement as HTMLElement).querySelectorAll('[data-testid="history"] tbody tr').length;
    await until(() => rows() === 10, () => fixture.detectChanges());

    await setFlags(provider, { 'payment-history-page-size': 50 });
    await until(() => rows() === 50, () => fixture.detectChanges());
  });
});
