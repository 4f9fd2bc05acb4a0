import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { bearer, newTenant, testConfig, testDeps } from '../../test/helpers.ts';
import { buildApp } from '../app.ts';
import { fixedClock } from './clock.ts';
import type { Deps } from './deps.ts';
import { claimAttempt, purgeLimitRows, takeWindow } from './limits.ts';

// The platform's counted limits (platform/limits.ts): one conditional statement per decision, the
// per-API-key request limit with its RateLimit-* headers, the client address, and the purge job.

let deps: Deps;
before(async () => {
  deps = await testDeps();
});

test('a fixed window: 50 parallel takes with a limit of 10 allow exactly 10', async () => {
  const t = await newTenant(deps);
  const now = new Date();
  const rs = await Promise.all(
    Array.from({ length: 50 }, () => takeWindow(deps.db, t.tenant.id, { key: 'k', limit: 10, windowSeconds: 60 }, now)),
  );
  assert.equal(rs.filter((r) => r.allowed).length, 10);
  assert.deepEqual(
    rs
      .filter((r) => r.allowed)
      .map((r) => r.count)
      .sort((a, b) => a - b),
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
  );
});

test('attempts: 50 parallel claims with a maximum of 5 claim exactly 5; a lapsed lock starts again', async () => {
  const t = await newTenant(deps);
  const now = new Date();
  const rule = { max: 5, lockoutMs: 60_000 };
  const rs = await Promise.all(
    Array.from({ length: 50 }, () => claimAttempt(deps.db, t.tenant.id, 'test', 'subject', rule, now)),
  );
  assert.equal(rs.filter((r) => !r.locked).length, 5);
  const locked = rs.find((r) => r.locked);
  assert.ok(locked?.locked && locked.retryAfterSeconds === 60);
  const later = new Date(now.getTime() + 61_000);
  assert.deepEqual(await claimAttempt(deps.db, t.tenant.id, 'test', 'subject', rule, later), { locked: false, claimed: 1 });
});

test('the purge removes ended windows and idle attempts, and keeps locks that still stand', async () => {
  const t = await newTenant(deps);
  const long = new Date(Date.now() - 3 * 86_400_000);
  await takeWindow(deps.db, t.tenant.id, { key: 'old', limit: 5, windowSeconds: 60 }, long);
  await takeWindow(deps.db, t.tenant.id, { key: 'new', limit: 5, windowSeconds: 3600 }, new Date());
  await claimAttempt(deps.db, t.tenant.id, 'test', 'idle', { max: 5, lockoutMs: 60_000 }, long);
  await claimAttempt(deps.db, t.tenant.id, 'test', 'card', { max: 1, lockoutMs: null }, long);
  await purgeLimitRows(deps.db, new Date());
  const windows = await deps.db.selectFrom('rate_limit_window').select('key').where('tenant_id', '=', t.tenant.id).execute();
  const attempts = await deps.db.selectFrom('secret_attempt').select('subject').where('tenant_id', '=', t.tenant.id).execute();
  assert.deepEqual(
    windows.map((r) => r.key),
    ['new'],
  );
  assert.deepEqual(
    attempts.map((r) => r.subject),
    ['card'],
    'a lock until unlocked stays',
  );
});

test('API requests: RateLimit-* headers on every /v1 answer; past the limit 429 with Retry-After, per key', async () => {
  const clock = fixedClock(new Date(Math.ceil(Date.now() / 60_000) * 60_000 + 15_000));
  const app = await buildApp({ ...deps, clock, config: testConfig({ API_RATE_LIMIT_PER_MINUTE: '3' }) }, { engine: 'test' });
  try {
    const t = await newTenant(deps);
    const get = (key: string) => app.inject({ url: '/v1/stores', headers: bearer(key) });
    const rs = [await get(t.keys.server), await get(t.keys.server), await get(t.keys.server), await get(t.keys.server)];
    assert.deepEqual(
      rs.map((r) => r.statusCode),
      [200, 200, 200, 429],
    );
    assert.deepEqual(
      rs.map((r) => r.headers['ratelimit-remaining']),
      ['2', '1', '0', '0'],
    );
    assert.ok(rs.every((r) => r.headers['ratelimit-limit'] === '3' && r.headers['ratelimit-reset'] === '45'));
    assert.equal(rs[3]!.json().code, 'RATE_LIMITED');
    assert.equal(rs[3]!.headers['retry-after'], '45');
    assert.equal((await get(t.keys.pos)).statusCode, 200, 'another key has its own count');
    clock.advance(45_000);
    assert.equal((await get(t.keys.server)).statusCode, 200, 'a new minute');
    assert.equal((await app.inject({ url: '/health' })).headers['ratelimit-limit'], undefined, 'only /v1 is limited');
  } finally {
    await app.close();
  }
});

test('the client address: X-Forwarded-For counts only with TRUST_PROXY', async () => {
  const limits = { SECRET_RATE_LIMIT_PER_IP: '2', SECRET_RATE_LIMIT_PER_CREDENTIAL: '1000' };
  const attempts = async (app: FastifyInstance) => {
    const t = await newTenant(deps);
    const out = [];
    for (let i = 0; i < 3; i++) {
      const r = await app.inject({
        method: 'POST',
        url: '/v1/members/login',
        headers: { ...bearer(t.keys.app), 'x-forwarded-for': `198.51.100.${i}` },
        payload: { loginId: `user${i}x`, password: 'wrong-pass-1' },
        remoteAddress: '10.0.0.1',
      });
      out.push(r.statusCode);
    }
    return out;
  };
  const direct = await buildApp({ ...deps, config: testConfig(limits) }, { engine: 'test' });
  const proxied = await buildApp({ ...deps, config: testConfig({ ...limits, TRUST_PROXY: '10.0.0.0/8' }) }, { engine: 'test' });
  try {
    assert.deepEqual(await attempts(direct), [401, 401, 429], 'the socket address: one client');
    assert.deepEqual(await attempts(proxied), [401, 401, 401], 'behind a trusted proxy: three clients');
  } finally {
    await direct.close();
    await proxied.close();
  }
});
