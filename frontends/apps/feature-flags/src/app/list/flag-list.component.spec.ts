import { TestBed } from '@angular/core/testing';
import { provideRouter } from '@angular/router';
import { PORTAL_FETCH, provideBillPay, testRuntimeConfig, until, useInMemoryFlags } from '@billpay/shared';
import { FlagConsoleService } from '../flag-console.service';
import { FlagListComponent } from './flag-list.component';

function flagDoc(key: string, state: 'ENABLED' | 'DISABLED', revision = 1) {
  return {
    environment: 'dev',
    key,
    definition: { state, variants: { on: true, off: false }, defaultVariant: 'off', metadata: { description: `about ${key}` } },
    owner: 'group:default/payments-team',
    etag: `"${revision}"`,
    revision,
    createdAt: '2026-01-01T00:00:00Z',
    updatedAt: '2026-01-01T00:00:00Z',
    updatedBy: 'portal:seed',
  };
}

describe('FlagListComponent (Portal /api/flags)', () => {
  let calls: { method: string; path: string; ifMatch: string | null }[];

  beforeEach(async () => {
    calls = [];
    const fakePortal = async (req: Request): Promise<Response> => {
      const path = new URL(req.url).pathname;
      calls.push({ method: req.method, path, ifMatch: req.headers.get('If-Match') });
      const json = (body: unknown) => new Response(JSON.stringify(body), { headers: { 'Content-Type': 'application/json' } });
      if (path === '/api/flags/environments') {
        return json([{ name: 'dev', protected: false, version: 1, flags: 2, updatedAt: '', clientKeys: 1, serverKeys: 0, guest: true }]);
      }
      if (path === '/api/flags/environments/dev/flags') {
        return json({ Items: [flagDoc('bulk-refunds', 'ENABLED'), flagDoc('new-checkout-flow', 'ENABLED')] });
      }
      if (path === '/api/flags/environments/dev/flags/bulk-refunds/disable') {
        return json(flagDoc('bulk-refunds', 'DISABLED', 2));
      }
      return new Response(JSON.stringify({ title: 'Not Found', status: 404 }), { status: 404, headers: { 'Content-Type': 'application/problem+json' } });
    };
    await useInMemoryFlags({});
    TestBed.configureTestingModule({
      imports: [FlagListComponent],
      providers: [provideBillPay(testRuntimeConfig()), provideRouter([]), { provide: PORTAL_FETCH, useValue: fakePortal }],
    });
    spyOn(TestBed.inject(FlagConsoleService), 'watch').and.returnValue(() => undefined);
  });

  it('lists the environment flags and toggles one with If-Match', async () => {
    const fixture = TestBed.createComponent(FlagListComponent);
    const el = fixture.nativeElement as HTMLElement;
    await until(() => el.querySelectorAll('tr[data-testid^="flag-"]').length >= 2, () => fixture.detectChanges());
    expect(el.querySelector('[data-testid="flag-bulk-refunds"]')?.textContent).toContain('about bulk-refunds');

    const toggle = el.querySelector('[data-testid="toggle-bulk-refunds"]') as HTMLInputElement;
    expect(toggle.checked).toBeTrue();
    toggle.checked = false;
    toggle.dispatchEvent(new Event('change'));
    await until(() => calls.some((c) => c.path.endsWith('/disable')), () => fixture.detectChanges());
    const call = calls.find((c) => c.path.endsWith('/disable'))!;
    expect(call.method).toBe('POST');
    expect(call.ifMatch).toBe('"1"');
    await until(() => (el.querySelector('[data-testid="flag-bulk-refunds"]')?.textContent ?? '').includes('2'), () => fixture.detectChanges());
  });
});
