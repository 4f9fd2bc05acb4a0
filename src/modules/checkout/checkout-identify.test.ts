import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import {
  bearer,
  memberToken,
  newMembers,
  newTenant,
  platform,
  signedInOperator,
  type TestTenant,
  testApp,
  testConfig,
} from '../../../test/helpers.ts';
import { fixedClock } from '../../platform/clock.ts';
import type { Deps } from '../../platform/deps.ts';
import { importMembers, isBarcode } from '../members/index.ts';
import { setPointPolicy, ZPointPolicySettings } from '../points/index.ts';

// Identify the member at the counter (issue 17 §1): the member app's single-use barcode, a physical
// card or a phone, and POS keys bound to a store.

const clock = fixedClock(new Date());
let app: FastifyInstance;
let deps: Deps;
// The single-use race is under test, not the rate limits (they have their own test below, on another app).
before(async () => {
  ({ app, deps } = await testApp({ clock, config: testConfig({ SECRET_RATE_LIMIT_PER_CREDENTIAL: '1000' }) }));
});
after(() => app.close());

const key = () => ({ 'idempotency-key': `k-${randomBytes(6).toString('hex')}` });
const post = (headers: Record<string, string>, url: string, payload?: object) =>
  app.inject({ method: 'POST', url, headers, ...(payload ? { payload } : {}) });

/** A brand with two stores (강남점, 잠실점), a point policy, a member with an app session, and a POS key bound to 강남점. */
async function brand() {
  const t = await newTenant(deps, 'Counter Brand');
  const store = async (code: string, name: string) => {
    const res = await post(bearer(t.keys.server), '/v1/stores', { code, name });
    assert.equal(res.statusCode, 201, res.body);
    return res.json().id as string;
  };
  const gangnam = await store('gangnam', '강남점');
  const jamsil = await store('jamsil', '잠실점');
  await setPointPolicy(deps, t.tenant.id, { settings: ZPointPolicySettings.parse({ baseRateBp: 100 }) });
  const created = await post(platform, `/platform/v1/tenants/${t.tenant.id}/api-keys`, {
    name: '강남점 POS 1',
    scope: 'pos',
    storeId: gangnam,
  });
  assert.equal(created.statusCode, 201, created.body);
  assert.equal(created.json().storeId, gangnam);
  const [member] = await newMembers(deps, t.tenant.id, 1);
  const app_ = { ...bearer(t.keys.app), 'x-member-token': await memberToken(deps, t.tenant.id, member!) };
  return { t, gangnam, jamsil, member: member!, posKey: bearer(created.json().key as string), memberApp: app_ };
}

const barcode = async (memberApp: Record<string, string>) => {
  const res = await post(memberApp, '/v1/me/barcode');
  assert.equal(res.statusCode, 201, res.body);
  return res.json() as { code: string; expiresAt: string; refreshAfter: string };
};

