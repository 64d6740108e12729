import { Routes } from '@angular/router';

import { PageComponent } from './page.component';

// Exposed to the shell as bill_splitter/Routes.
export const ROUTES: Routes = [
  { path: '', component: PageComponent, data: { title: 'Home' } },
  { path: 'new-split', component: PageComponent, data: { title: 'New split' } },
  { path: 'history', component: PageComponent, data: { title: 'History' } },
];
