// npm run bench:ledger — postings per second through the ledger, the product's path (group commit)
// against a naive one-transaction-per-posting baseline (single), in the same run.
//
//   engines    pglite (file-backed, temporary folder); postgres when DATABASE_URL or TEST_DATABASE_URL
//              is set (a scratch database is created on that server and dropped afterwards)
//   workloads  uniform: random pairs among 10,000 member wallets
//              hot:     the tenant's issuance account → a random member (the earn pattern)
//              spend:   a random member → the tenant's revenue account, with balance checks
//              mixed:   earn, spend and two-leg checkouts (spend points + earn stamps) together
//   modes      group (post: gathered into batches) and single (postInTransaction, one each)
//   clients    1, 16, 256 concurrent submitters (BENCH_CLIENTS)
//
// Prints one JSON line per result and checks after each run that every ledger sums to zero.
// BENCH_SECONDS (default 5) per run, BENCH_ENGINES, BENCH_WORKLOADS, BENCH_MODES to narrow it.
// BENCH_RLS (default off,on): without row-level security (as the owner) and with it (posts under the
// tenant as moa_app, batches as moa_system), each on its own fresh database, one line each.

import { loadConfig } from '../src/config.ts';
import {
  drainLedger,
  openAccount,
  type PostResult,
  type PostTransaction,
  post,
  postInTransaction,
  rollupDeferred,
  systemAccount,
  trialBalance,
} from '../src/modules/ledger/index.ts';
import { createTenant } from '../src/modules/tenants/index.ts';
import { type Database, withTransaction } from '../src/platform/db.ts';
import { asSystem, withTenant } from '../src/platform/db-context.ts';
import { benchEngines, benchRls, openBenchDatabase } from './engines.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CLIENTS = (process.env.BENCH_CLIENTS ?? '1,16,256').split(',').map(Number);
const WORKLOADS = (process.env.BENCH_WORKLOADS ?? 'uniform,hot,spend,mixed').split(',');
const MODES = (process.env.BENCH_MODES ?? 'group,single').split(',') as ('group' | 'single')[];
const MEMBERS = 10_000;

const print = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);
const pick = <T>(xs: T[]): T => xs[Math.floor(Math.random() * xs.length)]!;

function brn(): string {
  const w = [1, 3, 7, 1, 3, 7, 1, 3, 5];
  const d = [2 + Math.floor(Math.random() * 7), ...Array.from({ length: 8 }, () => 1 + Math.floor(Math.random() * 9))];
  const s = d.reduce((a, v, i) => a + v * w[i]!, 0) + Math.floor((d[8]! * 5) / 10);
  return [...d, (10 - (s % 10)) % 10].join('');
}

async function prepare(database: Database) {
  const deps = { db: database.db, config: loadConfig({}) };
  const tenant = await createTenant(deps, { name: 'Bench Brand', businessRegistrationNumber: brn(), locale: 'ko-KR' });
  const t = tenant.id;
  const issuance = await systemAccount(deps, t, 'POINT', 'issuance');
  const revenue = await systemAccount(deps, t, 'POINT', 'revenue');
  const stampIssuance = await systemAccount(deps, t, 'STAMP:card_1', 'issuance');
  const members: string[] = [];
  const stamps: string[] = [];
  for (let i = 0; i < MEMBERS; i += 500) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(500, MEMBERS - i) }, (_, k) =>
        openAccount(deps, t, {
          ledger: 'POINT',
          ownerType: 'member',
          ownerId: `m${i + k}`,
          kind: 'wallet',
          debitsMustNotExceedCredits: true,
        }),
      ),
    );
    members.push(...batch.map((a) => a.id));
  }
  for (let i = 0; i < 1000; i++) {
    stamps.push(
      (await openAccount(deps, t, { ledger: 'STAMP:card_1', ownerType: 'member', ownerId: `m${i}`, kind: 'wallet' })).id,
    );
  }
  // Opening balances so that spending has something to spend.
  await Promise.all(
    members.map((m, i) =>
      post(deps, {
        tenantId: t,
        id: `open-${i}`,
        code: 'OPENING',
        legs: [{ debit: issuance.id, credit: m, amount: 1_000_000, ledger: 'POINT' }],
      }),
    ),
  );
  await rollupDeferred(deps);
  // Fresh tables: give the planner real statistics, as autovacuum would in a running system.
  await database.analyze();
  return { deps, t, issuance: issuance.id, revenue: revenue.id, stampIssuance: stampIssuance.id, members, stamps };
}

