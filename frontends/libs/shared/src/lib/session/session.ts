import { Injectable, signal } from '@angular/core';
import { EvaluationContext, OpenFeature } from '@openfeature/web-sdk';

export type DemoRole = 'customer' | 'support' | 'admin';

/** A person the demo sign-in can act as. */
export interface DemoUser {
  id: string;
  name: string;
  email: string;
  roles: DemoRole[];
  country: string;
}

/**
 * The demo sign-in's people. Flag rules target them through the evaluation context: staff (e-mail ending in
 * @billpay.example) get the new checkout, admins get bulk refunds, BR and MX customers the fallback payment provider.
 */
export const DEMO_USERS: readonly DemoUser[] = [
  { id: '6f1c2a43-0b7e-4c55-9f0e-1a2b3c4d5e01', name: 'Ana García', email: 'ana@example.com', roles: ['customer'], country: 'ES' },
  { id: '6f1c2a43-0b7e-4c55-9f0e-1a2b3c4d5e02', name: 'Bruno Silva', email: 'bruno@example.com.br', roles: ['customer'], country: 'BR' },
  { id: '6f1c2a43-0b7e-4c55-9f0e-1a2b3c4d5e03', name: 'Carla Ruiz', email: 'carla@billpay.example', roles: ['support'], country: 'ES' },
  { id: '6f1c2a43-0b7e-4c55-9f0e-1a2b3c4d5e04', name: 'Dev Admin', email: 'admin@billpay.example', roles: ['admin', 'support'], country: 'US' },
];

const USER_STORAGE_KEY = 'billpay.user';

/** The user a page starts with: the last one picked, else the first demo user. */
export function initialUser(): DemoUser {
  let id: string | null = null;
  try {
    id = localStorage.getItem(USER_STORAGE_KEY);
  } catch {
    // no storage: the default user
  }
  return DEMO_USERS.find((u) => u.id === id) ?? DEMO_USERS[0];
}

/** The OpenFeature evaluation context for a user: targetingKey plus the attributes BillPay's rules use. */
export function userContext(u: DemoUser): EvaluationContext {
  return { targetingKey: u.id, email: u.email, name: u.name, roles: [...u.roles], country: u.country };
}

/**
 * The signed-in user (a demo sign-in: a picker). Changing it changes the OpenFeature context, so the provider
 * re-evaluates every flag for the new user and the apps re-render.
 */
@Injectable({ providedIn: 'root' })
export class SessionService {
  readonly users = DEMO_USERS;
  readonly user = signal<DemoUser>(initialUser());

  async signIn(id: string): Promise<void> {
    const u = DEMO_USERS.find((x) => x.id === id);
    if (!u || u.id === this.user().id) {
      return;
    }
    this.user.set(u);
    try {
      localStorage.setItem(USER_STORAGE_KEY, u.id);
    } catch {
      // the choice lasts for this page
    }
    await OpenFeature.setContext(userContext(u));
  }

  hasRole(role: DemoRole): boolean {
    return this.user().roles.includes(role);
  }
}
