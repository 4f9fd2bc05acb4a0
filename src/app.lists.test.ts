import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { addStores, bearer, newMembers, newTenant, testApp } from '../test/helpers.ts';
import type { Clock } from './platform/clock.ts';
import type { Deps } from './platform/deps.ts';

// Lists that behave: every list route pages by cursor with `limit` (and the document says so), its
// filters apply, and an unknown query parameter is refused.

let now = new Date('2026-12-01T03:00:00Z');
const clock: Clock = { now: () => new Date(now) };
let app: FastifyInstance;
let deps: Deps;
let seq = 0;
before(async () => {
  ({ app, deps } = await testApp({ clock }));
});
after(() => app.close());

const get = (key: string, url: string) => app.inject({ url, headers: bearer(key) });
const post = (key: string, url: string, payload: object) =>
  app.inject({ method: 'POST', url, headers: { ...bearer(key), 'idempotency-key': `lists-${++seq}` }, payload });

/** Every page of a list route, following nextCursor: the ids in order. */
async function walk(key: string, url: string, id: (item: Record<string, unknown>) => string = (i) => String(i.id)) {
  const ids: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const sep = url.includes('?') ? '&' : '?';
    const res = await get(key, `${url}${sep}limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json() as { items: Record<string, unknown>[]; nextCursor: string | null };
    assert.ok(body.items.length <= 2);
    ids.push(...body.items.map(id));
    cursor = body.nextCursor;
    pages++;
  } while (cursor && pages < 20);
  return { ids, pages };
}

// Lists bounded by nature, answered whole: a person's own passkeys, sessions and social links, a
// team's operators, roles and invitations, a tenant's keys and webhook endpoints, a checkout's own
// lines, a trial balance (one line per system account), the promotions running now, the problem
// and event catalogues.
const WHOLE = new Set([
  '/auth/passkeys',
  '/platform/v1/operators',
  '/platform/v1/tenants/{tenantId}/api-keys',
  '/problems',
  '/v1/checkout/{checkoutId}',
  '/v1/ledger/accounts/{accountId}/lots',
  '/v1/ledger/trial-balance',
  '/v1/me/prepaid/promotions',
  '/v1/me/sessions',
  '/v1/me/social',
  '/v1/operators',
  '/v1/operators/access-review',
  '/v1/operators/invitations',
  '/v1/operators/roles',
  '/v1/webhooks/endpoints',
  '/v1/webhooks/event-types',
]);

test('the document: every list route takes limit and cursor and answers nextCursor, but the bounded ones', async () => {
  const doc = (await app.inject('/openapi.json')).json();
  const deref = (s: { $ref?: string } | undefined) =>
    s?.$ref ? doc.components.schemas[s.$ref.split('/').pop()!] : (s as { properties?: Record<string, unknown> });
  const unpaged: string[] = [];
  let lists = 0;
  type Op = {
    parameters?: { in: string; name: string }[];
    responses?: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }>;
  };
  for (const [path, ops] of Object.entries<Record<string, Op>>(doc.paths)) {
    const op = ops.get;
    if (!op) continue;
    const schema = deref(op.responses?.['200']?.content?.['application/json']?.schema);
    if (!schema?.properties?.items) continue;
    lists++;
    const query = (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
    const paged = query.includes('limit') && query.includes('cursor') && 'nextCursor' in schema.properties;
    if (!paged && !WHOLE.has(path)) unpaged.push(path);
    if (paged && WHOLE.has(path)) unpaged.push(`${path} (paged: take it off the list of whole ones)`);
  }
  assert.ok(lists > 25, `${lists} list routes`);
  assert.deepEqual(unpaged, []);
});

test('stores and stamp cards page in registration order, filter by status; a bad cursor or an unknown parameter is a 400', async () => {
  const t = await newTenant(deps, 'Lists Brand');
  const made: string[] = [];
  for (const [i, code] of ['gangnam', 'jamsil', 'hongdae', 'sinchon', 'mapo'].entries()) {
    const res = await post(t.keys.server, '/v1/stores', { code, name: `${code} 점`, status: i === 2 ? 'closed' : 'active' });
    assert.equal(res.statusCode, 201, res.body);
    made.push(res.json().id);
  }
  const all = await walk(t.keys.server, '/v1/stores');
  assert.deepEqual(all.ids, made);
  assert.equal(all.pages, 3);
  assert.deepEqual((await walk(t.keys.pos, '/v1/stores?status=closed')).ids, [made[2]]);

  const typo = await get(t.keys.server, '/v1/stores?stauts=closed');
  assert.equal(typo.statusCode, 400);
  assert.equal(typo.json().errors[0].field, 'querystring.stauts');
  const bad = await get(t.keys.server, '/v1/stores?cursor=gangnam');
  assert.equal(`${bad.statusCode} ${bad.json().errors[0].field}`, '400 querystring.cursor');
  // A route without query parameters refuses them too.
  assert.equal((await get(t.keys.server, '/v1/grades?page=2')).statusCode, 400);
});

test('checkouts list newest first by member, store, status and period; coupons and prepaid cards page', async () => {
  const t = await newTenant(deps, 'Checkout Lists');
  const [m1, m2] = await newMembers(deps, t.tenant.id, 2);
  await addStores(deps, t.tenant.id, ['st1', 'st2']);
  const sales: { id: string; member: string; store: string; at: Date }[] = [];
  for (const [i, [member, store]] of (
    [
      [m1, 'st1'],
      [m2, 'st1'],
      [m1, 'st2'],
      [m1, 'st1'],
      [m2, 'st2'],
    ] as const
  ).entries()) {
    now = new Date(Date.UTC(2026, 11, 1 + i, 3));
    const id = `sale-${i}`;
    const res = await post(t.keys.pos, '/v1/checkout/commit', {
      checkoutId: id,
      memberId: member,
      channel: 'offline',
      storeId: store,
      items: [{ productId: 'americano', quantity: 1, unitPrice: 4_500 }],
    });
    assert.equal(res.statusCode, 200, res.body);
    sales.push({ id, member: member!, store, at: now });
  }
  const newest = [...sales].reverse();
  const ids = (f: (s: (typeof sales)[number]) => boolean) => newest.filter(f).map((s) => s.id);
  const byId = (i: Record<string, unknown>) => String(i.checkoutId);
  assert.deepEqual(
    (await walk(t.keys.pos, '/v1/checkouts', byId)).ids,
    ids(() => true),
  );
  assert.deepEqual(
    (await walk(t.keys.pos, '/v1/checkouts?storeId=st1', byId)).ids,
    ids((s) => s.store === 'st1'),
  );
  assert.deepEqual(
    (await walk(t.keys.pos, `/v1/checkouts?memberId=${m1}`, byId)).ids,
    ids((s) => s.member === m1),
  );
  const period = `from=${sales[1]!.at.toISOString()}&to=${sales[3]!.at.toISOString()}`;
  assert.deepEqual((await walk(t.keys.server, `/v1/checkouts?${period}`, byId)).ids, ['sale-2', 'sale-1']);
  const first = (await get(t.keys.pos, '/v1/checkouts?limit=1')).json();
  assert.deepEqual([first.items[0].storeId, first.items[0].orderAmount, first.items[0].status], ['st2', 4_500, 'committed']);
  const cancelled = await post(t.keys.pos, '/v1/checkout/sale-0/cancel', { cancelId: 'c-0' });
  assert.equal(cancelled.statusCode, 200, cancelled.body);
  assert.deepEqual((await walk(t.keys.pos, '/v1/checkouts?status=cancelled', byId)).ids, ['sale-0']);
  const wrong = await get(t.keys.pos, '/v1/checkouts?cursor=not-a-cursor');
  assert.equal(`${wrong.statusCode} ${wrong.json().errors?.[0]?.field}`, '400 querystring.cursor');
});

test('members list newest first, masked, by status, join period and marketing consent', async () => {
  const t = await newTenant(deps, 'Member Lists');
  const ids = await newMembers(deps, t.tenant.id, 3);
  const put = await app.inject({
    method: 'PUT',
    url: `/v1/members/${ids[1]}/consents`,
    headers: bearer(t.keys.server),
    payload: { marketing: { sms: true }, channel: 'app' },
  });
  assert.equal(put.statusCode, 200, put.body);
  const all = await walk(t.keys.server, '/v1/members');
  assert.deepEqual(all.ids, [...ids].sort().reverse());
  const page = (await get(t.keys.server, '/v1/members?limit=1')).json();
  assert.match(page.items[0].name, /\*/, 'masked');
  assert.deepEqual((await walk(t.keys.server, '/v1/members?consent=sms')).ids, [ids[1]]);
  assert.deepEqual((await walk(t.keys.server, '/v1/members?consent=night')).ids, []);
  assert.deepEqual((await walk(t.keys.server, '/v1/members?status=dormant')).ids, []);
  assert.deepEqual((await walk(t.keys.server, '/v1/members?joinedFrom=2999-01-01T00:00:00Z')).ids, []);
  assert.equal((await get(t.keys.pos, '/v1/members')).statusCode, 403, 'server keys only');
  assert.equal((await get(t.keys.server, '/v1/members?consent=fax')).statusCode, 400);
});
