// The process survives its database: its connections are cut (pg_terminate_backend) under a load
// of real HTTP requests (PostgreSQL only; the test works on a database of its own, created on the
// test server, so the connections it cuts are never another test file's or another agent's), and
// a database that refuses or never answers gets 503s, not a hang (both engines).
import assert from 'node:assert/strict';
import { type AddressInfo, createServer } from 'node:net';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { buildApp } from '../src/app.ts';
import { getAccount, openAccount, post, systemAccount } from '../src/modules/ledger/index.ts';
import { createDatabase, type Database } from '../src/platform/db.ts';
import type { Deps } from '../src/platform/deps.ts';
import { fromDatabaseError } from '../src/platform/errors.ts';
import { migrate } from '../src/platform/migrate.ts';
import { bearer, depsOn, newMembers, newTenant, type TestTenant, testDeps } from './helpers.ts';
import { assertAcceptable, EARN_POLICY, earnUnderLoad, expectedBalances, type SendEarn, settle } from './outage-load.ts';
import { createScratchDatabase, type ScratchDatabase } from './scratch-database.ts';

const serverUrl = process.env.MOA_TEST_DB_URL;
const skip = serverUrl ? false : 'PostgreSQL only (TEST_DATABASE_URL): PGlite runs in the process and has no connections to cut';

let scratch: ScratchDatabase;
let database: Database;
let deps: Deps;
let app: FastifyInstance;
let killer: pg.Client;
let t: TestTenant;
let members: string[];

before(async () => {
  if (skip) return;
  scratch = await createScratchDatabase(serverUrl!, 'moa_outage');
  database = await createDatabase({ databaseUrl: scratch.url, poolSize: 8, unscoped: 'system' });
  await migrate(database);
  deps = depsOn(database.db, database.engine);
  app = await buildApp(deps, { engine: database.engine });
  killer = new pg.Client({ connectionString: serverUrl });
  await killer.connect();
  t = await newTenant(deps, 'Outage Brand');
  const policy = await app.inject({
    method: 'POST',
    url: '/v1/points/policy',
    headers: { ...bearer(t.key), 'idempotency-key': 'policy' },
    payload: EARN_POLICY,
  });
  assert.equal(policy.statusCode, 201, policy.body);
  members = await newMembers(deps, t.tenant.id, 6);
});

after(async () => {
  if (skip) return;
  await app?.close();
  await database?.close();
  await killer?.end();
  await scratch?.drop();
});

/** Cuts every connection to the test's own database (and only to it); how many were cut. */
async function cutConnections(): Promise<number> {
  const { rows } = await killer.query<{ n: number }>(
    `select count(*)::int as n from (
       select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()
     ) cut`,
    [scratch.name],
  );
  return rows[0]!.n;
}

const send: SendEarn = async (r) => {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/points/earn',
    headers: { ...bearer(t.key), 'idempotency-key': r.key },
    payload: { memberId: r.memberId, orderId: r.orderId, paidAmount: r.paidAmount, channel: 'app' },
  });
  const retryAfter = res.headers['retry-after'];
  return {
    status: res.statusCode,
    contentType: String(res.headers['content-type']),
    retryAfter: retryAfter === undefined ? undefined : String(retryAfter),
    body: res.body,
  };
};

test('connections cut mid-transaction under load: every request answers 200 or 503, nothing lost or doubled', {
  skip,
  timeout: 240_000,
}, async () => {
  let cut = 0;
  const load = await earnUnderLoad(send, members, {
    total: 240,
    concurrency: 12,
    tag: 'cut',
    // Five cuts spread over the load, each while about a dozen requests are in flight.
    afterAnswer: async (n) => {
      if (n % 40 === 20 && n < 220) cut += await cutConnections();
    },
  });
  assert.ok(cut > 0, 'connections were cut');
  const retried = await settle(send, load);
  process.stdout.write(`${JSON.stringify({ cut, firstAnswers: load.counts, retried })}\n`);

  for (const [memberId, points] of expectedBalances(load)) {
    const res = await app.inject({ url: `/v1/members/${memberId}/points`, headers: bearer(t.key) });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().balance, points, `member ${memberId}`);
  }
  const ready = await app.inject({ url: '/ready' });
  assert.equal(ready.statusCode, 200, ready.body);
});

test('the ledger group committer fails the callers of a batch whose connection died, and a retry posts once', {
  skip,
  timeout: 240_000,
}, async () => {
  const tenantId = t.tenant.id;
  const issuance = await systemAccount(deps, tenantId, 'POINT', 'issuance');
  const wallet = await openAccount(deps, tenantId, {
    ledger: 'POINT',
    ownerType: 'member',
    ownerId: 'committer',
    kind: 'wallet',
    debitsMustNotExceedCredits: true,
  });
  const total = 200;
  let failed = 0;
  let cut = 0;
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const i = next++;
      if (i % 40 === 20) cut += await cutConnections();
      for (let tries = 0; ; tries++) {
        try {
          const r = await post(deps, {
            tenantId,
            id: `cm-${i}`,
            code: 'EARN',
            legs: [{ debit: issuance.id, credit: wallet.id, amount: 10, ledger: 'POINT' }],
          });
          assert.equal(r.status, 'posted', JSON.stringify(r));
          break;
        } catch (err) {
          failed++;
          assert.equal(fromDatabaseError(err)?.code, 'SERVICE_UNAVAILABLE', String(err));
          assert.ok(tries < 50, `cm-${i} still failing: ${err}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    }
  };
  await Promise.all(Array.from({ length: 20 }, worker));
  process.stdout.write(`${JSON.stringify({ cut, failedPosts: failed })}\n`);
  assert.ok(cut > 0, 'connections were cut');
  assert.equal((await getAccount(deps, tenantId, wallet.id)).balance.posted, total * 10);
});

test('with the database unreachable or not answering, /ready and the API answer 503 problem+json with Retry-After, within the connect timeout', {
  timeout: 60_000,
}, async () => {
  // Refused: nothing listens on the port. Silent: a server that accepts and never answers (a
  // half-dead host), where only the pool's connect timeout ends the wait.
  const silent = createServer(() => {});
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const closedPort = (closed.address() as AddressInfo).port;
  await new Promise((r) => closed.close(r));
  // A well-formed key (made in the suite's database), so that authenticating it needs the database.
  const { key } = await newTenant(await testDeps());
  try {
    for (const port of [closedPort, (silent.address() as AddressInfo).port]) {
      const away = await createDatabase({
        databaseUrl: `postgres://postgres@127.0.0.1:${port}/moa`,
        poolSize: 2,
        connectTimeoutMs: 300,
        unscoped: 'system',
      });
      const awayDeps = depsOn(away.db, away.engine);
      const awayApp = await buildApp(awayDeps, { engine: away.engine });
      try {
        for (const res of [
          await awayApp.inject({ url: '/ready' }),
          await awayApp.inject({ url: '/v1/tenant', headers: bearer(key) }),
        ]) {
          const retryAfter = res.headers['retry-after'];
          assertAcceptable(
            {
              status: res.statusCode,
              contentType: String(res.headers['content-type']),
              retryAfter: retryAfter === undefined ? undefined : String(retryAfter),
              body: res.body,
            },
            `port ${port}`,
          );
          assert.equal(res.statusCode, 503, res.body);
        }
      } finally {
        await awayApp.close();
        await away.close();
      }
    }
  } finally {
    silent.close();
  }
});
