import { resolveRuntimeConfig } from './runtime-config';

const file = {
  environment: 'dev',
  environments: {
    dev: { portalUrl: 'http://localhost:7007/', ofrepClientKey: '' },
    staging: { portalUrl: 'https://portal.staging', ofrepClientKey: 'staging-client-key-0001', apiBaseUrl: '/api/v1/' },
  },
};

describe('resolveRuntimeConfig', () => {
  it('uses the file environment and fills in defaults', () => {
    const c = resolveRuntimeConfig(file);
    expect(c.environment).toBe('dev');
    expect(c.environments).toEqual(['dev', 'staging']);
    expect(c.portalUrl).toBe('http://localhost:7007');
    expect(c.portalApiUrl).toBe('/portal');
    expect(c.apiBaseUrl).toBe('');
  });

  it('lets ?env= and then the remembered choice pick another environment with its own key', () => {
    expect(resolveRuntimeConfig(file, '?env=staging').ofrepClientKey).toBe('staging-client-key-0001');
    expect(resolveRuntimeConfig(file, '', 'staging').apiBaseUrl).toBe('/api/v1');
    expect(resolveRuntimeConfig(file, '?env=nope').environment).toBe('dev');
  });

  it('says what is wrong with a malformed file', () => {
    expect(() => resolveRuntimeConfig([])).toThrowError(/environment/);
    expect(() => resolveRuntimeConfig({ environment: 'x', environments: {} })).toThrowError(/"x" is not defined/);
    expect(() => resolveRuntimeConfig({ environment: 'dev', environments: { dev: { portalUrl: 1 } } })).toThrowError(/portalUrl/);
  });
});
