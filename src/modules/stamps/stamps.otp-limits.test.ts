import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { bearer, memberToken, newMembers, newTenant, testApp, testConfig } from '../../../test/helpers.ts';
import type { Deps } from '../../platform/deps.ts';

// OTP approval limits (issue 15 §3): a wrong-code attempt is claimed before the code is looked up, so
// 50 parallel guesses by one manager get 5 checks, and the store's 20 hold across its managers.

let app: FastifyInstance;
let deps: Deps;
let seq = 0;

before(async () => {
  ({ app, deps } = await testApp({
    config: testConfig({ SECRET_RATE_LIMIT_PER_CREDENTIAL: '1000', SECRET_RATE_LIMIT_PER_IP: '1000' }),
  }));
});
after(() => app.close());

const server = (t: { keys: { server: string } }, url: string, payload: object) =>
  app.inject({ method: 'POST', url, headers: { ...bearer(t.keys.server), 'idempotency-key': `k-${++seq}` }, payload });

async function brand(managers: number) {
  const t = await newTenant(deps, 'OTP Brand');
  const store = (await server(t, '/v1/stores', { code: 'S1', name: '매장' })).json().id as string;
  const card = await server(t, '/v1/stamp-cards', {
    name: '스탬프',
    issueFrom: new Date(Date.now() - 86_400_000).toISOString(),
    issueUntil: new Date(Date.now() + 86_400_000).toISOString(),
    stampsPerBoard: 10,
    reward: { type: 'points', points: 100 },
    policy: {},
  });
  assert.equal(card.statusCode, 201, card.body);
  const tokens: string[] = [];
  for (let i = 0; i < managers; i++) {
    assert.equal(
      (
        await server(t, '/v1/store-managers', {
          loginId: `mgr.${i}`,
          name: `점장${i}`,
          password: `manager-pass-${i}`,
          storeIds: [store],
        })
      ).statusCode,
      201,
    );
    tokens.push(
      (
        await app.inject({
          method: 'POST',
          url: '/v1/store-managers/login',
          headers: bearer(t.keys.app),
          payload: { loginId: `mgr.${i}`, password: `manager-pass-${i}` },
        })
      ).json().token,
    );
  }
  const [member] = await newMembers(deps, t.tenant.id, 1);
  const otp = async () => {
    const res = await app.inject({
      method: 'POST',
      url: `/v1/me/stamp-cards/${card.json().id}/otp`,
      headers: { ...bearer(t.keys.app), 'x-member-token': await memberToken(deps, t.tenant.id, member!) },
    });
    return res.json().code as string;
  };
  const approve = (i: number, code: string) =>
    app.inject({
      method: 'POST',
      url: '/v1/store-managers/stamp-approvals',
      headers: { ...bearer(t.keys.app), 'x-manager-token': tokens[i]! },
      payload: { storeId: store, code, count: 1 },
    });
  return { approve, otp };
}

const wrong = (code: string, i: number) => String((Number(code) + 1 + i) % 1_000_000).padStart(6, '0');

test('50 parallel wrong codes from one manager: 5 are checked (OTP_INVALID), 45 are RATE_LIMITED', async () => {
  const { approve, otp } = await brand(1);
  const code = await otp();
  const rs = await Promise.all(Array.from({ length: 50 }, (_, i) => approve(0, wrong(code, i))));
  const by = (c: string) => rs.filter((r) => r.json().code === c).length;
  assert.equal(by('OTP_INVALID'), 5, rs.map((r) => r.json().code).join());
  assert.equal(by('RATE_LIMITED'), 45);
  const limited = rs.find((r) => r.statusCode === 429)!;
  assert.ok(Number(limited.headers['retry-after']) > 0);
  assert.equal((await approve(0, code)).statusCode, 429, 'the right code waits for the window too');
});

test('a right code does not use up the manager’s wrong-code allowance', async () => {
  const { approve, otp } = await brand(1);
  for (let i = 0; i < 7; i++) assert.equal((await approve(0, await otp())).statusCode, 200);
  for (let i = 0; i < 5; i++) assert.equal((await approve(0, '000000')).json().code, 'OTP_INVALID');
  assert.equal((await approve(0, await otp())).json().code, 'RATE_LIMITED');
});

test('the store’s 20 wrong codes hold across 6 managers guessing in parallel', async () => {
  const { approve, otp } = await brand(6);
  const code = await otp();
  const rs = await Promise.all(Array.from({ length: 30 }, (_, i) => approve(i % 6, wrong(code, i))));
  assert.equal(rs.filter((r) => r.json().code === 'OTP_INVALID').length, 20, rs.map((r) => r.json().code).join());
  assert.equal(rs.filter((r) => r.json().code === 'RATE_LIMITED').length, 10);
});