test('a bound POS scans the app’s barcode, identifies the member and commits a checkout at its store', async () => {
  const { t, gangnam, jamsil, member, posKey, memberApp } = await brand();

  const shown = await barcode(memberApp);
  assert.ok(isBarcode(shown.code), shown.code);
  assert.match(shown.code, /^[1-9]\d{17}$/);
  const ttl = new Date(shown.expiresAt).getTime() - clock.now().getTime();
  assert.ok(ttl > 0 && ttl <= 60_000, `${ttl} ms`);
  assert.ok(new Date(shown.refreshAfter) < new Date(shown.expiresAt));
  // Only a keyed hash is kept, and no idempotency record holds the code.
  const stored = await sql`select * from member_barcode where tenant_id = ${t.tenant.id}`.execute(deps.db);
  assert.equal(stored.rows.length, 1);
  assert.equal(JSON.stringify(stored.rows).includes(shown.code), false);
  // A client that sends an Idempotency-Key anyway: the route keeps no record of its answer.
  const retried = await post({ ...memberApp, 'idempotency-key': 'barcode-1' }, '/v1/me/barcode');
  assert.equal(retried.statusCode, 201);
  const records = await sql`select * from idempotency_key where tenant_id = ${t.tenant.id}`.execute(deps.db);
  assert.equal(JSON.stringify(records.rows).includes(retried.json().code), false);
  assert.equal(records.rows.length, 0);
  const replacedFirst = await post(posKey, '/v1/members/identify', { barcode: shown.code });
  assert.equal(replacedFirst.json().code, 'MEMBER_NOT_FOUND', 'the retry replaced the first code');
  shown.code = retried.json().code;

  const found = await post(posKey, '/v1/members/identify', { barcode: shown.code });
  assert.equal(found.statusCode, 200, found.body);
  const body = found.json();
  assert.equal(body.identifiedBy, 'barcode');
  assert.equal(body.member.id, member);
  assert.equal(body.member.status, 'active');
  assert.match(body.member.name, /\*/, 'masked');
  assert.deepEqual(body.balances, { points: 0, prepaid: 0, prepaidCards: 0, coupons: 0, stampCards: [] });

  // A screenshot of the code used a second time.
  const reused = await post(posKey, '/v1/members/identify', { barcode: shown.code });
  assert.equal(`${reused.statusCode} ${reused.json().code}`, '422 BARCODE_USED');

  // The checkout names no store: the key's is implied.
  const order = {
    checkoutId: `pos-${randomBytes(4).toString('hex')}`,
    memberId: body.member.id,
    channel: 'offline',
    items: [{ productId: 'americano', quantity: 2, unitPrice: 4_500 }],
  };
  const commit = await post({ ...posKey, ...key() }, '/v1/checkout/commit', order);
  assert.equal(commit.statusCode, 200, commit.body);
  assert.equal(commit.json().pointsEarned, 90);
  const ops = await app.inject({ url: `/v1/members/${member}/points/operations`, headers: bearer(t.keys.server) });
  assert.deepEqual(
    ops.json().items.map((o: { kind: string; storeId: string }) => [o.kind, o.storeId]),
    [['earn', gangnam]],
  );
  // After the earning, the next scan shows it.
  const again = await post(posKey, '/v1/members/identify', { barcode: (await barcode(memberApp)).code });
  assert.equal(again.json().balances.points, 90);

  // Another store is refused, and so is a write that acts for the whole brand; nothing is written.
  const elsewhere = await post({ ...posKey, ...key() }, '/v1/checkout/commit', { ...order, checkoutId: 'x2', storeId: jamsil });
  assert.equal(elsewhere.statusCode, 403);
  assert.deepEqual(elsewhere.json().details, { rule: 'store_outside', storeIds: [jamsil], allowedStoreIds: [gangnam] });
  const earnElsewhere = await post({ ...posKey, ...key() }, '/v1/points/earn', {
    memberId: member,
    orderId: 'o-jamsil',
    paidAmount: 10_000,
    channel: 'offline',
    storeId: jamsil,
  });
  assert.equal(earnElsewhere.json().details.rule, 'store_outside');
  const brandWide = await post({ ...posKey, ...key() }, '/v1/points/cancel', { cancelId: 'c1', operationId: 'pt.earn.x' });
  assert.equal(brandWide.statusCode, 403);
  assert.equal(brandWide.json().details.rule, 'store_required');
  const after = await app.inject({ url: `/v1/members/${member}/points/operations`, headers: bearer(t.keys.server) });
  assert.equal(after.json().items.length, 1);
  // An unbound POS key of the brand still acts for any store.
  const unbound = await post({ ...bearer(t.keys.pos), ...key() }, '/v1/points/earn', {
    memberId: member,
    orderId: 'o-jamsil',
    paidAmount: 10_000,
    channel: 'offline',
    storeId: jamsil,
  });
  assert.equal(unbound.statusCode, 200, unbound.body);

  // A cancel names no store: the bound key may cancel what was done at its store, nothing else.
  const theirs = await post({ ...posKey, ...key() }, '/v1/points/cancel', { cancelId: 'c2', operationId: unbound.json().id });
  assert.equal(theirs.statusCode, 403);
  assert.deepEqual(theirs.json().details, { rule: 'store_outside', storeIds: [jamsil], allowedStoreIds: [gangnam] });
  const ours = await post({ ...posKey, ...key() }, `/v1/checkout/${order.checkoutId}/cancel`, { cancelId: 'refund-1' });
  assert.equal(ours.statusCode, 200, ours.body);
  assert.equal(ours.json().status, 'cancelled');
});

