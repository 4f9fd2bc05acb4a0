// npm run bench:checkout — quote and commit over HTTP at rising concurrency, against a bare Fastify
// hello-world measured in the same run on the same machine (the ceiling). A brand with 2,000
// members, a point policy and a stamp card (100 per board); each request is a random member's basket of two lines.
// A commit earns points and stamps (two ledger postings and their rows) under a fresh checkout id.
// Prints one JSON line per engine, route and concurrency, with `of_ceiling`.
//
//   BENCH_ENGINES   pglite and/or postgres (as bench:rush)
//   BENCH_CLIENTS   default 1,16,64      BENCH_SECONDS   default 5      BENCH_MEMBERS   default 2,000
//   BENCH_RLS       default off,on: the server without row-level security (DATABASE_RLS=false, as the
//                   owner) and with it, one after the other on the same brand, one line each
import { randomBytes } from 'node:crypto';
import { benchEngines, benchRls } from './engines.ts';
import { runLoad } from './load.ts';
import { startChild } from './processes.ts';
import { checkoutBasket, checkoutBrand, placeDatabase, startProduct, withDeps } from './product.ts';

const clientCounts = (process.env.BENCH_CLIENTS ?? '1,16,64').split(',').map(Number);
const durationMs = Number(process.env.BENCH_SECONDS ?? 5) * 1000;
const memberCount = Number(process.env.BENCH_MEMBERS ?? 2_000);
const print = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);
const round = (n: number) => Math.round(n * 100) / 100;

const hello = await startChild('bench/hello-server.ts', [], {}, /listening (http:\/\/\S+)/);
try {
  for (const engine of benchEngines()) {
    const where = await placeDatabase(engine, 'checkout');
    try {
      const setup = await withDeps(where.open, (deps) => checkoutBrand(deps, memberCount));
      const run = randomBytes(4).toString('hex');
      const auth = { authorization: `Bearer ${setup.keys.pos}` };
      const basket = (i: number) => checkoutBasket(setup.memberIds[(i * 7919) % setup.memberIds.length]!, 1 + (i % 3));
      for (const rls of benchRls()) {
        const moa = await startProduct({ ...where.env, DATABASE_RLS: rls === 'on' ? 'true' : 'false' });
        try {
          for (const clients of clientCounts) {
            const ceiling = await runLoad({ url: `${hello.base}/hello`, clients, durationMs });
            print({
              engine,
              route: 'GET /hello (bare Fastify, the ceiling)',
              clients,
              req_per_s: ceiling.req_per_s,
              p50_ms: ceiling.p50_ms,
              p99_ms: ceiling.p99_ms,
            });
            for (const [route, body] of [
              ['POST /v1/checkout/quote', (i: number) => JSON.stringify(basket(i))],
              [
                'POST /v1/checkout/commit',
                (i: number) => JSON.stringify({ ...basket(i), checkoutId: `${run}-${rls}-${clients}-${i}` }),
              ],
            ] as const) {
              const r = await runLoad({
                url: `${moa.base}${route.split(' ')[1]}`,
                method: 'POST',
                headers: () => auth,
                body,
                clients,
                durationMs,
              });
              print({
                engine,
                rls,
                route,
                clients,
                req_per_s: r.req_per_s,
                p50_ms: r.p50_ms,
                p99_ms: r.p99_ms,
                errors: r.errors,
                of_ceiling: round(r.req_per_s / ceiling.req_per_s),
              });
            }
          }
        } finally {
          await moa.stop();
        }
      }
      // Every commit that answered 200 is in the books exactly once.
      await withDeps(where.open, async ({ db }) => {
        const n = await db
          .selectFrom('checkout')
          .select(({ fn }) => fn.countAll<number>().as('n'))
          .where('tenant_id', '=', setup.tenantId)
          .executeTakeFirstOrThrow();
        print({ engine, checkouts_committed: Number(n.n) });
      });
    } finally {
      await where.cleanup();
    }
  }
} finally {
  await hello.stop();
}
