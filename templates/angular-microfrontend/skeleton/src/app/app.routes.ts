import { Routes } from '@angular/router';

import { PageComponent } from './page.component';

// Exposed to the shell as ${{ values.remoteName }}/Routes.
export const ROUTES: Routes = [
{%- for route in values.routes %}
  { path: '${{ '' if loop.first else route }}', component: PageComponent, data: { title: '${{ route | replace('-', ' ') | capitalize }}' } },
{%- endfor %}
];
