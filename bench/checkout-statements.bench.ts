// npm run bench:checkout-statements — how many SQL statements a checkout quote and commit send, the
// number that bounds their speed (each is a round trip). The brand and basket of bench:checkout,
// counted in-process by a Kysely plugin. Prints one JSON line per operation, with the statements
// in order.
//
//   BENCH_ENGINES (as bench:rush; the counts do not depend on the engine)
import type { OperationNode } from 'kysely';
import { commit, quote } from '../src/modules/checkout/index.ts';
import { benchEngines } from './engines.ts';
import { checkoutBasket, checkoutBrand, placeDatabase, withDeps } from './product.ts';

const print = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);

/** "insert checkout", "select member", "call ledger_post(…)": what a statement does to which table. */
function describe(node: OperationNode): string {
  const n = node as unknown as {
    kind: string;
    from?: { froms: { table: { identifier: { name: string } } }[] };
    into?: { table: { identifier: { name: string } } };
    table?: { table: { identifier: { name: string } } };
    sqlFragments?: string[];
  };
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
      const brand = await checkoutBrand(plain, 3);
      let seen: string[] = [];
      const deps = {
        ...plain,
        db: plain.db.withPlugin({
          transformQuery: (a) => (seen.push(describe(a.node)), a.node),
          transformResult: async (a) => a.result,
        }),
      };
      const basket = (member: number) => checkoutBasket(brand.memberIds[member]!);
      const count = async (operation: string, run: () => Promise<unknown>) => {
        seen = [];
        await run();
        print({ engine, operation, statements: seen.length, sequence: seen });
      };
      await count('quote', () => quote(deps, brand.tenantId, basket(0)));
      await count("commit (the brand's and the member's first: opens the accounts)", () =>
        commit(deps, brand.tenantId, { ...basket(0), checkoutId: 'first', couponIds: [], points: 0 }),
      );
      await count('commit (a member who has bought before)', () =>
        commit(deps, brand.tenantId, { ...basket(0), checkoutId: 'again', couponIds: [], points: 0 }),
      );
    });
  } finally {
    await where.cleanup();
  }
}
