import { Routes } from '@angular/router';

/** What the remote exposes (./routes) and what it routes on its own; each page is its own lazy chunk. */
export const ROUTES: Routes = [
  { path: '', title: 'Feature flags', loadComponent: () => import('./list/flag-list.component').then((m) => m.FlagListComponent) },
  {
    path: 'edit/:env/:key',
    title: 'Edit flag',
    loadComponent: () => import('./edit/flag-edit.component').then((m) => m.FlagEditComponent),
  },
  { path: 'audit/:env', title: 'Audit log', loadComponent: () => import('./audit/audit.component').then((m) => m.AuditComponent) },
];
