import { ChangeDetectionStrategy, Component } from '@angular/core';
import { RouterLink, RouterLinkActive, RouterOutlet, Routes } from '@angular/router';

/** admin-panel's frame: users, payments and refunds as tabs. */
@Component({
  selector: 'bp-admin-layout',
  standalone: true,
  imports: [RouterOutlet, RouterLink, RouterLinkActive],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <nav class="bp-tabs" aria-label="Admin">
      <a routerLink="users" routerLinkActive="active">Users</a>
      <a routerLink="payments" routerLinkActive="active">Payments</a>
      <a routerLink="refunds" routerLinkActive="active">Refunds</a>
    </nav>
    <router-outlet />
  `,
})
export class AdminLayoutComponent {}

/** What the remote exposes (./routes) and what it routes on its own; each page is its own lazy chunk. */
export const ROUTES: Routes = [
  {
    path: '',
    component: AdminLayoutComponent,
    children: [
      { path: '', pathMatch: 'full', redirectTo: 'payments' },
      { path: 'users', title: 'Users', loadComponent: () => import('./users/users.component').then((m) => m.UsersComponent) },
      {
        path: 'payments',
        title: 'Payments',
        loadComponent: () => import('./payments/payments.component').then((m) => m.PaymentsComponent),
      },
      {
        path: 'refunds',
        title: 'Refunds',
        data: { refunded: true },
        loadComponent: () => import('./payments/payments.component').then((m) => m.PaymentsComponent),
      },
    ],
  },
];
