// npm run bench:webhooks — BENCH_EVENTS (default 100,000) public events written through the outbox
// and delivered, signed, to a local HTTP receiver: the product's path (the outbox worker fans each
// event out to the endpoint, the delivery job claims the heads of the member queues and POSTs).
// Events are written in transactions of 100 while the workers run, for BENCH_MEMBERS (1,000)
// members, so per-member ordering holds back part of each batch as it would in production.
//
// Prints one JSON line per engine: events/s from the first write to the last delivery, and the
// commit-to-delivery lag (receiver's arrival minus the event's timestamp) p50/p99; checks every
// event arrived (duplicates, at least once, are counted apart) and each member's in order.
//
//   BENCH_ENGINES   pglite and/or postgres (as bench:ledger)      BENCH_ENDPOINTS   default 1
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../src/config.ts';
import { createTenant } from '../src/modules/tenants/index.ts';
import { createEndpoint, registerWebhookHandlers, runWebhookDeliveries } from '../src/modules/webhooks/index.ts';
import { systemClock } from '../src/platform/clock.ts';
import { withTransaction } from '../src/platform/db.ts';
import { asSystem, withTenant } from '../src/platform/db-context.ts';
import type { Deps } from '../src/platform/deps.ts';
import { enqueueEvent } from '../src/platform/events.ts';
import { createLogger } from '../src/platform/logger.ts';
import { createOutboxWorker } from '../src/platform/outbox.ts';
import { createProviders } from '../src/providers.ts';
import { benchEngines, openBenchDatabase } from './engines.ts';
import { masterKey } from './product.ts';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 100_000);
const MEMBERS = Number(process.env.BENCH_MEMBERS ?? 1_000);
const ENDPOINTS = Number(process.env.BENCH_ENDPOINTS ?? 1);
const TX_SIZE = 100;
const print = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;

// The receiver: records arrival time per webhook-id and each member's order.
const arrivals = new Map<string, number>();
const lags: number[] = [];
const lastOp = new Map<string, number>();
let duplicates = 0;
let outOfOrder = 0;
const receiver = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const now = Date.now();
    const key = `${req.url} ${req.headers['webhook-id']}`;
    if (arrivals.has(key)) duplicates++;
    else {
      arrivals.set(key, now);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        timestamp: string;
        data: { memberId: string; operationId: string };
      };
      lags.push(now - Date.parse(body.timestamp));
      const n = Number(body.data.operationId.split('.').at(-1));
      const member = `${req.url} ${body.data.memberId}`;
      if ((lastOp.get(member) ?? -1) > n) outOfOrder++;
      lastOp.set(member, n);
    }
    res.writeHead(204).end();
  });
});
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

try {
  for (const engine of benchEngines()) {
    arrivals.clear();
    lags.length = 0;
    lastOp.clear();
    duplicates = 0;
    outOfOrder = 0;
    const { database, cleanup } = await openBenchDatabase(engine, 'webhooks');
    try {
      const log = createLogger('silent');
      const config = loadConfig({ LOG_LEVEL: 'silent', MOA_WEBHOOK_ALLOW_PRIVATE: 'true' });
      const outbox = createOutboxWorker({ db: database.db, log }, { batchSize: 200, pollIntervalMs: 20 });
      const deps: Deps = {
        config,
        db: database.db,
        log,
        clock: systemClock,
        outbox,
        masterKey,
        providers: createProviders(config, { db: database.db, masterKey, clock: systemClock }),
      };
      registerWebhookHandlers(deps);
      const tenant = await asSystem(() =>
        createTenant(deps, { name: 'Webhook Bench', businessRegistrationNumber: '2208162517', locale: 'ko-KR' }),
      );
      for (let e = 0; e < ENDPOINTS; e++)
        await withTenant(tenant.id, () =>
          createEndpoint(deps, tenant.id, { url: `${receiverUrl}/hook${e}`, description: 'bench' }),
        );

      outbox.start();
      let delivering = true;
      const deliveries = (async () => {
        while (delivering) {
          const n = await asSystem(() => runWebhookDeliveries(deps, 200));
          if (n === 0) await new Promise((r) => setTimeout(r, 5));
        }
      })();

      const started = performance.now();
      for (let i = 0; i < EVENTS; i += TX_SIZE) {
        await withTenant(tenant.id, () =>
          withTransaction(deps.db, async (trx) => {
            for (let j = i; j < Math.min(EVENTS, i + TX_SIZE); j++)
              await enqueueEvent(trx, tenant.id, {
                topic: 'points.earned',
                payload: {
                  memberId: `mem_${j % MEMBERS}`,
                  operationId: `pt.bench.${j}`,
                  amount: 10,
                  kind: 'earn',
                  expiresAt: null,
                },
              });
          }),
        );
        outbox.wake();
      }
      const written = performance.now();
      const expected = EVENTS * ENDPOINTS;
      const deadline = Date.now() + Math.max(120_000, EVENTS * 10);
      while (arrivals.size < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const finished = performance.now();
      delivering = false;
      await deliveries;
      await outbox.stop();
      lags.sort((a, b) => a - b);
      print({
        engine,
        events: EVENTS,
        endpoints: ENDPOINTS,
        delivered: arrivals.size,
        duplicates,
        out_of_order: outOfOrder,
        write_events_per_s: Math.round(EVENTS / ((written - started) / 1000)),
        events_per_s: Math.round(arrivals.size / ((finished - started) / 1000)),
        lag_p50_ms: pct(lags, 50),
        lag_p99_ms: pct(lags, 99),
        ok: arrivals.size === expected && outOfOrder === 0,
      });
    } finally {
      await cleanup();
    }
  }
} finally {
  receiver.closeAllConnections();
  receiver.close();
}
