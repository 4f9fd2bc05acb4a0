import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { bearer, newMembers, newTenant, tenantRows, testApp } from '../../../test/helpers.ts';
import type { Deps } from '../../platform/deps.ts';
import { discountOf } from './coupons.rules.ts';
import { createDefinition, issueCoupon, ZCouponDefinitionRequest, ZCouponRules } from './index.ts';

let app: FastifyInstance;
let deps: Deps;
let seq = 0;

before(async () => {
  ({ app, deps } = await testApp());
});
after(() => app.close());

async function brand() {
  const t = await newTenant(deps, 'Coupons Input Brand');
  const [m] = await newMembers(deps, t.tenant.id, 1);
  const def = await createDefinition(
    deps,
    t.tenant.id,
    ZCouponDefinitionRequest.parse({
      name: '10%',
      rules: { benefit: { kind: 'percent', percentBp: 1_000 }, validity: { kind: 'days', days: 30 } },
    }),
  );
  return { t, m: m!, def };
}

test('a bulk issue refused for its list writes nothing, not even its coupon_bulk_issue row', async () => {
  const { t, m, def } = await brand();
  const put = (csv: string) =>
    app.inject({
      method: 'PUT',
      url: `/v1/coupons/definitions/${def.id}/bulk-issues/b1`,
      headers: { ...bearer(t.keys.server), 'content-type': 'text/csv' },
      payload: csv,
    });
  const before = await tenantRows(deps, t.tenant.id);
  for (const csv of ['memberid\nx\n', '']) {
    const res = await put(csv);
    assert.equal(res.statusCode, 400, res.body);
    assert.deepEqual(await tenantRows(deps, t.tenant.id), before);
    assert.equal(
      (await app.inject({ url: `/v1/coupons/definitions/${def.id}/bulk-issues/b1`, headers: bearer(t.keys.server) })).statusCode,
      404,
    );
  }
  const ok = await put(`member_id\n${m}\n`);
  assert.deepEqual([ok.statusCode, ok.json().status, ok.json().issued], [200, 'done', 1], ok.body);
});

test('a coupon used on an order beyond MOA_MAX_AMOUNT is a 400 naming the field; nothing is written', async () => {
  const { t, m, def } = await brand();
  const coupon = await issueCoupon(deps, t.tenant.id, { definitionId: def.id, memberId: m, source: 'operator' });
  const before = await tenantRows(deps, t.tenant.id);
  for (const [order, field] of [
    [{ items: [{ productId: 'x', quantity: 3, unitPrice: 400_000_000_000 }] }, 'order.items.0'],
    [{ amount: 1_000_000_000_001 }, 'order.amount'],
    [{ amount: 1_000_000_000_000, deliveryFee: 1 }, 'order.total'],
  ] as [object, string][]) {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/coupons/redeem',
      headers: { ...bearer(t.keys.pos), 'idempotency-key': `k-${++seq}` },
      payload: { memberId: m, couponId: coupon.id, order: { orderId: `o-${seq}`, channel: 'app', ...order } },
    });
    assert.equal(res.statusCode, 400, res.body);
    assert.deepEqual([res.json().code, res.json().errors[0].field], ['VALIDATION_FAILED', field]);
  }
  assert.deepEqual(await tenantRows(deps, t.tenant.id), before);
});

test('a percent discount is exact near the maximum', () => {
  const rules = ZCouponRules.parse({ benefit: { kind: 'percent', percentBp: 9_999 }, validity: { kind: 'days', days: 1 } });
  // 999,999,990,001 × 9,999 / 10,000 = 999,899,990,001.9999: in doubles the product rounds up to the next whole quotient.
  assert.equal(
    discountOf(rules, { orderId: 'o', channel: 'app', items: [], amount: 999_999_990_001, deliveryFee: 0 }),
    999_899_990_001,
  );
});
