// The Naver adapter against a local Naver Login (test/fakes/naver.fake.ts).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type NaverFake, startNaverFake } from '../../../test/fakes/naver.fake.ts';
import { AppError } from '../../platform/errors.ts';
import { randomToken } from '../../platform/ids.ts';
import { naverSocialProvider } from './member-social.naver.ts';

const CLIENT = { clientId: 'naver-client-id', clientSecret: 'naver-client-secret' };
const REDIRECT = 'https://shop.example.com/oauth/naver/callback';
let fake: NaverFake;

before(async () => {
  fake = await startNaverFake(CLIENT);
  fake.addUser({
    id: 'nv-32742776',
    email: 'openapi@naver.com',
    name: '오픈 API',
    nickname: 'OPENAPI',
    mobile: '010-0000-0000',
    birthday: '10-01',
    birthyear: '1990',
    gender: 'F',
  });
  fake.addUser({ id: 'nv-min', nickname: '닉네임만' });
});
after(() => fake.close());

const naver = (over: Partial<typeof CLIENT> = {}) =>
  naverSocialProvider({ ...CLIENT, ...over, authBaseUrl: fake.authBaseUrl, apiBaseUrl: fake.apiBaseUrl });

async function rejects(p: Promise<unknown>, code: string) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof AppError, String(err));
    assert.equal(err.code, code, err.message);
    return true;
  });
}

/** Start, log in on Naver's page as `user`, and come back: the code and state the browser brings. */
async function loginAs(user: string | null, provider = naver()) {
  const state = randomToken(32);
  const url = new URL(await provider.authorizeUrl(state, REDIRECT));
  assert.equal(url.origin + url.pathname, `${fake.authBaseUrl}/oauth2.0/authorize`);
  assert.equal(url.searchParams.get('response_type'), 'code');
  assert.equal(url.searchParams.get('client_id'), CLIENT.clientId);
  assert.equal(url.searchParams.get('state'), state);
  const back = await fake.login(url.href, user);
  assert.equal(back.searchParams.get('state'), state);
  return { state, code: back.searchParams.get('code'), error: back.searchParams.get('error') };
}

test('the code is exchanged with the state, and the account is the profile API’s, mapped as documented', async () => {
  const { state, code } = await loginAs('nv-32742776');
  const account = await naver().exchange({ code: code!, state, redirectUri: REDIRECT });
  assert.deepEqual(account, {
    providerUserId: 'nv-32742776',
    name: '오픈 API',
    email: 'openapi@naver.com',
    emailVerified: false,
    phone: '01000000000',
    birthday: '10-01',
    birthYear: 1990,
    gender: 'female',
  });
  const sent = fake.tokenRequests.at(-1)!;
  assert.equal(sent.get('grant_type'), 'authorization_code');
  assert.equal(sent.get('state'), state);
  assert.equal(sent.get('client_secret'), CLIENT.clientSecret);
});

test('a profile with only a nickname still maps', async () => {
  const { state, code } = await loginAs('nv-min');
  const account = await naver().exchange({ code: code!, state, redirectUri: REDIRECT });
  assert.equal(account.providerUserId, 'nv-min');
  assert.equal(account.name, '닉네임만');
  assert.equal(account.email, null);
});

test('a used code, or a code with another state, is SOCIAL_CODE_INVALID (Naver answers 200 with an error)', async () => {
  const first = await loginAs('nv-min');
  await naver().exchange({ code: first.code!, state: first.state, redirectUri: REDIRECT });
  await rejects(naver().exchange({ code: first.code!, state: first.state, redirectUri: REDIRECT }), 'SOCIAL_CODE_INVALID');
  const second = await loginAs('nv-min');
  await rejects(naver().exchange({ code: second.code!, state: randomToken(32), redirectUri: REDIRECT }), 'SOCIAL_CODE_INVALID');
  await rejects(naver().exchange({ code: 'made-up-code', state: second.state, redirectUri: REDIRECT }), 'SOCIAL_CODE_INVALID');
});

test('a wrong client secret is SOCIAL_PROVIDER_ERROR', async () => {
  const { state, code } = await loginAs('nv-min');
  await rejects(
    naver({ clientSecret: 'wrong' }).exchange({ code: code!, state, redirectUri: REDIRECT }),
    'SOCIAL_PROVIDER_ERROR',
  );
});

test('a token the profile API refuses (resultcode 024) is SOCIAL_PROVIDER_ERROR', async () => {
  const { state, code } = await loginAs('nv-min');
  // The person withdraws consent between the token and the profile request.
  let calls = 0;
  const provider = naverSocialProvider({
    ...CLIENT,
    authBaseUrl: fake.authBaseUrl,
    apiBaseUrl: fake.apiBaseUrl,
    fetch: async (input, init) => {
      if (String(input).includes('/v1/nid/me')) fake.revokeTokens();
      calls++;
      return fetch(input, init);
    },
  });
  await rejects(provider.exchange({ code: code!, state, redirectUri: REDIRECT }), 'SOCIAL_PROVIDER_ERROR');
  assert.equal(calls, 2);
});

test('a person who cancels on Naver’s page comes back with error=access_denied and no code', async () => {
  const back = await loginAs(null);
  assert.equal(back.code, null);
  assert.equal(back.error, 'access_denied');
});
