import { DEMO_USERS } from '../session/session';
import type { components } from './generated/backend-api';

type S = components['schemas'];

/**
 * A small in-browser stand-in for BillPay's Backend API, used when the runtime config has no apiBaseUrl: `npm start`
 * with the committed config.json files, and the Karma specs. It answers the operations the apps call with bodies of
 * the generated types, so the apps go through the same generated client either way. State lives for the page. The
 * end-to-end test uses the Prism mock served from the OpenAPI definition instead (tools/mock-api.mjs).
 */
const BILLERS = [
  { billerId: 'acme-telecom', name: 'ACME Telecom' },
  { billerId: 'city-water', name: 'City Water' },
  { billerId: 'northwind-energy', name: 'Northwind Energy' },
  { billerId: 'metro-transit', name: 'Metro Transit' },
];

export const DEMO_BILLERS: readonly { billerId: string; name: string }[] = BILLERS;

interface Row {
  userId: string;
  payment: S['Payment'];
}

let rows: Row[] | undefined;
let refundSeq = 0;

function uuid(n: number, prefix: string): string {
  return `${prefix}-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
}

function seed(): Row[] {
  const out: Row[] = [];
  const statuses: S['PaymentStatus'][] = ['COMPLETED', 'COMPLETED', 'COMPLETED', 'PENDING', 'FAILED', 'REFUNDED'];
  const base = Date.UTC(2026, 9, 31, 12, 0, 0);
  let n = 0;
  DEMO_USERS.forEach((u, ui) => {
    const count = ui === 0 ? 60 : 12;
    for (let i = 0; i < count; i++) {
      n++;
      const biller = BILLERS[(i + ui) % BILLERS.length];
      const status = statuses[(i * 7 + ui) % statuses.length];
      const amount = 1500 + ((i * 1373 + ui * 911) % 18000);
      const created = new Date(base - (i * 26 + ui * 5) * 3600_000).toISOString();
      out.push({
        userId: u.id,
        payment: {
          id: uuid(n, '0b1e55ed'),
          amount,
          currency: 'EUR',
          status,
          method: { type: 'CARD', brand: 'visa', last4: String(4242 + ui).slice(-4) },
          biller: { ...biller, reference: `${7000 + i}-${(ui + 1) * 11}` },
          refundedAmount: status === 'REFUNDED' ? amount : 0,
          refundable: status === 'COMPLETED',
          createdAt: created,
          completedAt: status === 'COMPLETED' || status === 'REFUNDED' ? created : null,
        },
      });
    }
  });
  return out;
}

function data(): Row[] {
  rows ??= seed();
  return rows;
}

/** Forgets every change: tests start from the seed. */
export function resetDemoBackend(): void {
  rows = undefined;
  refundSeq = 0;
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': status >= 400 ? 'application/problem+json' : 'application/json' },
  });
}

function problem(status: number, title: string, detail: string): Response {
  return json(status, { type: 'about:blank', title, status, detail } satisfies S['Problem']);
}

function caller(req: Request): string | undefined {
  const auth = req.headers.get('Authorization') ?? '';
  const id = auth.replace(/^Bearer demo-session\./, '');
  return DEMO_USERS.some((u) => u.id === id) ? id : undefined;
}

function pageOf<T>(items: T[], url: URL): { content: T[]; page: S['PageInfo'] } {
  const page = Math.max(0, Number(url.searchParams.get('page') ?? 0));
  const size = Math.min(200, Math.max(1, Number(url.searchParams.get('size') ?? 50)));
  return {
    content: items.slice(page * size, page * size + size),
    page: { page, size, totalElements: items.length, totalPages: Math.ceil(items.length / size) },
  };
}

function refund(row: Row, amount: number | undefined): Response {
  const p = row.payment;
  const left = p.amount - p.refundedAmount;
  if (p.status !== 'COMPLETED' && p.status !== 'PARTIALLY_REFUNDED') {
    return problem(409, 'Conflict', `payment ${p.id} is ${p.status} and cannot be refunded`);
  }
  const value = amount ?? left;
  if (value < 1 || value > left) {
    return problem(422, 'Unprocessable Entity', `refund amount must be between 1 and ${left}`);
  }
  p.refundedAmount += value;
  p.status = p.refundedAmount === p.amount ? 'REFUNDED' : 'PARTIALLY_REFUNDED';
  p.refundable = p.status === 'PARTIALLY_REFUNDED';
  refundSeq++;
  const r: S['Refund'] = {
    id: uuid(refundSeq, 'bef0dd00'),
    paymentId: p.id,
    amount: value,
    currency: p.currency,
    status: 'SUCCEEDED',
    createdAt: new Date().toISOString(),
  };
  return json(201, r);
}

async function handle(req: Request): Promise<Response> {
  const url = new URL(req.url);
  const path = url.pathname.replace(/^.*\/api\/v1/, '');
  const user = caller(req);
  if (!user) {
    return problem(401, 'Unauthorized', 'sign in first');
  }
  const me = DEMO_USERS.find((u) => u.id === user);
  const isAdmin = me?.roles.includes('admin') ?? false;
  const isStaff = isAdmin || (me?.roles.includes('support') ?? false);
  const all = data();
  let m: RegExpMatchArray | null;

  if (req.method === 'GET' && path === '/me/payments') {
    const limit = Math.min(100, Math.max(1, Number(url.searchParams.get('limit') ?? 20)));
    const start = Number(url.searchParams.get('cursor') ?? 0);
    const mine = all.filter((r) => r.userId === user).map((r) => r.payment);
    const items = mine.slice(start, start + limit);
    const next = start + limit < mine.length ? String(start + limit) : null;
    return json(200, { items, nextCursor: next } satisfies S['PaymentPage']);
  }
  if (req.method === 'POST' && path === '/payments') {
    if (!req.headers.get('Idempotency-Key')) {
      return problem(400, 'Bad Request', 'Idempotency-Key header is required');
    }
    const body = (await req.json()) as S['PayBillRequest'];
    if (!Number.isInteger(body.amount) || body.amount < 1) {
      return problem(422, 'Unprocessable Entity', 'amount must be a positive integer in minor units');
    }
    const biller = BILLERS.find((b) => b.billerId === body.biller.billerId);
    if (!biller) {
      return problem(422, 'Unprocessable Entity', `unknown biller ${body.biller.billerId}`);
    }
    const now = new Date().toISOString();
    const p: S['Payment'] = {
      id: uuid(all.length + 1, '0b1e55ed'),
      amount: body.amount,
      currency: body.currency,
      status: 'COMPLETED',
      method: { type: body.method.type, brand: 'visa', last4: '4242' },
      biller: { ...biller, reference: body.biller.reference },
      description: body.description,
      refundedAmount: 0,
      refundable: true,
      createdAt: now,
      completedAt: now,
    };
    all.unshift({ userId: user, payment: p });
    return json(201, p);
  }
  if (path.startsWith('/admin/') && !isStaff) {
    return problem(403, 'Forbidden', 'role SUPPORT or ADMIN required');
  }
  if (req.method === 'GET' && path === '/admin/users') {
    const q = (url.searchParams.get('q') ?? '').toLowerCase();
    const users: S['AdminUser'][] = DEMO_USERS.filter(
      (u) => q === '' || u.email.toLowerCase().startsWith(q) || u.name.toLowerCase().includes(q),
    ).map((u) => ({
      id: u.id,
      email: u.email,
      fullName: u.name,
      status: 'ACTIVE',
      roles: u.roles.map((r) => r.toUpperCase()),
      paymentsCount: all.filter((r) => r.userId === u.id).length,
      createdAt: '2025-01-15T09:00:00Z',
      lastLoginAt: null,
    }));
    return json(200, pageOf(users, url) satisfies S['AdminUserPage']);
  }
  if (req.method === 'GET' && path === '/admin/payments') {
    const status = url.searchParams.get('status');
    const list: S['AdminPayment'][] = all
      .filter((r) => !status || r.payment.status === status)
      .map((r) => ({
        id: r.payment.id,
        userId: r.userId,
        userEmail: DEMO_USERS.find((u) => u.id === r.userId)?.email,
        amount: r.payment.amount,
        currency: r.payment.currency,
        status: r.payment.status,
        refundedAmount: r.payment.refundedAmount,
        billerId: r.payment.biller.billerId,
        createdAt: r.payment.createdAt,
      }));
    return json(200, pageOf(list, url) satisfies S['AdminPaymentPage']);
  }
  if (req.method === 'POST' && (m = path.match(/^\/admin\/payments\/([^/]+)\/refunds$/))) {
    if (!isAdmin) {
      return problem(403, 'Forbidden', 'role ADMIN required');
    }
    const row = all.find((r) => r.payment.id === m![1]);
    if (!row) {
      return problem(404, 'Not Found', `no payment ${m[1]}`);
    }
    const body = (await req.json()) as S['RefundRequest'];
    return refund(row, body.amount);
  }
  return problem(404, 'Not Found', `the demo backend has no ${req.method} ${path}`);
}

/** fetch for openapi-fetch: answers from the demo data after a short, realistic delay. */
export async function demoBackendFetch(req: Request): Promise<Response> {
  await new Promise((r) => setTimeout(r, 30));
  return handle(req);
}
