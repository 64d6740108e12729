import { TestBed } from '@angular/core/testing';
import { provideRouter } from '@angular/router';

import { PageComponent } from './page.component';

describe('PageComponent', () => {
  it('renders its title', () => {
    TestBed.configureTestingModule({ imports: [PageComponent], providers: [provideRouter([])] });
    const fixture = TestBed.createComponent(PageComponent);
    fixture.detectChanges();
    expect(fixture.nativeElement.querySelector('h1').textContent).toContain('${{ values.title }}');
  });
});
