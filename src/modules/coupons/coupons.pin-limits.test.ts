import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { bearer, memberToken, newMembers, newTenant, testApp, testConfig } from '../../../test/helpers.ts';
import { fixedClock } from '../../platform/clock.ts';
import type { Deps } from '../../platform/deps.ts';

// Coupon PIN registration is a secret check: rate-limited per member and per client IP (issue 15 §3).

let app: FastifyInstance;
let deps: Deps;
const clock = fixedClock(new Date());

before(async () => {
  ({ app, deps } = await testApp({
    clock,
    config: testConfig({
      SECRET_RATE_LIMIT_PER_CREDENTIAL: '3',
      SECRET_RATE_LIMIT_PER_IP: '1000',
      SECRET_RATE_LIMIT_WINDOW_SECONDS: '60',
    }),
  }));
});
after(() => app.close());

test('wrong coupon PINs: the fourth in a window is 429 with Retry-After, not stored under its Idempotency-Key', async () => {
  const t = await newTenant(deps, 'Coupon PIN Brand');
  const [m] = await newMembers(deps, t.tenant.id, 1);
  const token = await memberToken(deps, t.tenant.id, m!);
  const register = (key: string, pin: string) =>
    app.inject({
      method: 'POST',
      url: '/v1/me/coupons/pins',
      headers: { ...bearer(t.keys.app), 'x-member-token': token, 'idempotency-key': key },
      payload: { pin },
    });
  for (let i = 0; i < 3; i++) assert.equal((await register(`p${i}`, `AAAA-BBBB-CCC${i}`)).json().code, 'COUPON_PIN_INVALID');
  const limited = await register('p3', 'AAAA-BBBB-CCC3');
  assert.equal(limited.statusCode, 429, limited.body);
  assert.equal(limited.json().code, 'RATE_LIMITED');
  assert.match(String(limited.headers['content-type']), /^application\/problem\+json/);
  assert.ok(Number(limited.headers['retry-after']) >= 1);
  clock.advance(61_000);
  assert.equal(
    (await register('p3', 'AAAA-BBBB-CCC3')).json().code,
    'COUPON_PIN_INVALID',
    'the retry is checked in the next window',
  );
});
