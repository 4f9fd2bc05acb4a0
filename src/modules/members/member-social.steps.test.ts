import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { bearer, grantUnits, newTenant, sandboxVerified, testApp } from '../../../test/helpers.ts';
import { noTransactionOpen } from '../../../test/tx-probe.ts';
import type { Deps } from '../../platform/deps.ts';
import type { SocialProvider } from './member-social.provider.ts';

// Linking an SNS account exchanges the code with the provider (a token and a user-info request)
// before the transaction that links it and stores the response (ARCHITECTURE.md rule 2).

let app: FastifyInstance;
let deps: Deps;
const seen: { state: string; outside: boolean }[] = [];
let tenantId = '';

const provider: SocialProvider = {
  name: 'kakao',
  authorizeUrl: async (state, redirectUri) =>
    `https://kauth.kakao.test/oauth/authorize?state=${state}&redirect_uri=${encodeURIComponent(redirectUri)}`,
  async exchange({ code, state }) {
    // The open transaction would hold the state's row (used up) and the Idempotency-Key's lock.
    const outside = await noTransactionOpen(deps.db, (trx) =>
      trx
        .selectFrom('member_social_state')
        .select('state')
        .where('tenant_id', '=', tenantId)
        .where('state', '=', state)
        .forUpdate()
        .noWait()
        .execute(),
    );
    seen.push({ state, outside });
    return { providerUserId: `kakao-${code}`, name: null, email: null, emailVerified: false };
  },
};

before(async () => {
  ({ app, deps } = await testApp());
  // The probing provider needs the app's own db, so it is put in after the app is built.
  deps.providers.social.kakao = provider;
});
after(() => app.close());

test('linking: the code is exchanged with no transaction open, then the link is written once', async () => {
  const t = await newTenant(deps, 'Social Steps Brand');
  tenantId = t.tenant.id;
  await grantUnits(app, t.tenant.id, 5);
  const verificationId = await sandboxVerified(app, deps, t.tenant.id, 'signup', { person: 'hong' });
  const password = 'steps-tea-55';
  const signUp = await app.inject({
    method: 'POST',
    url: '/v1/members',
    headers: bearer(t.keys.app),
    payload: { loginId: 'steps1', password, verificationId, consents: { terms: true, privacy: true, age14: true } },
  });
  assert.equal(signUp.statusCode, 201, signUp.body);
  const token = (
    await app.inject({
      method: 'POST',
      url: '/v1/members/login',
      headers: bearer(t.keys.app),
      payload: { loginId: 'steps1', password },
    })
  ).json().token as string;
  const headers = { ...bearer(t.keys.app), 'x-member-token': token };

  const started = await app.inject({
    method: 'POST',
    url: '/v1/me/social/kakao/authorize',
    headers,
    payload: { redirectUri: 'https://app.example.com/back', password },
  });
  assert.equal(started.statusCode, 200, started.body);
  const state = started.json().state as string;
  const write = { ...headers, 'idempotency-key': 'link-1' };
  const linked = await app.inject({ method: 'POST', url: '/v1/me/social/kakao', headers: write, payload: { state, code: 'c1' } });
  assert.equal(linked.statusCode, 200, linked.body);
  assert.deepEqual(
    linked.json().items.map((l: { provider: string }) => l.provider),
    ['kakao'],
  );
  assert.deepEqual(seen, [{ state, outside: true }]);
  // The same request again is replayed without a second exchange.
  const replay = await app.inject({ method: 'POST', url: '/v1/me/social/kakao', headers: write, payload: { state, code: 'c1' } });
  assert.deepEqual([replay.statusCode, replay.headers['idempotent-replayed'], replay.body], [200, 'true', linked.body]);
  assert.equal(seen.length, 1);
  // The state is single use: another request with it is refused before any exchange.
  const reused = await app.inject({
    method: 'POST',
    url: '/v1/me/social/kakao',
    headers: { ...headers, 'idempotency-key': 'link-2' },
    payload: { state, code: 'c1' },
  });
  assert.equal(reused.json().code, 'SOCIAL_STATE_INVALID');
  assert.equal(seen.length, 1);
  const login = await app.inject({
    method: 'POST',
    url: '/v1/members/social/kakao/authorize',
    headers: bearer(t.keys.app),
    payload: { redirectUri: 'https://app.example.com/back' },
  });
  const loggedIn = await app.inject({
    method: 'POST',
    url: '/v1/members/social/kakao/login',
    headers: bearer(t.keys.app),
    payload: { state: login.json().state, code: 'c1' },
  });
  assert.equal(loggedIn.statusCode, 200, loggedIn.body);
  assert.deepEqual(
    seen.map((s) => s.outside),
    [true, true],
  );
});