test('a code expires 60 seconds after issue, a new one replaces the last, and misses answer their codes', async () => {
  const { posKey, memberApp, member } = await brand();
  const old = await barcode(memberApp);
  clock.advance(61_000);
  const expired = await post(posKey, '/v1/members/identify', { barcode: old.code });
  assert.equal(`${expired.statusCode} ${expired.json().code}`, '422 BARCODE_EXPIRED');

  const first = await barcode(memberApp);
  const second = await barcode(memberApp);
  const replaced = await post(posKey, '/v1/members/identify', { barcode: first.code });
  assert.equal(`${replaced.statusCode} ${replaced.json().code}`, '404 MEMBER_NOT_FOUND');
  clock.advance(59_000);
  const live = await post(posKey, '/v1/members/identify', { barcode: second.code });
  assert.equal(live.json().member.id, member, live.body);

  // A code that fails its check digit is a misread: 400, before any lookup.
  const digits = second.code.slice(0, -1);
  const misread = await post(posKey, '/v1/members/identify', { barcode: `${digits}${(Number(second.code.at(-1)) + 1) % 10}` });
  assert.equal(`${misread.statusCode} ${misread.json().code}`, '400 VALIDATION_FAILED');
  for (const payload of [{}, { barcode: second.code, phone: '010-1234-5678' }, { phone: '02-123-4567' }, { cardNumber: '12' }]) {
    const bad = await post(posKey, '/v1/members/identify', payload);
    assert.equal(`${bad.statusCode} ${bad.json().code}`, '400 VALIDATION_FAILED', JSON.stringify(payload));
  }
  // The member app asks with its session only.
  const noSession = await post(bearer(memberApp.authorization!.slice(7)), '/v1/me/barcode');
  assert.equal(noSession.statusCode, 401);
});

test('50 parallel scans of one code: exactly one identifies the member', async () => {
  const { posKey, memberApp, member } = await brand();
  const { code } = await barcode(memberApp);
  const results = await Promise.all(Array.from({ length: 50 }, () => post(posKey, '/v1/members/identify', { barcode: code })));
  const outcomes = results.map((r) => (r.statusCode === 200 ? 'ok' : r.json().code));
  assert.equal(outcomes.filter((o) => o === 'ok').length, 1, outcomes.join());
  assert.deepEqual(new Set(outcomes), new Set(['ok', 'BARCODE_USED']));
  assert.equal(results.find((r) => r.statusCode === 200)!.json().member.id, member);
});

test('by phone (keyed hash) and by a registered physical card; an operator’s view is in the access log', async () => {
  const { t, gangnam, posKey, memberApp } = await brand();
  const tenantId = t.tenant.id;
  const tag = randomBytes(3).toString('hex');
  const phone = `0109${String(Math.floor(Math.random() * 10_000_000)).padStart(7, '0')}`;
  await importMembers(deps, tenantId, `counter-${tag}`, [
    `login_id,name,phone,consent_terms,consent_privacy\nc${tag},김민지,${phone},Y,Y`,
  ]);
  const byPhone = await post(posKey, '/v1/members/identify', {
    phone: `${phone.slice(0, 3)}-${phone.slice(3, 7)}-${phone.slice(7)}`,
  });
  assert.equal(byPhone.statusCode, 200, byPhone.body);
  assert.equal(byPhone.json().identifiedBy, 'phone');
  assert.equal(byPhone.json().member.name, '김*지');
  const unknown = await post(posKey, '/v1/members/identify', { phone: '010-0000-0001' });
  assert.equal(`${unknown.statusCode} ${unknown.json().code}`, '404 MEMBER_NOT_FOUND');
  assert.deepEqual(unknown.json().details, { by: 'phone' });

  const number = `94${String(Math.floor(Math.random() * 1e14)).padStart(14, '0')}`;
  const stock = await post({ ...bearer(t.keys.server), ...key() }, '/v1/prepaid/physical-cards', { number, pin: '4321' });
  assert.equal(stock.statusCode, 201, stock.body);
  const byUnregistered = await post(posKey, '/v1/members/identify', { cardNumber: number });
  assert.equal(`${byUnregistered.statusCode} ${byUnregistered.json().code}`, '404 MEMBER_NOT_FOUND');
  const reg = await post({ ...memberApp, ...key() }, '/v1/me/prepaid/cards/register', { number, pin: '4321', nickname: '실물' });
  assert.equal(reg.statusCode, 201, reg.body);
  const byCard = await post(posKey, '/v1/members/identify', { cardNumber: number });
  assert.equal(byCard.statusCode, 200, byCard.body);
  assert.equal(byCard.json().identifiedBy, 'card');
  assert.equal(byCard.json().balances.prepaidCards, 1);

  // An operator (members:read) at a store: the view is logged with who, the member and how.
  const cs = await signedInOperator(app, t, 'cs', clock.now());
  const seen = await app.inject({
    method: 'POST',
    url: '/v1/members/identify',
    headers: cs.headers,
    payload: { cardNumber: number, storeId: gangnam },
  });
  assert.equal(seen.statusCode, 200, seen.body);
  const log = await sql<{ action: string; member_ids: string[]; fields: string[]; query: unknown }>`
    select action, member_ids, fields, query from access_log where tenant_id = ${tenantId} order by seq`.execute(deps.db);
  assert.deepEqual(log.rows, [
    { action: 'view', member_ids: [seen.json().member.id], fields: ['name'], query: { identifiedBy: 'card', storeId: gangnam } },
  ]);
});