type Setup = Awaited<ReturnType<typeof prepare>>;

function makeTx(s: Setup, workload: string, id: string): PostTransaction {
  const leg = (debit: string, credit: string, amount: number, ledger = 'POINT') => ({ debit, credit, amount, ledger });
  switch (workload === 'mixed' ? pick(['hot', 'spend', 'checkout']) : workload) {
    case 'uniform': {
      const a = pick(s.members);
      let b = pick(s.members);
      while (b === a) b = pick(s.members);
      return { tenantId: s.t, id, code: 'GIFT', legs: [leg(a, b, 1 + Math.floor(Math.random() * 10))] };
    }
    case 'hot':
      return { tenantId: s.t, id, code: 'EARN', legs: [leg(s.issuance, pick(s.members), 1 + Math.floor(Math.random() * 100))] };
    case 'spend':
      return { tenantId: s.t, id, code: 'USE', legs: [leg(pick(s.members), s.revenue, 1 + Math.floor(Math.random() * 100))] };
    default: {
      const i = Math.floor(Math.random() * s.stamps.length);
      return {
        tenantId: s.t,
        id,
        code: 'CHECKOUT',
        legs: [
          leg(s.members[i]!, s.revenue, 1 + Math.floor(Math.random() * 100)),
          leg(s.stampIssuance, s.stamps[i]!, 1, 'STAMP:card_1'),
        ],
      };
    }
  }
}

async function run(
  s: Setup,
  engine: string,
  rls: string,
  workload: string,
  mode: 'group' | 'single',
  clients: number,
  runId: string,
) {
  const latencies: number[] = [];
  let seq = 0;
  let rejected = 0;
  const started = performance.now();
  const deadline = started + SECONDS * 1000;
  const submit = (tx: PostTransaction): Promise<PostResult> =>
    mode === 'group' ? post(s.deps, tx) : withTransaction(s.deps.db, (trx) => postInTransaction(trx, tx));
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < deadline) {
        const tx = makeTx(s, workload, `${runId}-${seq++}`);
        const t0 = performance.now();
        const result = await submit(tx);
        latencies.push(performance.now() - t0);
        if (result.status === 'rejected') rejected++;
      }
    }),
  );
  await drainLedger(s.deps.db);
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))]! * 100) / 100;
  const balanced = (await trialBalance(s.deps, s.t)).every((l) => l.total === 0);
  print({
    engine,
    rls,
    workload,
    mode,
    clients,
    postings: latencies.length,
    rejected,
    seconds: Math.round(seconds * 100) / 100,
    postings_per_s: Math.round(latencies.length / seconds),
    p50_ms: pct(0.5),
    p99_ms: pct(0.99),
    balanced,
  });
  if (!balanced) throw new Error('the ledger does not balance');
}

for (const engine of benchEngines()) {
  for (const rls of benchRls()) {
    const { database, cleanup } = await openBenchDatabase(engine, 'ledger', 20, rls);
    try {
      // Setting up a brand is the operator's work (moa_system); the postings are a request's.
      const s = await asSystem(() => prepare(database));
      let n = 0;
      for (const workload of WORKLOADS) {
        for (const clients of CLIENTS) {
          for (const mode of MODES) {
            await withTenant(s.t, () => run(s, engine, rls, workload, mode, clients, `${engine}-${n++}`));
            await asSystem(() => rollupDeferred(s.deps));
          }
        }
      }
    } finally {
      await cleanup();
    }
  }
}
