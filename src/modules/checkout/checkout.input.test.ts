import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { addStores, bearer, newMembers, newTenant, tenantRows, testApp, testConfig } from '../../../test/helpers.ts';
import type { Deps } from '../../platform/deps.ts';
import { setPointPolicy, ZPointPolicySettings } from '../points/index.ts';

// Bad checkout input is a 4xx problem that writes nothing: totals beyond the business maximum
// (MOA_MAX_AMOUNT) and stores that are not the brand's.

let app: FastifyInstance;
let deps: Deps;
let small: FastifyInstance;
let smallDeps: Deps;
let seq = 0;

before(async () => {
  ({ app, deps } = await testApp());
  ({ app: small, deps: smallDeps } = await testApp({ config: testConfig({ MOA_MAX_AMOUNT: '100000' }) }));
});
after(async () => {
  await app.close();
  await small.close();
});

async function brand(d: Deps = deps) {
  const t = await newTenant(d, 'Checkout Input Brand');
  await setPointPolicy(d, t.tenant.id, { settings: ZPointPolicySettings.parse({ baseRateBp: 10_000 }) });
  const [member] = await newMembers(d, t.tenant.id, 1);
  await addStores(d, t.tenant.id, ['st1']);
  return { t, member: member! };
}

const post = (a: FastifyInstance, key: string, url: string, payload: object) =>
  a.inject({ method: 'POST', url, headers: { ...bearer(key), 'idempotency-key': `k-${++seq}` }, payload });
const basket = (memberId: string, items: [number, number][], extra: object = {}) => ({
  checkoutId: `co-${++seq}`,
  memberId,
  channel: 'offline',
  storeId: 'st1',
  items: items.map(([quantity, unitPrice], i) => ({ productId: `p${i}`, quantity, unitPrice })),
  ...extra,
});

test('a checkout whose total passes the safe-integer range is a 400 naming the field, and writes nothing', async () => {
  const { t, member } = await brand();
  const before = await tenantRows(deps, t.tenant.id);
  for (const [items, extra, field] of [
    // Beyond any maximum a deployment may set: refused by the schema.
    [
      [
        [1, 9_007_199_254_740_991],
        [1, 9_007_199_254_740_991],
      ],
      {},
      'body.items.0.unitPrice',
    ],
    // Within the schema, beyond MOA_MAX_AMOUNT (10^12): a line, the sum of the lines, the order with its fee.
    [[[2, 1_000_000_000_000]], {}, 'items.0'],
    [
      [
        [1, 600_000_000_000],
        [1, 600_000_000_000],
      ],
      {},
      'items',
    ],
    [[[1, 1_000_000_000_000]], { deliveryFee: 1 }, 'orderAmount'],
  ] as [[number, number][], object, string][]) {
    const req = basket(member, items, extra);
    const res = await post(app, t.keys.pos, '/v1/checkout/commit', req);
    assert.equal(res.statusCode, 400, res.body);
    assert.match(String(res.headers['content-type']), /application\/problem\+json/);
    assert.equal(res.json().code, 'VALIDATION_FAILED');
    assert.equal(res.json().errors[0].field, field);
    assert.equal((await app.inject({ url: `/v1/checkout/${req.checkoutId}`, headers: bearer(t.keys.pos) })).statusCode, 404);
    const quote = await post(app, t.keys.pos, '/v1/checkout/quote', req);
    assert.equal(quote.statusCode, 400, quote.body);
  }
  assert.deepEqual(await tenantRows(deps, t.tenant.id), before);
});

test('MOA_MAX_AMOUNT bounds every total, and earning never passes it', async () => {
  const { t, member } = await brand(smallDeps);
  const over = await post(
    small,
    t.keys.pos,
    '/v1/checkout/commit',
    basket(member, [
      [1, 60_000],
      [1, 40_001],
    ]),
  );
  assert.equal(over.statusCode, 400, over.body);
  assert.equal(over.json().errors[0].field, 'items');
  const points = await post(small, t.keys.pos, '/v1/checkout/commit', basket(member, [[1, 10]], { points: 100_001 }));
  assert.deepEqual([points.statusCode, points.json().errors?.[0].field], [400, 'points']);
  // At the maximum it commits, and a 100 % earning rate earns exactly the maximum.
  const at = await post(small, t.keys.pos, '/v1/checkout/commit', basket(member, [[2, 50_000]]));
  assert.equal(at.statusCode, 200, at.body);
  assert.deepEqual([at.json().orderAmount, at.json().pointsEarned], [100_000, 100_000]);
  assert.equal(
    (await small.inject({ url: `/v1/checkout/${at.json().checkoutId}`, headers: bearer(t.keys.pos) })).statusCode,
    200,
  );
});

test('a checkout at a store that does not exist or is another brand’s is NOT_FOUND and writes nothing', async () => {
  const { t, member } = await brand();
  const other = await newTenant(deps, 'Other Brand');
  await addStores(deps, other.tenant.id, ['theirs']);
  const before = await tenantRows(deps, t.tenant.id);
  for (const storeId of ['nowhere', 'theirs']) {
    const res = await post(app, t.keys.pos, '/v1/checkout/commit', basket(member, [[1, 5_000]], { storeId }));
    assert.equal(res.statusCode, 404, res.body);
    assert.deepEqual([res.json().code, res.json().details], ['NOT_FOUND', { storeId }]);
  }
  assert.deepEqual(await tenantRows(deps, t.tenant.id), before);
  assert.equal((await post(app, t.keys.pos, '/v1/checkout/commit', basket(member, [[1, 5_000]]))).statusCode, 200);
});
