// npm run bench:checkout-statements — how many SQL statements a checkout quote and commit send, the
// number that bounds their speed (each is a round trip). A brand with a point policy and a stamp
// card, as bench:checkout; counted in-process by a Kysely plugin. Prints one JSON line per
// operation, with the statements in order.
//
//   BENCH_ENGINES (as bench:rush; the counts do not depend on the engine)
import type { OperationNode } from 'kysely';
import { commit, quote } from '../src/modules/checkout/index.ts';
import { setPointPolicy, ZPointPolicySettings } from '../src/modules/points/index.ts';
import { createStampCard, ZStampCardRequest } from '../src/modules/stamps/index.ts';
import { benchEngines } from './engines.ts';
import { benchBrand, placeDatabase, withDeps } from './product.ts';

const print = (o: object) => process.stdout.write(JSON.stringify(o) + '\n');

/** "insert checkout", "select member", "call ledger_post(…)": what a statement does to which table. */
function describe(node: OperationNode): string {
  const n = node as unknown as { kind: string; from?: { froms: { table: { identifier: { name: string } } }[] }; into?: { table: { identifier: { name: string } } }; table?: { table: { identifier: { name: string } } }; sqlFragments?: string[] };
  switch (n.kind) {
    case 'SelectQueryNode':
      return `select ${n.from?.froms[0]?.table.identifier.name}`;
    case 'InsertQueryNode':
      return `insert ${n.into?.table.identifier.name}`;
    case 'UpdateQueryNode':
      return `update ${n.table?.table.identifier.name}`;
    default:
      return (n.sqlFragments ?? [n.kind]).join('?').replace(/\s+/g, ' ').trim().slice(0, 40);
  }
}

for (const engine of benchEngines()) {
  const where = await placeDatabase(engine, 'statements');
  try {
    await withDeps(where.open, async (plain) => {
      const brand = await benchBrand(plain, 3);
      await setPointPolicy(plain, brand.tenantId, { settings: ZPointPolicySettings.parse({ baseRateBp: 100 }) });
      const day = 86_400_000;
      await createStampCard(
        plain,
        brand.tenantId,
        ZStampCardRequest.parse({
          name: '아메리카노 스탬프',
          issueFrom: new Date(Date.now() - day).toISOString(),
          issueUntil: new Date(Date.now() + 365 * day).toISOString(),
          stampsPerBoard: 100,
          reward: { type: 'points', points: 1_000 },
          policy: { basis: 'per_condition_item', conditionProducts: ['americano'] },
        }),
      );
      let seen: string[] = [];
      const deps = { ...plain, db: plain.db.withPlugin({ transformQuery: (a) => (seen.push(describe(a.node)), a.node), transformResult: async (a) => a.result }) };
      const basket = (member: number) => ({
        memberId: brand.memberIds[member]!,
        storeId: 'bench-store',
        channel: 'offline' as const,
        items: [
          { productId: 'americano', quantity: 2, unitPrice: 4_500 },
          { productId: 'cake', quantity: 1, unitPrice: 6_500 },
        ],
        deliveryFee: 0,
        paymentMethods: ['card'],
      });
      const count = async (operation: string, run: () => Promise<unknown>) => {
        seen = [];
        await run();
        print({ engine, operation, statements: seen.length, sequence: seen });
      };
      await count('quote', () => quote(deps, brand.tenantId, basket(0)));
      await count("commit (the brand's and the member's first: opens the accounts)", () => commit(deps, brand.tenantId, { ...basket(0), checkoutId: 'first', couponIds: [], points: 0 }));
      await count('commit (a member who has bought before)', () => commit(deps, brand.tenantId, { ...basket(0), checkoutId: 'again', couponIds: [], points: 0 }));
    });
  } finally {
    await where.cleanup();
  }
}
