import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from './config.ts';

test('config: defaults for an empty environment (embedded PGlite in ./data, Asia/Seoul)', () => {
  const config = loadConfig({});
  assert.equal(config.port, 3000);
  assert.equal(config.host, '127.0.0.1');
  assert.equal(config.databaseUrl, undefined);
  assert.equal(config.dataDir, './data');
  assert.equal(config.defaultTimeZone, 'Asia/Seoul');
  assert.equal(config.idempotencyTtlHours, 24);
  assert.equal(config.dbConnectTimeoutMs, 5_000);
  assert.equal(config.masterKey, undefined);
  assert.ok(Object.isFrozen(config));
});

test('config: a wrong value stops start-up with a message naming the variable', () => {
  const cases: [Record<string, string>, string][] = [
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ DEFAULT_TIME_ZONE: 'Seoul' }, 'DEFAULT_TIME_ZONE'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ MOA_MASTER_KEY: 'short' }, 'MOA_MASTER_KEY'],
    [{ MOA_PLATFORM_TOKEN: 'short' }, 'MOA_PLATFORM_TOKEN'],
    [{ IDEMPOTENCY_TTL_HOURS: '1' }, 'IDEMPOTENCY_TTL_HOURS'],
    [{ JOBS_ENABLED: 'maybe' }, 'JOBS_ENABLED'],
    [{ DB_CONNECT_TIMEOUT_MS: '10' }, 'DB_CONNECT_TIMEOUT_MS'],
  ];
  for (const [env, name] of cases) {
    assert.throws(
      () => loadConfig(env),
      (err: unknown) => err instanceof ConfigError && err.message.includes(name),
      `${JSON.stringify(env)} should be rejected naming ${name}`,
    );
  }
});

test('config: values are parsed and typed; empty strings count as unset', () => {
  const key = 'ab'.repeat(32);
  const config = loadConfig({
    PORT: '8080',
    DATABASE_URL: 'postgres://u@h:5432/moa',
    MOA_MASTER_KEY: key,
    JOBS_ENABLED: 'false',
    HOST: '',
  });
  assert.equal(config.port, 8080);
  assert.equal(config.databaseUrl, 'postgres://u@h:5432/moa');
  assert.deepEqual(config.masterKey, Buffer.from(key, 'hex'));
  assert.equal(config.jobsEnabled, false);
  assert.equal(config.host, '127.0.0.1');
  assert.equal(loadConfig({ MOA_MASTER_KEY: Buffer.alloc(32, 7).toString('base64') }).masterKey?.length, 32);
});
