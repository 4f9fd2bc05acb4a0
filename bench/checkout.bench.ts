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
//   BENCH_WEBHOOKS  unset: no webhooks, jobs off (as before). A comma list of endpoint counts (0,3):
//                   the server runs its jobs (outbox and webhook delivery) and, for each count, that
//                   many endpoints subscribed to every event post to a local receiver; one line each,
//                   with `webhooks` and the deliveries the receiver got during the run
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { benchEngines, benchRls } from './engines.ts';
import { runLoad } from './load.ts';
import { startChild } from './processes.ts';
import { checkoutBasket, checkoutBrand, placeDatabase, startProduct, withDeps } from './product.ts';

const clientCounts = (process.env.BENCH_CLIENTS ?? '1,16,64').split(',').map(Number);
const durationMs = Number(process.env.BENCH_SECONDS ?? 5) * 1000;
const memberCount = Number(process.env.BENCH_MEMBERS ?? 2_000);
const print = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);
const round = (n: number) => Math.round(n * 100) / 100;
const webhookCounts = process.env.BENCH_WEBHOOKS?.split(',').map(Number);

// The receiver of BENCH_WEBHOOKS runs: answers 204 and counts.
let received = 0;
const receiver = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    received++;
    res.writeHead(204).end();
  });
});
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

/** Replaces the brand's endpoints with `n` new ones (through the API, as a brand's server would). */
async function setEndpoints(base: string, serverKey: string, n: number): Promise<void> {
  const headers = { authorization: `Bearer ${serverKey}`, 'content-type': 'application/json' };
  const list = (await (await fetch(`${base}/v1/webhooks/endpoints`, { headers })).json()) as { items: { id: string }[] };
  for (const e of list.items) await fetch(`${base}/v1/webhooks/endpoints/${e.id}`, { method: 'DELETE', headers });
  for (let i = 0; i < n; i++) {
    const res = await fetch(`${base}/v1/webhooks/endpoints`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ url: `${receiverUrl}/hook${i}`, description: 'bench' }),
    });
    if (res.status !== 201) throw new Error(`endpoint: ${res.status} ${await res.text()}`);
  }
}

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
        const moa = await startProduct({
          ...where.env,
          DATABASE_RLS: rls === 'on' ? 'true' : 'false',
          ...(webhookCounts ? { JOBS_ENABLED: 'true', MOA_WEBHOOK_ALLOW_PRIVATE: 'true' } : {}),
        });
        try {
          for (const webhooks of webhookCounts ?? [undefined]) {
            if (webhooks !== undefined) await setEndpoints(moa.base, setup.keys.server, webhooks);
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
                  (i: number) => JSON.stringify({ ...basket(i), checkoutId: `${run}-${rls}-${webhooks ?? 'x'}-${clients}-${i}` }),
                ],
              ] as const) {
                const before = received;
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
                  ...(webhooks !== undefined ? { webhooks, webhook_deliveries: received - before } : {}),
                });
              }
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
  receiver.close();
}
