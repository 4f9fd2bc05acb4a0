import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { addStores, bearer, memberToken, newMembers, newTenant, type TestTenant, testApp } from '../../../test/helpers.ts';
import type { Deps } from '../../platform/deps.ts';
import { trialBalance } from '../ledger/index.ts';
import { pointBalance } from '../points/index.ts';

let app: FastifyInstance;
let deps: Deps;
let seq = 0;

before(async () => {
  ({ app, deps } = await testApp());
});
after(() => app.close());

const key = () => ({ 'idempotency-key': `k-${++seq}` });
const server = (t: TestTenant, url: string, payload: object, method: 'POST' | 'PUT' = 'POST') =>
  app.inject({ method, url, headers: { ...bearer(t.keys.server), ...key() }, payload });
const pos = (t: TestTenant, url: string, payload: object) =>
  app.inject({ method: 'POST', url, headers: { ...bearer(t.keys.pos), ...key() }, payload });

async function brand(card: object = {}, policy: object = {}) {
  const t = await newTenant(deps, 'Stamp Brand');
  const res = await server(t, '/v1/stamp-cards', {
    name: '아메리카노 스탬프',
    issueFrom: new Date(Date.now() - 86_400_000).toISOString(),
    issueUntil: new Date(Date.now() + 90 * 86_400_000).toISOString(),
    stampsPerBoard: 3,
    reward: { type: 'points', points: 1000 },
    ...card,
    policy,
  });
  assert.equal(res.statusCode, 201, res.body);
  const [m1, m2] = await newMembers(deps, t.tenant.id, 2);
  await addStores(deps, t.tenant.id, ['st1', 'st9']);
  return { t, card: res.json(), m1: m1!, m2: m2! };
}

const order = (memberId: string, extra: object = {}) => ({
  memberId,
  orderId: `o-${++seq}`,
  channel: 'offline',
  storeId: 'st1',
  amount: 5000,
  ...extra,
});

test('two concurrent earnings that each complete the same board give one reward', async () => {
  for (const racers of [2, 10]) {
    const { t, card, m1 } = await brand();
    assert.equal(
      (await server(t, '/v1/stamps/events', { cardId: card.id, memberId: m1, eventId: `e${racers}`, count: 2 })).json().stamps,
      2,
    );
    const results = await Promise.all(Array.from({ length: racers }, () => pos(t, '/v1/stamps/earn', order(m1))));
    assert.ok(
      results.every((r) => r.statusCode === 200),
      results.map((r) => r.body).join(),
    );
    const completed = results.flatMap((r) => r.json().items[0].completedBoards);
    // 2 + racers stamps: floor((2 + racers) / 3) boards, each rewarded exactly once.
    const boards = Math.floor((2 + racers) / 3);
    assert.deepEqual(
      completed.sort(),
      Array.from({ length: boards }, (_, i) => i + 1),
    );
    assert.equal((await pointBalance(deps, t.tenant.id, m1)).balance, 1000 * boards);
    const mine = (await app.inject({ url: `/v1/members/${m1}/stamp-cards`, headers: bearer(t.keys.pos) })).json().items[0];
    assert.deepEqual([mine.stamps, mine.boardsCompleted], [(2 + racers) % 3, boards]);
    assert.ok((await trialBalance(deps, t.tenant.id)).every((l) => l.total === 0));
  }
});