test('misses are rate-limited per key (429 with Retry-After); a barcode that resolves does not count', async () => {
  const limited = await testApp({ clock, config: testConfig({ SECRET_RATE_LIMIT_PER_CREDENTIAL: '3' }) });
  try {
    const t: TestTenant = await newTenant(limited.deps, 'Limited');
    const [member] = await newMembers(limited.deps, t.tenant.id, 1);
    const memberApp = { ...bearer(t.keys.app), 'x-member-token': await memberToken(limited.deps, t.tenant.id, member!) };
    const scan = async () => {
      const { code } = (await limited.app.inject({ method: 'POST', url: '/v1/me/barcode', headers: memberApp })).json();
      return limited.app.inject({
        method: 'POST',
        url: '/v1/members/identify',
        headers: bearer(t.keys.pos),
        payload: { barcode: code },
      });
    };
    for (let i = 0; i < 5; i++) assert.equal((await scan()).statusCode, 200, 'live codes are not counted');
    const miss = () =>
      limited.app.inject({
        method: 'POST',
        url: '/v1/members/identify',
        headers: bearer(t.keys.pos),
        payload: { phone: '010-0000-0002' },
      });
    for (let i = 0; i < 3; i++) assert.equal((await miss()).json().code, 'MEMBER_NOT_FOUND');
    const over = await miss();
    assert.equal(`${over.statusCode} ${over.json().code}`, '429 RATE_LIMITED');
    assert.ok(Number(over.headers['retry-after']) >= 1);
    assert.equal(over.json().details.per, 'credential');
    // Another key of the brand has its own count.
    assert.equal(
      (
        await limited.app.inject({
          method: 'POST',
          url: '/v1/members/identify',
          headers: bearer(t.keys.server),
          payload: { phone: '010-0000-0002' },
        })
      ).json().code,
      'MEMBER_NOT_FOUND',
    );
  } finally {
    await limited.app.close();
  }
});

test('API keys: only a pos key is bound, to a store of the tenant', async () => {
  const { t, gangnam } = await brand();
  const create = (payload: object) => post(platform, `/platform/v1/tenants/${t.tenant.id}/api-keys`, payload);
  const server = await create({ name: 'srv', scope: 'server', storeId: gangnam });
  assert.equal(`${server.statusCode} ${server.json().errors?.[0]?.field}`, '400 storeId');
  const nowhere = await create({ name: 'pos', scope: 'pos', storeId: 'sto_nowhere' });
  assert.equal(`${nowhere.statusCode} ${nowhere.json().code}`, '404 NOT_FOUND');
  const list = await app.inject({ url: `/platform/v1/tenants/${t.tenant.id}/api-keys`, headers: platform });
  const bound = list.json().items.filter((k: { storeId: string | null }) => k.storeId !== null);
  assert.deepEqual(
    bound.map((k: { name: string; storeId: string }) => [k.name, k.storeId]),
    [['강남점 POS 1', gangnam]],
  );
});
