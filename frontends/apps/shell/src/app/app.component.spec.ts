import { TestBed } from '@angular/core/testing';
import { provideRouter } from '@angular/router';
import { OpenFeature, Provider } from '@openfeature/web-sdk';
import { provideBillPay, setFlags, testRuntimeConfig, until, useInMemoryFlags } from '@billpay/shared';
import { AppComponent } from './app.component';
import { REMOTES, RemoteEntry, remoteRoutes } from './remotes';

const manifest: Record<string, RemoteEntry> = {
  'payment-app': { type: 'module', remoteEntry: 'http://pay.test/remoteEntry.js', exposedModule: './routes', routePath: 'pay', displayName: 'Payments' },
  'feature-flags': { type: 'module', remoteEntry: 'http://flags.test/remoteEntry.js', exposedModule: './routes', routePath: 'flags', displayName: 'Feature flags' },
};

describe('shell AppComponent', () => {
  beforeEach(() => {
    localStorage.clear();
    TestBed.configureTestingModule({
      imports: [AppComponent],
      providers: [provideBillPay(testRuntimeConfig()), provideRouter(remoteRoutes(manifest)), { provide: REMOTES, useValue: manifest }],
    });
  });

  it('builds its navigation from the manifest and shows the maintenance banner flag live', async () => {
    const provider = await useInMemoryFlags({ 'maintenance-banner': { show: false } });
    const fixture = TestBed.createComponent(AppComponent);
    fixture.detectChanges();
    const el = fixture.nativeElement as HTMLElement;
    expect(el.querySelector('[data-testid="nav-payment-app"]')?.getAttribute('href')).toBe('/pay');
    expect(el.querySelector('[data-testid="nav-feature-flags"]')?.textContent).toContain('Feature flags');
    expect(el.querySelector('[data-testid="maintenance-banner"]')).toBeNull();
    expect(el.querySelector('[data-testid="flags-online"]')).not.toBeNull();

    await setFlags(provider, { 'maintenance-banner': { show: true, severity: 'warning', message: 'Payments are delayed' } });
    await until(() => el.querySelector('[data-testid="maintenance-banner"]') !== null, () => fixture.detectChanges());
    expect(el.querySelector('[data-testid="maintenance-banner"]')?.textContent).toContain('Payments are delayed');
  });

  it('shows "flags offline" when Portal cannot be reached, and still renders', async () => {
    const unreachable: Provider = {
      metadata: { name: 'unreachable' },
      runsOn: 'client',
      initialize: () => Promise.reject(new TypeError('Failed to fetch')),
      resolveBooleanEvaluation: (_k, d) => ({ value: d }),
      resolveStringEvaluation: (_k, d) => ({ value: d }),
      resolveNumberEvaluation: (_k, d) => ({ value: d }),
      resolveObjectEvaluation: (_k, d) => ({ value: d }),
    };
    await OpenFeature.setProviderAndWait(unreachable).catch(() => undefined);
    const fixture = TestBed.createComponent(AppComponent);
    fixture.detectChanges();
    const el = fixture.nativeElement as HTMLElement;
    expect(el.querySelector('[data-testid="flags-offline"]')).not.toBeNull();
    expect(el.querySelector('[data-testid="nav-payment-app"]')).not.toBeNull();
  });
});
