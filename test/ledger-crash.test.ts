// Crash safety: a process posting thousands of transactions is killed (SIGKILL) at random moments,
// restarts and replays every id. The books must equal the model exactly: nothing lost, nothing twice.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../src/config.ts';
import { getAccount, openAccount, post, rollupDeferred, systemAccount, trialBalance } from '../src/modules/ledger/index.ts';
import { createTenant } from '../src/modules/tenants/index.ts';
import { createDatabase, type Database } from '../src/platform/db.ts';
import { migrate } from '../src/platform/migrate.ts';
import { randomBrn } from './helpers.ts';
import { type CrashSetup, crashOps } from './ledger-crash.ops.ts';
import { createScratchDatabase } from './scratch-database.ts';

const root = resolve(import.meta.dirname, '..');
const COUNT = 3_000;

function runWorker(config: object, killAfterMs?: number): Promise<{ code: number | null; signal: string | null; out: string }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'test/ledger-crash.worker.ts', JSON.stringify(config)], { cwd: root });
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  if (killAfterMs !== undefined) {
    // Kill once it is posting (not while it is still starting), at a random point in its work.
    const timer = setInterval(() => {
      if (out.includes('progress')) {
        clearInterval(timer);
        setTimeout(() => proc.kill('SIGKILL'), killAfterMs);
      }
    }, 5);
    proc.on('exit', () => clearInterval(timer));
  }
  return new Promise((r) => proc.on('exit', (code, signal) => r({ code, signal, out })));
}

async function prepare(database: Database): Promise<CrashSetup> {
  const deps = { db: database.db, config: loadConfig({}) };
  const tenant = await createTenant(deps, { name: 'Crash', businessRegistrationNumber: randomBrn(), locale: 'ko-KR' });
  const t = tenant.id;
  const issuance = (await systemAccount(deps, t, 'POINT', 'issuance')).id;
  const revenue = (await systemAccount(deps, t, 'POINT', 'revenue')).id;
  const members: string[] = [];
  for (let i = 0; i < 20; i++) {
    const m = await openAccount(deps, t, {
      ledger: 'POINT',
      ownerType: 'member',
      ownerId: `m${i}`,
      kind: 'wallet',
      debitsMustNotExceedCredits: true,
    });
    await post(deps, {
      tenantId: t,
      id: `open-${i}`,
      code: 'OPENING',
      legs: [{ debit: issuance, credit: m.id, amount: 1_000_000, ledger: 'POINT' }],
    });
    members.push(m.id);
  }
  return { tenantId: t, issuance, revenue, members, count: COUNT };
}

async function verify(database: Database, setup: CrashSetup) {
  const deps = { db: database.db };
  const expected = new Map<string, number>([
    [setup.issuance, -1_000_000 * setup.members.length],
    [setup.revenue, 0],
  ]);
  for (const m of setup.members) expected.set(m, 1_000_000);
  for (const tx of crashOps(setup)) {
    for (const l of tx.legs) {
      expected.set(l.debit, expected.get(l.debit)! - l.amount);
      expected.set(l.credit, expected.get(l.credit)! + l.amount);
    }
  }
  await rollupDeferred(deps);
  for (const [id, balance] of expected) assert.equal((await getAccount(deps, setup.tenantId, id)).balance.posted, balance, id);
  const rows = await database.db
    .selectFrom('ledger_transaction')
    .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.count<number>('id').distinct().as('ids')])
    .where('tenant_id', '=', setup.tenantId)
    .where('id', 'like', 'crash-%')
    .executeTakeFirstOrThrow();
  assert.equal(Number(rows.n), COUNT, 'every id once');
  const postings = await database.db
    .selectFrom('ledger_posting')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('tenant_id', '=', setup.tenantId)
    .where('transaction_id', 'like', 'crash-%')
    .executeTakeFirstOrThrow();
  const legs = crashOps(setup).reduce((s, tx) => s + tx.legs.length, 0);
  assert.equal(Number(postings.n), legs * 2, 'no posting lost or doubled');
  assert.ok((await trialBalance(deps, setup.tenantId)).every((l) => l.total === 0));
}

async function crashAndReplay(config: object) {
  let killed = 0;
  for (const delay of [Math.random() * 400, Math.random() * 800, Math.random() * 1200]) {
    const run = await runWorker(config, delay);
    if (run.signal === 'SIGKILL') killed++;
    else assert.equal(run.code, 0, run.out);
  }
  const final = await runWorker(config);
  assert.equal(final.code, 0, final.out);
  assert.match(final.out, /done replayed=\d+/);
  return { killed, replayedInFinal: Number(/done replayed=(\d+)/.exec(final.out)![1]) };
}

test('PGlite (file-backed): killed at random moments, replayed, nothing lost or doubled', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'moa-crash-'));
  try {
    let database = await createDatabase({ dataDir: dir, unscoped: 'system' });
    await migrate(database);
    const setup = await prepare(database);
    await database.close();

    const { killed, replayedInFinal } = await crashAndReplay({ ...setup, dataDir: dir });
    assert.ok(killed >= 1, 'at least one run was killed mid-work');
    assert.ok(replayedInFinal > 0, 'the final run replayed what the killed runs had posted');

    database = await createDatabase({ dataDir: dir, unscoped: 'system' });
    await verify(database, setup);
    await database.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('PostgreSQL: killed at random moments, replayed, nothing lost or doubled', {
  skip: process.env.TEST_DATABASE_URL ? false : 'needs TEST_DATABASE_URL',
}, async () => {
  const scratch = await createScratchDatabase(process.env.TEST_DATABASE_URL!, 'moa_test_crash');
  try {
    const database = await createDatabase({ databaseUrl: scratch.url, unscoped: 'system' });
    await migrate(database);
    const setup = await prepare(database);
    const { killed } = await crashAndReplay({ ...setup, databaseUrl: scratch.url });
    assert.ok(killed >= 1);
    await verify(database, setup);
    await database.close();
  } finally {
    await scratch.drop();
  }
});
