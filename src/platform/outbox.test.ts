import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { type AddressInfo, connect, createServer } from 'node:net';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import pino from 'pino';
import { newTenant, testDeps } from '../../test/helpers.ts';
import { createDatabase, withTransaction } from './db.ts';
import { createLogger } from './logger.ts';
import { createOutboxWorker, enqueueOutbox, type OutboxMessage } from './outbox.ts';

// Every test uses its own topic: other test processes share the database and their rows may be
// claimed by these workers too, but only rows of this topic reach these handlers.
const topic = () => `test.${randomBytes(6).toString('hex')}`;
const log = createLogger('silent');

async function drain(worker: ReturnType<typeof createOutboxWorker>, rounds = 50) {
  for (let i = 0; i < rounds; i++) if ((await worker.runOnce()) === 0) return;
}

test('a row is delivered only if its transaction commits, and then exactly once', async () => {
  const deps = await testDeps();
  const { tenant } = await newTenant(deps);
  const t = topic();
  const seen: OutboxMessage[] = [];
  const worker = createOutboxWorker({ db: deps.db, log });
  worker.register(t, 'collect', async (m) => void seen.push(m));

  await assert.rejects(
    withTransaction(deps.db, async (trx) => {
      await enqueueOutbox(trx, tenant.id, { topic: t, payload: { n: 1 } });
      throw new Error('roll back');
    }),
  );
  await withTransaction(deps.db, (trx) => enqueueOutbox(trx, tenant.id, { topic: t, payload: { n: 2 } }));
  await drain(worker);
  await drain(worker);

  assert.equal(seen.length, 1);
  assert.deepEqual(seen[0]!.payload, { n: 2 });
  assert.equal(seen[0]!.tenantId, tenant.id);
  const row = await deps.db
    .selectFrom('outbox')
    .selectAll()
    .where('tenant_id', '=', tenant.id)
    .where('topic', '=', t)
    .executeTakeFirstOrThrow();
  assert.equal(row.status, 'delivered');
  assert.ok(row.delivered_at);
});

test('a failing handler is retried with backoff, then dead-lettered; handlers that succeeded are not re-run', async () => {
  const deps = await testDeps();
  const { tenant } = await newTenant(deps);
  const t = topic();
  let good = 0;
  let bad = 0;
  const worker = createOutboxWorker({ db: deps.db, log }, { maxAttempts: 3, backoffBaseMs: 1, backoffMaxMs: 5 });
  worker.register(t, 'good', async () => void good++);
  worker.register(t, 'bad', async () => {
    bad++;
    throw new Error('provider down');
  });
  await enqueueOutbox(deps.db, tenant.id, { topic: t, payload: {} });

  for (let i = 0; i < 20 && bad < 3; i++) {
    await worker.runOnce();
    await new Promise((r) => setTimeout(r, 10));
  }
  await drain(worker);
  assert.equal(bad, 3, 'tried maxAttempts times');
  assert.equal(good, 1, 'the handler that succeeded ran once');
  const row = await deps.db
    .selectFrom('outbox')
    .selectAll()
    .where('tenant_id', '=', tenant.id)
    .where('topic', '=', t)
    .executeTakeFirstOrThrow();
  assert.equal(row.status, 'dead');
  assert.equal(row.attempts, 3);
  assert.deepEqual(row.handlers_done, ['good']);
  assert.match(row.last_error ?? '', /bad: provider down/);
});

test('a handler that recovers delivers on a later attempt', async () => {
  const deps = await testDeps();
  const { tenant } = await newTenant(deps);
  const t = topic();
  let calls = 0;
  const worker = createOutboxWorker({ db: deps.db, log }, { backoffBaseMs: 1, backoffMaxMs: 5 });
  worker.register(t, 'flaky', async () => {
    if (++calls < 3) throw new Error('timeout');
  });
  await enqueueOutbox(deps.db, tenant.id, { topic: t, payload: {} });
  for (let i = 0; i < 20 && calls < 3; i++) {
    await worker.runOnce();
    await new Promise((r) => setTimeout(r, 10));
  }
  const row = await deps.db
    .selectFrom('outbox')
    .selectAll()
    .where('tenant_id', '=', tenant.id)
    .where('topic', '=', t)
    .executeTakeFirstOrThrow();
  assert.equal(row.status, 'delivered');
  assert.equal(row.attempts, 3);
  assert.equal(row.last_error, null);
});

