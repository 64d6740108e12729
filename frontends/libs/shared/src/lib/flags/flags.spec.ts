import { TestBed } from '@angular/core/testing';
import { OpenFeature, Provider, ProviderStatus } from '@openfeature/web-sdk';
import { provideBillPay } from '../providers';
import { setFlags, testRuntimeConfig, until, useInMemoryFlags } from '../testing';
import { FLAGS, toMaintenanceBanner } from './flag-keys';
import { FlagService } from './flags';

describe('FlagService', () => {
  beforeEach(() => TestBed.configureTestingModule({ providers: [provideBillPay(testRuntimeConfig())] }));

  it('evaluates flags from the provider and follows configuration changes live', async () => {
    const provider = await useInMemoryFlags({ 'new-checkout-flow': false, 'payment-history-page-size': 10 });
    const flags = TestBed.inject(FlagService);
    const checkout = flags.boolean(FLAGS.newCheckoutFlow);
    const size = flags.number(FLAGS.paymentHistoryPageSize);
    expect(checkout()).toBeFalse();
    expect(size()).toBe(10);
    expect(flags.status()).toBe('online');

    await setFlags(provider, { 'new-checkout-flow': true, 'payment-history-page-size': 50 });
    await until(() => checkout());
    expect(size()).toBe(50);
    expect(flags.lastChanged()).toContain('new-checkout-flow');
  });

  it('returns the fallbacks for flags the provider does not know', async () => {
    await useInMemoryFlags({});
    const flags = TestBed.inject(FlagService);
    expect(flags.boolean(FLAGS.refundsEnabled)()).toBeTrue();
    expect(flags.boolean(FLAGS.bulkRefunds)()).toBeFalse();
    expect(flags.maintenanceBanner()().show).toBeFalse();
  });

  it('reports offline and keeps the fallbacks when the provider cannot start', async () => {
    const failing: Provider = {
      metadata: { name: 'unreachable-portal' },
      runsOn: 'client',
      initialize: () => Promise.reject(new Error('connection refused')),
      resolveBooleanEvaluation: () => {
        throw new Error('not ready');
      },
      resolveStringEvaluation: () => {
        throw new Error('not ready');
      },
      resolveNumberEvaluation: () => {
        throw new Error('not ready');
      },
      resolveObjectEvaluation: () => {
        throw new Error('not ready');
      },
    };
    await OpenFeature.setProviderAndWait(failing).catch(() => undefined);
    expect(OpenFeature.getClient().providerStatus).toBe(ProviderStatus.ERROR);
    const flags = TestBed.inject(FlagService);
    expect(flags.status()).toBe('offline');
    expect(flags.boolean(FLAGS.newCheckoutFlow)()).toBeFalse();
    expect(flags.number(FLAGS.paymentHistoryPageSize)()).toBe(25);
  });
});

describe('toMaintenanceBanner', () => {
  it('accepts the flag variants and rejects malformed values', () => {
    expect(toMaintenanceBanner({ show: true, severity: 'warning', message: 'Delays' })).toEqual({
      show: true,
      severity: 'warning',
      message: 'Delays',
    });
    expect(toMaintenanceBanner({ show: false })).toEqual({ show: false });
    expect(toMaintenanceBanner({ show: true })).toEqual({ show: false, severity: 'info', message: '' });
    expect(toMaintenanceBanner('yes')).toEqual({ show: false });
  });
});