test('the earning policy names the rule that excluded an order; daily maximum; cancel takes stamps back', async () => {
  const { t, m1 } = await brand(
    { stampsPerBoard: 10 },
    {
      channels: ['offline', 'app'],
      stores: ['st1'],
      minAmount: 4000,
      basis: 'per_condition_item',
      conditionProducts: ['americano'],
      maxPerDay: 3,
      earnWhenCouponUsed: false,
    },
  );
  const skip = async (extra: object) => (await pos(t, '/v1/stamps/earn', order(m1, extra))).json().items[0].skipped?.rule;
  assert.equal(await skip({ channel: 'web' }), 'channel');
  assert.equal(await skip({ storeId: 'st9' }), 'store');
  assert.equal(await skip({ amount: 3000, items: [{ productId: 'americano', quantity: 1, unitPrice: 3000 }] }), 'min_amount');
  assert.equal(await skip({ items: [{ productId: 'latte', quantity: 1, unitPrice: 5000 }] }), 'condition_products');
  assert.equal(
    await skip({ couponUsed: true, items: [{ productId: 'americano', quantity: 1, unitPrice: 5000 }] }),
    'coupon_used',
  );
  const two = (
    await pos(
      t,
      '/v1/stamps/earn',
      order(m1, {
        orderId: 'two',
        items: [
          { productId: 'americano', quantity: 2, unitPrice: 2500 },
          { productId: 'latte', quantity: 4, unitPrice: 1 },
        ],
      }),
    )
  ).json().items[0];
  assert.deepEqual([two.earned, two.stamps], [2, 2]);
  const capped = (
    await pos(t, '/v1/stamps/earn', order(m1, { items: [{ productId: 'americano', quantity: 5, unitPrice: 1000 }] }))
  ).json().items[0];
  assert.equal(capped.earned, 1); // 3 a day
  const refused = (
    await pos(t, '/v1/stamps/earn', order(m1, { items: [{ productId: 'americano', quantity: 1, unitPrice: 5000 }] }))
  ).json().items[0];
  assert.equal(refused.skipped.code, 'STAMP_DAILY_LIMIT');
  const cancel = await pos(t, '/v1/stamps/cancel', { cancelId: 'c1', orderId: 'two' });
  assert.equal(cancel.statusCode, 200, cancel.body);
  assert.equal(
    (await app.inject({ url: `/v1/members/${m1}/stamp-cards`, headers: bearer(t.keys.pos) })).json().items[0].stamps,
    1,
  );
  assert.equal((await pos(t, '/v1/stamps/earn', order(m1, { orderId: 'two' }))).json().code, 'ORDER_ALREADY_PROCESSED');
});

test('OTP fallback: a registered manager approves once; a second use, another store’s manager and a store without one are rejected', async () => {
  const { t, card, m1 } = await brand({}, { stores: ['S1', 'S2', 'S3'], maxPerDay: 4 });
  const store = async (code: string) =>
    (await server(t, '/v1/stores', { code, name: `매장 ${code}`, address: '서초구 양재동 16-6', region: '서울' })).json()
      .id as string;
  const [s1, s2, s3] = [await store('S1'), await store('S2'), await store('S3')];
  // Store ids are generated: the card's participating list names them.
  await deps.db
    .updateTable('stamp_card')
    .set({ policy: JSON.stringify({ stores: [s1, s2, s3], maxPerDay: 4 }) })
    .where('tenant_id', '=', t.tenant.id)
    .where('id', '=', card.id)
    .execute();
  assert.equal(
    (await server(t, '/v1/store-managers', { loginId: 'kim.s1', name: '김점장', password: 'manager-pass-1', storeIds: [s1] }))
      .statusCode,
    201,
  );
  assert.equal(
    (await server(t, '/v1/store-managers', { loginId: 'lee.s2', name: '이점장', password: 'manager-pass-2', storeIds: [s2] }))
      .statusCode,
    201,
  );
  const login = async (loginId: string, password: string) =>
    (
      await app.inject({
        method: 'POST',
        url: '/v1/store-managers/login',
        headers: bearer(t.keys.app),
        payload: { loginId, password },
      })
    ).json().token as string;
  const [kim, lee] = [await login('kim.s1', 'manager-pass-1'), await login('lee.s2', 'manager-pass-2')];
  const approve = (token: string, storeId: string, code: string, count = 2, key?: string) =>
    app.inject({
      method: 'POST',
      url: '/v1/store-managers/stamp-approvals',
      headers: { ...bearer(t.keys.app), 'x-manager-token': token, ...(key ? { 'idempotency-key': key } : {}) },
      payload: { storeId, code, count },
    });
  const memberTok = await memberToken(deps, t.tenant.id, m1);
  const otp = async () => {
    const res = await app.inject({
      method: 'POST',
      url: `/v1/me/stamp-cards/${card.id}/otp`,
      headers: { ...bearer(t.keys.app), 'x-member-token': memberTok },
    });
    assert.equal(res.statusCode, 201, res.body);
    return res.json().code as string;
  };

  const code = await otp();
  assert.equal((await approve(lee, s1, code)).json().code, 'NOT_STORE_MANAGER'); // another store's manager
  assert.equal((await approve(kim, s3, code)).json().code, 'NOT_STORE_MANAGER'); // S3 has no manager at all
  const ok = await approve(kim, s1, code, 2, 'approval-1');
  assert.equal(ok.statusCode, 200, ok.body);
  // A manager retrying after a time-out, with the same key, learns the stamps were granted (once).
  const retried = await approve(kim, s1, code, 2, 'approval-1');
  assert.equal(retried.headers['idempotent-replayed'], 'true');
  assert.deepEqual(retried.json(), ok.json());
  assert.deepEqual([ok.json().earned, ok.json().managerId, ok.json().storeId], [2, ok.json().managerId, s1]);
  assert.equal((await approve(kim, s1, code)).json().code, 'OTP_INVALID'); // used twice
  assert.equal((await approve(lee, s2, code)).json().code, 'OTP_INVALID');
  const logged = await deps.db
    .selectFrom('stamp_earning')
    .selectAll()
    .where('tenant_id', '=', t.tenant.id)
    .where('source', '=', 'otp')
    .executeTakeFirstOrThrow();
  assert.deepEqual([logged.store_id, logged.manager_id, logged.count], [s1, ok.json().managerId, 2]);

  // The daily maximum applies: 4 a day, 2 already; 3 asked → 2 earned; then none left.
  assert.equal((await approve(lee, s2, await otp(), 3)).json().earned, 2);
  assert.equal((await approve(lee, s2, await otp(), 1)).json().code, 'STAMP_DAILY_LIMIT');
  // Wrong codes are limited per manager.
  for (let i = 0; i < 4; i++) assert.equal((await approve(kim, s1, '000000')).json().code, 'OTP_INVALID'); // with the used one above: 5
  assert.equal((await approve(kim, s1, await otp())).json().code, 'RATE_LIMITED');
});

