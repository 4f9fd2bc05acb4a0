// The process survives its database: `moa serve` on a private PostgreSQL cluster that the test
// creates (initdb + pg_ctl on a free port, in a temporary folder), restarted and stopped under a
// load of real HTTP requests. The shared test server is never touched.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { createDatabase } from '../src/platform/db.ts';
import { bearer, depsOn, newMembers, newTenant } from './helpers.ts';
import { startServer } from './moa-process.ts';
import {
  type Answer,
  assertAcceptable,
  EARN_POLICY,
  earnUnderLoad,
  expectedBalances,
  type SendEarn,
  settle,
} from './outage-load.ts';

const BIN = '/usr/lib/postgresql/15/bin';
const skip = existsSync(join(BIN, 'initdb'))
  ? false
  : `no PostgreSQL 15 binaries in ${BIN} (initdb, pg_ctl) to run a private cluster`;

const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) {
    try {
      await c();
    } catch (err) {
      process.stderr.write(`cleanup failed: ${err}\n`);
    }
  }
});

/** PostgreSQL refuses to run as root: as root the cluster belongs to the postgres OS user. */
const asRoot = process.getuid?.() === 0;
const pgCommand = (tool: string, args: string[]) =>
  asRoot ? (['runuser', ['-u', 'postgres', '--', join(BIN, tool), ...args]] as const) : ([join(BIN, tool), args] as const);
/** Runs a PostgreSQL tool without blocking the event loop (the load goes on meanwhile). */
const pg = async (tool: string, ...args: string[]) => {
  const [cmd, argv] = pgCommand(tool, args);
  await promisify(execFile)(cmd, argv, { encoding: 'utf8' });
};

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

type Cluster = { url: string; restart(): Promise<void>; stop(): Promise<void>; start(): Promise<void> };

async function startCluster(): Promise<Cluster> {
  const dir = mkdtempSync(join(tmpdir(), 'moa-pgcluster-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }));
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }));
    chownSync(dir, uid, gid);
  }
  const data = join(dir, 'data');
  const port = await freePort();
  await pg('initdb', '-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync');
  // A throw-away cluster: no fsync; the socket lives in the temporary folder, TCP on 127.0.0.1 only.
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
  const ctl = (...args: string[]) => pg('pg_ctl', '-D', data, '-l', join(dir, 'log'), '-o', options, '-w', '-t', '60', ...args);
  await ctl('start');
  cleanups.push(() => existsSync(join(data, 'postmaster.pid')) && pg('pg_ctl', '-D', data, '-m', 'immediate', '-w', 'stop'));
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    restart: () => ctl('-m', 'fast', 'restart'),
    stop: () => ctl('-m', 'fast', 'stop'),
    start: () => ctl('start'),
  };
}

const answerOf = async (res: Response): Promise<Answer> => ({
  status: res.status,
  contentType: res.headers.get('content-type') ?? '',
  retryAfter: res.headers.get('retry-after') ?? undefined,
  body: await res.text(),
});

test('moa serve survives a restart and an outage of its PostgreSQL under load: 200 or 503 for every request, /ready follows, balances exact', {
  skip,
  timeout: 600_000,
}, async () => {
  const cluster = await startCluster();
  const masterKey = randomBytes(32);
  const server = await startServer(
    {
      DATABASE_URL: cluster.url,
      MOA_MASTER_KEY: masterKey.toString('hex'),
      MOA_ALLOW_SANDBOX: 'true',
      LOG_LEVEL: 'warn',
    },
    cleanups,
    120_000,
  );
  const alive = () => assert.equal(server.proc.exitCode, null, `moa serve exited:\n${server.output().slice(-5000)}`);
  const ask = async (path: string, init?: RequestInit) => {
    try {
      return await answerOf(await fetch(`${server.base}${path}`, init));
    } catch (err) {
      throw new Error(
        `${path}: no answer (${err}); moa serve ${server.proc.exitCode === null ? 'is running' : `exited with ${server.proc.exitCode}`}:\n${server.output().slice(-5000)}`,
      );
    }
  };

  // The data, written directly (the server migrated the database at start).
  const database = await createDatabase({ databaseUrl: cluster.url, poolSize: 2, unscoped: 'system' });
  cleanups.push(() => database.close());
  const deps = depsOn(database.db, database.engine, { masterKey });
  const t = await newTenant(deps, 'Restart Brand');
  const members = await newMembers(deps, t.tenant.id, 6);
  await database.close();
  const json = { ...bearer(t.key), 'content-type': 'application/json' };
  const policy = await ask('/v1/points/policy', {
    method: 'POST',
    headers: { ...json, 'idempotency-key': 'policy' },
    body: JSON.stringify(EARN_POLICY),
  });
  assert.equal(policy.status, 201, policy.body);

  const send: SendEarn = (r) =>
    ask('/v1/points/earn', {
      method: 'POST',
      headers: { ...json, 'idempotency-key': r.key },
      body: JSON.stringify({ memberId: r.memberId, orderId: r.orderId, paidAmount: r.paidAmount, channel: 'app' }),
    });

  // 1. Two fast restarts in the middle of the load.
  let restarts = 0;
  const load = await earnUnderLoad(send, members, {
    total: 200,
    concurrency: 10,
    tag: 'restart',
    afterAnswer: async (n) => {
      if (n === 50 || n === 130) {
        await cluster.restart();
        restarts++;
      }
    },
  });
  assert.equal(restarts, 2);
  alive();

  // 2. An outage: the database stopped, the server answers 503 and is not ready; started again, it
  //    serves again without a restart of its own.
  await cluster.stop();
  const down = await ask('/ready');
  assertAcceptable(down, '/ready while the database is down');
  assert.equal(down.status, 503);
  const during = await earnUnderLoad(send, members, { total: 20, concurrency: 5, tag: 'down' });
  assert.equal(during.counts[503], 20, JSON.stringify(during.counts));
  assert.equal((await ask('/health')).status, 200, 'the process is alive');
  await cluster.start();
  let ready = await ask('/ready');
  for (let tries = 0; ready.status !== 200 && tries < 100; tries++) {
    await new Promise((r) => setTimeout(r, 100));
    ready = await ask('/ready');
  }
  assert.equal(ready.status, 200, ready.body);

  // 3. Every request retried with its own key until acknowledged; the balances are what they imply.
  const retried = (await settle(send, load)) + (await settle(send, during));
  process.stdout.write(`${JSON.stringify({ restarts, firstAnswers: load.counts, whileDown: during.counts, retried })}\n`);
  const expected = expectedBalances(load);
  for (const [memberId, points] of expectedBalances(during)) expected.set(memberId, (expected.get(memberId) ?? 0) + points);
  for (const [memberId, points] of expected) {
    const res = await ask(`/v1/members/${memberId}/points`, { headers: bearer(t.key) });
    assert.equal(res.status, 200, res.body);
    assert.equal(JSON.parse(res.body).balance, points, `member ${memberId}`);
  }
  alive();
});
