import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { addStores, bearer, memberToken, newMembers, newTenant, tenantRows, testApp } from '../../../test/helpers.ts';
import type { Deps } from '../../platform/deps.ts';

// Bad prepaid input is a 4xx problem that writes nothing: an empty card update, amounts beyond
// MOA_MAX_AMOUNT, an offline charge without a store, a store that is not the brand's.

let app: FastifyInstance;
let deps: Deps;
let seq = 0;

before(async () => {
  ({ app, deps } = await testApp());
});
after(() => app.close());

const key = () => ({ 'idempotency-key': `k-${++seq}` });

async function brand() {
  const t = await newTenant(deps, 'Prepaid Input Brand');
  assert.equal(
    (
      await app.inject({
        method: 'PUT',
        url: '/v1/prepaid/program',
        headers: bearer(t.keys.server),
        payload: { minCharge: 1, chargeUnit: 1, maxBalance: 1_000_000 },
      })
    ).statusCode,
    200,
  );
  const [m] = await newMembers(deps, t.tenant.id, 1);
  await addStores(deps, t.tenant.id, ['mine']);
  const token = await memberToken(deps, t.tenant.id, m!);
  const me = (method: 'POST' | 'PATCH', url: string, payload: object) =>
    app.inject({ method, url, headers: { ...bearer(t.keys.app), 'x-member-token': token, ...key() }, payload });
  const card = (await me('POST', '/v1/me/prepaid/cards', { nickname: '카드' })).json().id as string;
  const pos = (url: string, payload: object) =>
    app.inject({ method: 'POST', url, headers: { ...bearer(t.keys.pos), ...key() }, payload });
  return { t, me, pos, card };
}

test('PATCH a card with nothing to change is a 400, not an SQL error; a real change still applies', async () => {
  const { t, me, card } = await brand();
  const before = await tenantRows(deps, t.tenant.id);
  const res = await me('PATCH', `/v1/me/prepaid/cards/${card}`, {});
  assert.equal(res.statusCode, 400, res.body);
  assert.match(String(res.headers['content-type']), /application\/problem\+json/);
  assert.equal(res.json().code, 'VALIDATION_FAILED');
  assert.deepEqual(await tenantRows(deps, t.tenant.id), before);
  const renamed = await me('PATCH', `/v1/me/prepaid/cards/${card}`, { nickname: '새 이름' });
  assert.deepEqual([renamed.statusCode, renamed.json().nickname, renamed.json().status], [200, '새 이름', 'active']);
});

test('charges: an offline charge needs a store of the brand, amounts stay within MOA_MAX_AMOUNT; refusals write nothing', async () => {
  const { t, me, pos, card } = await brand();
  const other = await newTenant(deps, 'Other Brand');
  await addStores(deps, other.tenant.id, ['theirs']);
  const pay = { method: 'cash', token: 'pos' };
  const before = await tenantRows(deps, t.tenant.id);
  const cases: [
    () => Promise<{ statusCode: number; json: () => { code: string; errors?: { field: string }[] } }>,
    number,
    string,
    string?,
  ][] = [
    [
      () => pos('/v1/prepaid/charges', { chargeId: 'c1', cardId: card, amount: 5_000, channel: 'offline', payment: pay }),
      400,
      'VALIDATION_FAILED',
      'storeId',
    ],
    [
      () =>
        pos('/v1/prepaid/charges', {
          chargeId: 'c2',
          cardId: card,
          amount: 5_000,
          channel: 'offline',
          storeId: 'nowhere',
          payment: pay,
        }),
      404,
      'NOT_FOUND',
    ],
    [
      () =>
        pos('/v1/prepaid/charges', {
          chargeId: 'c3',
          cardId: card,
          amount: 5_000,
          channel: 'offline',
          storeId: 'theirs',
          payment: pay,
        }),
      404,
      'NOT_FOUND',
    ],
    [
      () =>
        pos('/v1/prepaid/charges', {
          chargeId: 'c4',
          cardId: card,
          amount: 1_000_000_000_001,
          channel: 'offline',
          storeId: 'mine',
          payment: pay,
        }),
      400,
      'VALIDATION_FAILED',
      'amount',
    ],
    [
      () => me('POST', `/v1/me/prepaid/cards/${card}/charges`, { chargeId: 'c5', amount: 9_007_199_254_740_991, payment: pay }),
      400,
      'VALIDATION_FAILED',
      'body.amount',
    ],
    [
      () => pos('/v1/prepaid/use', { orderId: 'o1', cardId: card, amount: 1_000, channel: 'offline', storeId: 'theirs' }),
      404,
      'NOT_FOUND',
    ],
    [
      () => pos('/v1/prepaid/use', { orderId: 'o2', cardId: card, amount: 1_000_000_000_001, channel: 'app' }),
      400,
      'VALIDATION_FAILED',
      'amount',
    ],
  ];
  for (const [send, status, code, field] of cases) {
    const res = await send();
    assert.deepEqual([res.statusCode, res.json().code], [status, code], JSON.stringify(res.json()));
    if (field) assert.equal(res.json().errors?.[0]!.field, field);
  }
  assert.deepEqual(await tenantRows(deps, t.tenant.id), before);
  // At its own store it charges, and is cancelled there only.
  assert.equal(
    (
      await pos('/v1/prepaid/charges', {
        chargeId: 'ok',
        cardId: card,
        amount: 5_000,
        channel: 'offline',
        storeId: 'mine',
        payment: pay,
      })
    ).statusCode,
    200,
  );
  assert.equal(
    (await pos('/v1/prepaid/charges/cancel', { cancelId: 'x1', chargeId: 'ok', channel: 'offline', storeId: 'theirs' })).json()
      .code,
    'NOT_FOUND',
  );
  assert.equal(
    (await pos('/v1/prepaid/charges/cancel', { cancelId: 'x2', chargeId: 'ok', channel: 'offline', storeId: 'mine' })).statusCode,
    200,
  );
});