test('OTP per-code limit: a live code ends once 30 wrong codes were tried in its tenant, whichever managers and stores tried them', async () => {
  const { t, card, m1 } = await brand();
  const store = async (code: string) => (await server(t, '/v1/stores', { code, name: `매장 ${code}` })).json().id as string;
  const stores = [await store('P1'), await store('P2')];
  const tokens: string[] = [];
  for (let i = 0; i < 7; i++) {
    const loginId = `mgr.p${i}`;
    assert.equal(
      (
        await server(t, '/v1/store-managers', {
          loginId,
          name: `점장${i}`,
          password: `manager-pass-${i}`,
          storeIds: [stores[i % 2]],
        })
      ).statusCode,
      201,
    );
    tokens.push(
      (
        await app.inject({
          method: 'POST',
          url: '/v1/store-managers/login',
          headers: bearer(t.keys.app),
          payload: { loginId, password: `manager-pass-${i}` },
        })
      ).json().token,
    );
  }
  const approve = (i: number, code: string) =>
    app.inject({
      method: 'POST',
      url: '/v1/store-managers/stamp-approvals',
      headers: { ...bearer(t.keys.app), 'x-manager-token': tokens[i]! },
      payload: { storeId: stores[i % 2], code, count: 1 },
    });
  const res = await app.inject({
    method: 'POST',
    url: `/v1/me/stamp-cards/${card.id}/otp`,
    headers: { ...bearer(t.keys.app), 'x-member-token': await memberToken(deps, t.tenant.id, m1) },
  });
  const code = res.json().code as string;
  const wrong = code === '999999' ? '999998' : '999999';
  // Six managers, five wrong codes each (within their own and their stores' limits): 30 in all.
  for (let i = 0; i < 30; i++) {
    assert.equal((await approve(i % 6, wrong)).json().code, 'OTP_INVALID');
    const live = await deps.db
      .selectFrom('stamp_otp')
      .select(['wrong_seen', 'expires_at'])
      .where('tenant_id', '=', t.tenant.id)
      .where('member_id', '=', m1)
      .executeTakeFirstOrThrow();
    assert.equal(live.wrong_seen, i + 1);
    assert.equal(live.expires_at > new Date(), i < 29, `after ${i + 1} wrong codes`);
  }
  const ended = (await approve(6, code)).json();
  assert.deepEqual([ended.code, ended.details.why], ['OTP_EXPIRED', 'too_many_wrong_codes']);
});

test('a stamp device is registered to exactly one store', async () => {
  const { t } = await brand();
  const a = (await server(t, '/v1/stores', { code: 'A', name: 'A' })).json().id;
  const b = (await server(t, '/v1/stores', { code: 'B', name: 'B' })).json().id;
  assert.equal(
    (await app.inject({ method: 'PUT', url: `/v1/stores/${a}/devices/C1706066`, headers: bearer(t.keys.server) })).statusCode,
    200,
  );
  assert.equal(
    (await app.inject({ method: 'PUT', url: `/v1/stores/${a}/devices/C1706066`, headers: bearer(t.keys.server) })).statusCode,
    200,
  );
  const second = (
    await app.inject({ method: 'PUT', url: `/v1/stores/${b}/devices/C1706066`, headers: bearer(t.keys.server) })
  ).json();
  assert.deepEqual([second.code, second.details.storeId], ['DEVICE_ALREADY_REGISTERED', a]);
});