test('several workers at once deliver every row exactly once', async () => {
  const deps = await testDeps();
  const { tenant } = await newTenant(deps);
  const t = topic();
  const deliveries = new Map<number, number>();
  const workers = Array.from({ length: 4 }, () => {
    const w = createOutboxWorker({ db: deps.db, log }, { batchSize: 7 });
    w.register(t, 'count', async (m) => {
      deliveries.set(m.id, (deliveries.get(m.id) ?? 0) + 1);
      await new Promise((r) => setTimeout(r, 1));
    });
    return w;
  });
  await withTransaction(deps.db, async (trx) => {
    for (let i = 0; i < 200; i++) await enqueueOutbox(trx, tenant.id, { topic: t, payload: { i } });
  });
  await Promise.all(workers.map((w) => drain(w, 100)));
  assert.equal(deliveries.size, 200);
  assert.ok(
    [...deliveries.values()].every((n) => n === 1),
    'no row delivered twice',
  );
});

test('the running worker picks up new rows by itself and stops cleanly', async () => {
  const deps = await testDeps();
  const { tenant } = await newTenant(deps);
  const t = topic();
  const worker = createOutboxWorker({ db: deps.db, log }, { pollIntervalMs: 20 });
  let resolve!: (m: OutboxMessage) => void;
  const delivered = new Promise<OutboxMessage>((r) => (resolve = r));
  worker.register(t, 'once', async (m) => resolve(m));
  worker.start();
  await enqueueOutbox(deps.db, tenant.id, { topic: t, payload: { hello: 'world' } });
  worker.wake();
  const message = await delivered;
  assert.deepEqual(message.payload, { hello: 'world' });
  await worker.stop();
});

test('while the database is unreachable the running worker backs off instead of spinning, and delivers once it is back', {
  skip: process.env.MOA_TEST_DB_URL
    ? false
    : 'PostgreSQL only (TEST_DATABASE_URL): the database is cut off at a TCP gate in front of it',
}, async () => {
  const deps = await testDeps();
  const { tenant } = await newTenant(deps);
  const t = topic();
  await withTransaction(deps.db, (trx) => enqueueOutbox(trx, tenant.id, { topic: t, payload: { n: 1 } }));

  // A gate on a free port that forwards to the test server once opened; closed, it refuses.
  const server = new URL(process.env.MOA_TEST_DB_URL!);
  const gate = createServer((socket) => {
    const upstream = connect(Number(server.port || 5432), server.hostname);
    socket.pipe(upstream).pipe(socket);
    socket.on('error', () => upstream.destroy());
    upstream.on('error', () => socket.destroy());
  });
  await new Promise<void>((r) => gate.listen(0, '127.0.0.1', r));
  const port = (gate.address() as AddressInfo).port;
  await new Promise((r) => gate.close(r));
  const url = new URL(server);
  url.port = String(port);
  const database = await createDatabase({
    databaseUrl: url.toString(),
    poolSize: 2,
    connectTimeoutMs: 1_000,
    unscoped: 'system',
  });

  const failures: { failures: number; retryInMs: number }[] = [];
  const capture = new Writable({
    write(line, _enc, done) {
      const entry = JSON.parse(String(line));
      if (entry.msg === 'outbox poll failed') failures.push({ failures: entry.failures, retryInMs: entry.retryInMs });
      done();
    },
  });
  const seen: OutboxMessage[] = [];
  const worker = createOutboxWorker({ db: database.db, log: pino({ level: 'error' }, capture) }, { pollIntervalMs: 10 });
  worker.register(t, 'collect', async (m) => void seen.push(m));
  worker.start();
  while (failures.length < 4) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(failures.slice(0, 4), [
    { failures: 1, retryInMs: 20 },
    { failures: 2, retryInMs: 40 },
    { failures: 3, retryInMs: 80 },
    { failures: 4, retryInMs: 160 },
  ]);
  assert.equal(seen.length, 0);

  await new Promise<void>((r) => gate.listen(port, '127.0.0.1', r));
  worker.wake();
  while (seen.length === 0) await new Promise((r) => setTimeout(r, 10));
  await worker.stop();
  await database.close();
  await new Promise((r) => gate.close(r));
  assert.deepEqual(
    seen.map((m) => m.payload),
    [{ n: 1 }],
  );
});
