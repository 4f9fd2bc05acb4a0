import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { bearer, memberToken, newMembers, newTenant, testApp, testConfig } from '../../../test/helpers.ts';
import type { Deps } from '../../platform/deps.ts';
import { passwordChecks } from '../../platform/passwords.ts';

// The physical card's PIN (4-8 digits) is limited per card and per member (issue 15 §3): an attempt is
// claimed before the PIN is checked; the card locks after the limit until the brand's server unlocks it.

let app: FastifyInstance;
let deps: Deps;
let seq = 0;

before(async () => {
  ({ app, deps } = await testApp({
    config: testConfig({ SECRET_RATE_LIMIT_PER_CREDENTIAL: '1000', SECRET_RATE_LIMIT_PER_IP: '1000' }),
  }));
});
after(() => app.close());

const key = () => ({ 'idempotency-key': `k-${++seq}` });

async function brand() {
  const t = await newTenant(deps, 'PIN Brand');
  const members = await newMembers(deps, t.tenant.id, 2);
  const tokens = await Promise.all(members.map((m) => memberToken(deps, t.tenant.id, m)));
  const register = (i: number, number: string, pin: string) =>
    app.inject({
      method: 'POST',
      url: '/v1/me/prepaid/cards/register',
      headers: { ...bearer(t.keys.app), 'x-member-token': tokens[i]!, ...key() },
      payload: { number, pin },
    });
  const stock = async (number: string, pin: string) => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/prepaid/physical-cards',
      headers: { ...bearer(t.keys.server), ...key() },
      payload: { number, pin },
    });
    assert.equal(res.statusCode, 201, res.body);
    return res.json().id as string;
  };
  return { t, register, stock };
}

test('20 parallel PIN guesses on one card: 5 are checked, then the card is locked until the server unlocks it', async () => {
  const { t, register, stock } = await brand();
  const cardId = await stock('9410000000000001', '482913');
  const checks = passwordChecks();
  const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => register(i % 2, '9410000000000001', String(100000 + i))));
  const by = (c: string) => rs.filter((r) => r.json().code === c).length;
  assert.equal(by('CARD_PIN_INVALID'), 5, rs.map((r) => r.json().code).join());
  assert.equal(by('CARD_PIN_LOCKED'), 15);
  assert.equal(rs.find((r) => r.json().code === 'CARD_PIN_LOCKED')!.statusCode, 423);
  assert.equal(passwordChecks() - checks, 5);
  assert.equal((await register(0, '9410000000000001', '482913')).json().code, 'CARD_PIN_LOCKED', 'even the right PIN');

  const unlock = await app.inject({
    method: 'POST',
    url: `/v1/prepaid/physical-cards/${cardId}/unlock`,
    headers: { ...bearer(t.keys.server), ...key() },
  });
  assert.equal(unlock.statusCode, 200, unlock.body);
  assert.equal(unlock.json().id, cardId);
  const app_ = await app.inject({
    method: 'POST',
    url: `/v1/prepaid/physical-cards/${cardId}/unlock`,
    headers: { ...bearer(t.keys.app), ...key() },
  });
  assert.equal(app_.statusCode, 403, 'only a server key unlocks');
  const ok = await register(0, '9410000000000001', '482913');
  assert.equal(ok.statusCode, 201, ok.body);
});

test('one member guessing over many card numbers in parallel is stopped after 10 checks, whatever the numbers', async () => {
  const { register, stock } = await brand();
  await stock('9410000000000100', '1111');
  const checks = passwordChecks();
  const rs = await Promise.all(
    Array.from({ length: 30 }, (_, i) => register(0, `94100000000001${String(i).padStart(2, '0')}`, '0000')),
  );
  assert.equal(rs.filter((r) => r.json().code === 'CARD_PIN_INVALID').length, 10, rs.map((r) => r.json().code).join());
  assert.equal(rs.filter((r) => r.json().code === 'CARD_PIN_LOCKED').length, 20);
  assert.equal(passwordChecks() - checks, 10, 'unknown numbers cost the same check as known ones');
  assert.equal(
    (await register(0, '9410000000000100', '1111')).json().code,
    'CARD_PIN_LOCKED',
    'the member waits, even with a right PIN',
  );
  assert.equal((await register(1, '9410000000000100', '1111')).statusCode, 201, 'another member is not held up');
});
