// npm run bench:coupon-definitions — does a brand with 1,000 coupon definitions answer as fast as one with
// 60? The same brand is set up twice, alike but for the number of definitions (every benefit kind
// and several rules, a third downloadable): 50 members, each holding 30 coupons. Over HTTP, 1 then
// 16 clients: the app's downloadable list and the console's definition list (a page of 20 each, so
// both brands fill a page), and the POS quote (all 30 coupons checked). Prints one JSON line per
// engine, definition count, route and clients.
//
//   BENCH_ENGINES (as bench:rush)   BENCH_SECONDS  default 3   BENCH_DEFINITIONS  default 60,1000
import { createDefinition, issueCoupon, ZCouponDefinitionRequest } from '../src/modules/coupons/index.ts';
import { openSession } from '../src/modules/members/member-sessions.service.ts';
import { benchEngines } from './engines.ts';
import { runLoad } from './load.ts';
import { benchBrand, placeDatabase, startProduct, withDeps } from './product.ts';

const durationMs = Number(process.env.BENCH_SECONDS ?? 3) * 1000;
const counts = (process.env.BENCH_DEFINITIONS ?? '60,1000').split(',').map(Number);
const MEMBERS = 50;
const HELD = 30;
const print = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);

const templates = [
  (i: number) => ({ benefit: { kind: 'amount', amount: 1_000 + (i % 5) * 500 }, minOrderAmount: 5_000 }),
  () => ({ benefit: { kind: 'percent', percentBp: 1_000, maxDiscount: 3_000 }, channels: ['app', 'offline'] }),
  () => ({ benefit: { kind: 'free_item', productId: 'americano' }, stacking: 'exclusive' }),
  () => ({ benefit: { kind: 'delivery' }, serviceTypes: ['delivery'] }),
  () => ({ benefit: { kind: 'amount', amount: 500 }, weekdays: [1, 2, 3, 4, 5], hours: [{ from: '07:00', to: '10:00' }] }),
  () => ({ benefit: { kind: 'amount', amount: 2_000 }, conditionProducts: ['cake'], grades: ['GOLD', 'VIP'] }),
];

for (const engine of benchEngines()) {
  for (const count of counts) {
    const where = await placeDatabase(engine, 'definitions');
    try {
      const setup = await withDeps(where.open, async (deps) => {
        const brand = await benchBrand(deps, MEMBERS);
        const ids: string[] = [];
        for (let i = 0; i < count; i++) {
          const rules = { ...templates[i % templates.length]!(i), validity: { kind: 'days', days: 30 } };
          const d = await createDefinition(
            deps,
            brand.tenantId,
            ZCouponDefinitionRequest.parse({ name: `쿠폰 ${i}`, rules, downloadable: i % 3 === 0, perMemberLimit: 5 }),
          );
          ids.push(d.id);
        }
        for (const memberId of brand.memberIds) {
          for (let k = 0; k < HELD; k++)
            await issueCoupon(deps, brand.tenantId, { definitionId: ids[k % ids.length]!, memberId, source: 'operator' });
        }
        const tokens = await Promise.all(
          brand.memberIds.map(async (id) => (await openSession(deps, brand.tenantId, id, 'bench')).token),
        );
        return { ...brand, tokens };
      });
      const moa = await startProduct(where.env);
      try {
        const member = (i: number) => i % MEMBERS;
        const basket = (i: number) =>
          JSON.stringify({
            memberId: setup.memberIds[member(i)],
            storeId: 'bench-store',
            channel: 'offline',
            items: [
              { productId: 'americano', quantity: 2, unitPrice: 4_500 },
              { productId: 'cake', quantity: 1, unitPrice: 6_500 },
            ],
          });
        const routes = [
          {
            route: 'GET /v1/me/coupons/downloadable?limit=20',
            path: '/v1/me/coupons/downloadable?limit=20',
            headers: (i: number) => ({ authorization: `Bearer ${setup.keys.app}`, 'x-member-token': setup.tokens[member(i)]! }),
          },
          {
            route: 'POST /v1/checkout/quote',
            path: '/v1/checkout/quote',
            method: 'POST',
            body: basket,
            headers: () => ({ authorization: `Bearer ${setup.keys.pos}` }),
          },
          {
            route: 'GET /v1/coupons/definitions?limit=20',
            path: '/v1/coupons/definitions?limit=20',
            headers: () => ({ authorization: `Bearer ${setup.keys.server}` }),
          },
        ];
        for (const clients of [1, 16]) {
          for (const r of routes) {
            const result = await runLoad({
              url: `${moa.base}${r.path}`,
              method: r.method ?? 'GET',
              headers: r.headers,
              ...(r.body ? { body: r.body } : {}),
              clients,
              durationMs,
            });
            print({
              engine,
              definitions: count,
              coupons_per_member: HELD,
              route: r.route,
              clients,
              req_per_s: result.req_per_s,
              p50_ms: result.p50_ms,
              p99_ms: result.p99_ms,
              errors: result.errors,
            });
          }
        }
      } finally {
        await moa.stop();
      }
    } finally {
      await where.cleanup();
    }
  }
}
