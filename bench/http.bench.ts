// npm run bench:http — the HTTP platform's cost: an authenticated read (GET /v1/tenant: key check +
// one query) and an idempotent write (PATCH /v1/tenant with a fresh Idempotency-Key: advisory lock,
// update, outbox row, idempotency record, one transaction), against a bare Fastify hello-world
// measured in the same run on the same machine. Prints one JSON line per result.
//
//   embedded PGlite (a temporary data folder)     always
//   PostgreSQL                                     when BENCH_DATABASE_URL is set (a database it may write to)
//
// BENCH_SECONDS (default 5) per measurement; BENCH_CLIENTS (default 1,16,64).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLoad } from './load.ts';
import { startChild } from './processes.ts';

const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const clientCounts = (process.env.BENCH_CLIENTS ?? '1,16,64').split(',').map(Number);
const token = randomBytes(24).toString('hex');

function brn(): string {
  const w = [1, 3, 7, 1, 3, 7, 1, 3, 5];
  const d = [2 + Math.floor(Math.random() * 7), ...Array.from({ length: 8 }, () => 1 + Math.floor(Math.random() * 9))];
  const s = d.reduce((a, v, i) => a + v * w[i]!, 0) + Math.floor((d[8]! * 5) / 10);
  return [...d, (10 - (s % 10)) % 10].join('');
}

async function tenantKey(base: string): Promise<string> {
  const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const tenant = (await (
    await fetch(`${base}/platform/v1/tenants`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ name: 'Bench Brand', businessRegistrationNumber: brn() }),
    })
  ).json()) as { id: string };
  const key = (await (
    await fetch(`${base}/platform/v1/tenants/${tenant.id}/api-keys`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ name: 'bench', scope: 'server' }),
    })
  ).json()) as { key: string };
  return key.key;
}

const print = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);

const hello = await startChild('bench/hello-server.ts', [], {}, /listening (http:\/\/\S+)/);
const engines: { engine: string; env: Record<string, string>; cleanup?: () => void }[] = [];
const dataDir = mkdtempSync(join(tmpdir(), 'moa-bench-'));
engines.push({ engine: 'pglite', env: { DATA_DIR: dataDir }, cleanup: () => rmSync(dataDir, { recursive: true, force: true }) });
if (process.env.BENCH_DATABASE_URL) {
  engines.push({
    engine: 'postgres',
    env: {
      DATABASE_URL: process.env.BENCH_DATABASE_URL,
      MOA_ALLOW_SANDBOX: 'true',
      MOA_MASTER_KEY: randomBytes(32).toString('base64'),
    },
  });
}

try {
  for (const { engine, env, cleanup } of engines) {
    const moa = await startChild(
      'src/main.ts',
      ['serve'],
      { ...env, PORT: '0', LOG_LEVEL: 'warn', SEED_DEMO: 'false', MOA_PLATFORM_TOKEN: token, JOBS_ENABLED: 'true' },
      /Health\s+(http:\/\/\S+)\/health/,
    );
    try {
      const key = await tenantKey(moa.base);
      const auth = { authorization: `Bearer ${key}` };
      const run = randomBytes(4).toString('hex');
      for (const clients of clientCounts) {
        const durationMs = seconds * 1000;
        const base = await runLoad({ url: `${hello.base}/hello`, clients, durationMs });
        print({ engine, route: 'GET /hello (bare Fastify, the ceiling)', clients, ...base });
        const read = await runLoad({ url: `${moa.base}/v1/tenant`, headers: () => auth, clients, durationMs });
        print({
          engine,
          route: 'GET /v1/tenant',
          clients,
          ...read,
          of_ceiling: Math.round((read.req_per_s / base.req_per_s) * 100) / 100,
        });
        const write = await runLoad({
          url: `${moa.base}/v1/tenant`,
          method: 'PATCH',
          headers: (i) => ({ ...auth, 'idempotency-key': `${run}-${clients}-${i}` }),
          body: (i) => JSON.stringify({ name: `Bench Brand ${i % 100}` }),
          clients,
          durationMs,
        });
        print({
          engine,
          route: 'PATCH /v1/tenant (idempotent write)',
          clients,
          ...write,
          of_ceiling: Math.round((write.req_per_s / base.req_per_s) * 100) / 100,
        });
      }
    } finally {
      await moa.stop();
      cleanup?.();
    }
  }
} finally {
  await hello.stop();
}
