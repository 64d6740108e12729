import { ChangeDetectionStrategy, Component } from '@angular/core';
import { RouterLink, RouterLinkActive, RouterOutlet, Routes } from '@angular/router';

/** payment-app's frame: its two pages as tabs. */
@Component({
  selector: 'bp-payment-layout',
  standalone: true,
  imports: [RouterOutlet, RouterLink, RouterLinkActive],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <nav class="bp-tabs" aria-label="Payments">
      <a routerLink="pay" routerLinkActive="active">Pay a bill</a>
      <a routerLink="history" routerLinkActive="active">Payment history</a>
    </nav>
    <router-outlet />
  `,
})
export class PaymentLayoutComponent {}

/** What the remote exposes (./routes) and what it routes on its own; each page is its own lazy chunk. */
export const ROUTES: Routes = [
  {
    path: '',
    component: PaymentLayoutComponent,
    children: [
      { path: '', pathMatch: 'full', redirectTo: 'pay' },
      { path: 'pay', title: 'Pay a bill', loadComponent: () => import('./pay/pay.component').then((m) => m.PayComponent) },
      {
        path: 'history',
        title: 'Payment history',
        loadComponent: () => import('./history/history.component').then((m) => m.HistoryComponent),
      },
    ],
  },
];
