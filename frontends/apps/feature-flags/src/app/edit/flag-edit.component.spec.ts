import { TestBed } from '@angular/core/testing';
import { provideRouter } from '@angular/router';
import { PORTAL_FETCH, provideBillPay, testRuntimeConfig, until, useInMemoryFlags } from '@billpay/shared';
import { FlagEditComponent } from './flag-edit.component';
import { validateDefinition } from './validate';

describe('validateDefinition', () => {
  it('accepts a flagd definition', () => {
    const r = validateDefinition('{"state":"ENABLED","variants":{"on":true,"off":false},"defaultVariant":"off","targeting":{}}');
    expect(r.errors).toEqual([]);
    expect(r.definition).toBeDefined();
  });

  it('explains what is wrong', () => {
    expect(validateDefinition('{"state": ').errors[0]).toMatch(/Not valid JSON/);
    const r = validateDefinition('{"state":"ON","variants":{"a":1,"b":"x"},"defaultVariant":"c","targeting":[],"colour":1}');
    expect(r.definition).toBeUndefined();
    expect(r.errors.join('\n')).toContain('Unknown field "colour"');
    expect(r.errors.join('\n')).toContain('state must be');
    expect(r.errors.join('\n')).toContain('same type');
    expect(r.errors.join('\n')).toContain('defaultVariant "c" is not one of the variants');
    expect(r.errors.join('\n')).toContain('targeting must be');
  });
});

describe('FlagEditComponent', () => {
  it('shows validation errors as you type and Portal errors on save', async () => {
    const doc = {
      environment: 'dev',
      key: 'bulk-refunds',
      definition: { state: 'ENABLED', variants: { on: true, off: false }, defaultVariant: 'off' },
      etag: '"3"',
      revision: 3,
      createdAt: '',
      updatedAt: '',
      updatedBy: 'portal:seed',
    };
    const fakePortal = async (req: Request): Promise<Response> => {
      const path = new URL(req.url).pathname;
      if (req.method === 'PUT') {
        return new Response(JSON.stringify({ title: 'Bad Request', status: 400, detail: 'invalid flag set: flag "bulk-refunds": targeting is not valid JsonLogic' }), {
          status: 400,
          headers: { 'Content-Type': 'application/problem+json' },
        });
      }
      const body = path.endsWith('/audit') ? { items: [] } : doc;
      return new Response(JSON.stringify(body), { headers: { 'Content-Type': 'application/json' } });
    };
    await useInMemoryFlags({});
    TestBed.configureTestingModule({
      imports: [FlagEditComponent],
      providers: [provideBillPay(testRuntimeConfig()), provideRouter([]), { provide: PORTAL_FETCH, useValue: fakePortal }],
    });
    const fixture = TestBed.createComponent(FlagEditComponent);
    fixture.componentInstance.env = 'dev';
    fixture.componentInstance.key = 'bulk-refunds';
    const el = fixture.nativeElement as HTMLElement;
    const area = () => el.querySelector('[data-testid="definition"]') as HTMLTextAreaElement;
    const save = () => el.querySelector('[data-testid="save"]') as HTMLButtonElement;
    await until(() => area().value.includes('"defaultVariant": "off"'), () => fixture.detectChanges());

    area().value = '{"state": "ENABLED", "variants": {"on": true}, "defaultVariant": "maybe"}';
    area().dispatchEvent(new Event('input'));
    fixture.detectChanges();
    expect(el.querySelector('[data-testid="validation-errors"]')?.textContent).toContain('defaultVariant "maybe"');
    expect(save().disabled).toBeTrue();

    area().value = '{"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "on", "targeting": {"bogus": []}}';
    area().dispatchEvent(new Event('input'));
    fixture.detectChanges();
    expect(el.querySelector('[data-testid="validation-errors"]')).toBeNull();
    save().click();
    await until(() => el.querySelector('[data-testid="server-error"]') !== null, () => fixture.detectChanges());
    expect(el.querySelector('[data-testid="server-error"]')?.textContent).toContain('targeting is not valid JsonLogic');
  });
});
