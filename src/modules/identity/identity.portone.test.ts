// The PortOne identity adapter against a local PortOne API (test/fakes/portone.fake.ts).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type PortOneFake, startPortOneFake } from '../../../test/fakes/portone.fake.ts';
import { bearer, grantUnits, newTenant, testApp, testConfig } from '../../../test/helpers.ts';
import { AppError } from '../../platform/errors.ts';
import { portoneIdentityProvider } from './identity.portone.ts';

const SECRET = 'portone-secret-test';
const STORE = 'store-00000000-0000-0000-0000-000000000001';
let fake: PortOneFake;

before(async () => {
  fake = await startPortOneFake({ secret: SECRET, storeId: STORE });
});
after(() => fake.close());

const provider = (over: { apiSecret?: string; storeId?: string } = {}) =>
  portoneIdentityProvider({ apiSecret: SECRET, storeId: STORE, baseUrl: fake.baseUrl, ...over });

const CI = `${'C'.repeat(86)}==`;
const DI = 'D'.repeat(64);
let seq = 0;
const newId = () => `req${Date.now()}${++seq}`;

async function rejects(p: Promise<unknown>, code: string, details: Record<string, unknown> = {}) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof AppError, String(err));
    assert.equal(err.code, code);
    for (const [k, v] of Object.entries(details)) assert.deepEqual(err.details?.[k], v, k);
    return true;
  });
}

test('a VERIFIED lookup gives the person as PortOne vouches for them: CI, DI, name, birth date, gender, carrier, phone', async () => {
  const id = newId();
  fake.verified(id, {
    name: '홍길동',
    birthDate: '1990-01-15',
    gender: 'MALE',
    phoneNumber: '01012345678',
    operator: 'KT_MVNO',
    isForeigner: false,
    ci: CI,
    di: DI,
  });
  const outcome = await provider().fetchResult(id);
  assert.equal(outcome.status, 'verified');
  assert.ok(outcome.status === 'verified');
  assert.deepEqual(outcome.identity, {
    name: '홍길동',
    birthDate: '1990-01-15',
    gender: 'male',
    nationality: 'domestic',
    carrier: 'KT_MVNO',
    phone: '01012345678',
    ci: CI,
    di: DI,
  });
  const last = fake.requests.at(-1)!;
  assert.equal(last.method, 'GET');
  assert.equal(last.path, `/identity-verifications/${id}`);
  assert.equal(last.authorization, `PortOne ${SECRET}`);
});

test('a foreign resident and a result without a phone map as such', async () => {
  const id = newId();
  fake.verified(id, { name: 'SMITH JOHN', birthDate: '1985-07-01', gender: 'FEMALE', isForeigner: true, ci: CI, di: DI });
  const outcome = await provider().fetchResult(id);
  assert.ok(outcome.status === 'verified');
  assert.equal(outcome.identity.nationality, 'foreign');
  assert.equal(outcome.identity.gender, 'female');
  assert.equal(outcome.identity.phone, null);
  assert.equal(outcome.identity.carrier, null);
});

test('READY and IDENTITY_VERIFICATION_NOT_FOUND (the browser has not requested it yet) are pending', async () => {
  const id = newId();
  assert.deepEqual(await provider().fetchResult(id), { status: 'pending' });
  fake.ready(id);
  assert.deepEqual(await provider().fetchResult(id), { status: 'pending' });
});

test('FAILED is a failed verification the person may retry', async () => {
  const id = newId();
  fake.failed(id, { reason: '본인인증 실패', pgCode: 'E001', pgMessage: '명의 불일치' });
  const outcome = await provider().fetchResult(id);
  assert.equal(outcome.status, 'failed');
  assert.ok(outcome.status === 'failed');
  assert.equal(outcome.reason, 'PROVIDER_ERROR');
});

test('a wrong secret (UNAUTHORIZED) and another store (FORBIDDEN) are provider errors, never a result', async () => {
  const id = newId();
  fake.verified(id, { name: '홍길동', birthDate: '1990-01-15', gender: 'MALE', ci: CI, di: DI });
  await rejects(provider({ apiSecret: 'wrong' }).fetchResult(id), 'PROVIDER_ERROR', {
    providerError: 'UNAUTHORIZED',
    providerStatus: 401,
  });
  await rejects(provider({ storeId: 'store-other' }).fetchResult(id), 'PROVIDER_ERROR', {
    providerError: 'FORBIDDEN',
    providerStatus: 403,
  });
});

test('a result without CI or DI cannot anchor a member: a provider error naming what is missing', async () => {
  const id = newId();
  fake.verified(id, { name: '홍길동', birthDate: '1990-01-15', gender: 'MALE', phoneNumber: '01012345678' });
  await rejects(provider().fetchResult(id), 'PROVIDER_ERROR', { missing: ['ci', 'di'] });
});

test('a gateway page instead of PortOne’s JSON, or no server at all, is a provider error', async () => {
  fake.failNextWith(502);
  await rejects(provider().fetchResult(newId()), 'PROVIDER_ERROR');
  const closed = portoneIdentityProvider({ apiSecret: SECRET, baseUrl: 'http://127.0.0.1:1', timeoutMs: 2000 });
  await rejects(closed.fetchResult(newId()), 'PROVIDER_ERROR');
});

test('the page hint names the PortOne browser call with our request number', () => {
  const url = provider().pageFor('REQ123');
  assert.equal(url, `portone:requestIdentityVerification?identityVerificationId=REQ123&storeId=${STORE}`);
});

// End to end through the HTTP API, with IDENTITY_PROVIDER=portone in the configuration.
test('HTTP: IDENTITY_PROVIDER=portone verifies through PortOne and the verification signs a member up', async () => {
  const config = testConfig({
    IDENTITY_PROVIDER: 'portone',
    PORTONE_API_SECRET: SECRET,
    PORTONE_API_BASE_URL: fake.baseUrl,
    PORTONE_STORE_ID: STORE,
  });
  const { app, deps } = await testApp({ config });
  try {
    const t = await newTenant(deps, 'PortOne Identity Brand');
    await grantUnits(app, t.tenant.id, 3);
    const started = await app.inject({
      method: 'POST',
      url: '/v1/identity/verifications',
      headers: bearer(t.keys.app),
      payload: { purpose: 'signup', returnUrl: 'https://shop.example.com/verify/done' },
    });
    assert.equal(started.statusCode, 201, started.body);
    const v = started.json();
    assert.equal(v.provider, 'portone');
    assert.match(v.redirectUrl, /^portone:requestIdentityVerification\?identityVerificationId=/);
    const complete = () =>
      app.inject({ method: 'POST', url: `/v1/identity/verifications/${v.id}/complete`, headers: bearer(t.keys.app) });
    // Nothing done in the browser yet: PortOne does not know it, the verification stays pending.
    assert.equal((await complete()).json().status, 'pending');
    // The sandbox page is not mounted with a real provider.
    assert.equal((await app.inject({ url: `/sandbox/identity/${v.requestNo}` })).statusCode, 404);

    fake.verified(v.requestNo, {
      name: '김포원',
      birthDate: '1992-03-04',
      gender: 'FEMALE',
      phoneNumber: '01055556666',
      operator: 'SKT',
      isForeigner: false,
      ci: `${'P'.repeat(86)}==`,
      di: 'Q'.repeat(64),
    });
    const done = await complete();
    assert.equal(done.statusCode, 200, done.body);
    assert.equal(done.json().status, 'verified');
    assert.equal(done.json().identity.name, '김*원');
    assert.equal(done.json().identity.carrier, 'SKT');
    const member = await app.inject({
      method: 'POST',
      url: '/v1/members',
      headers: bearer(t.keys.app),
      payload: {
        loginId: `portone${Date.now()}`,
        password: 'portone-pass-77',
        verificationId: v.id,
        consents: { terms: true, privacy: true, age14: true },
      },
    });
    assert.equal(member.statusCode, 201, member.body);
  } finally {
    await app.close();
  }
});

test('HTTP: a wrong PortOne secret answers 502 PROVIDER_ERROR as problem+json and settles nothing', async () => {
  const config = testConfig({
    IDENTITY_PROVIDER: 'portone',
    PORTONE_API_SECRET: 'not-the-secret',
    PORTONE_API_BASE_URL: fake.baseUrl,
    PORTONE_STORE_ID: STORE,
  });
  const { app, deps } = await testApp({ config });
  try {
    const t = await newTenant(deps, 'PortOne Identity Brand');
    await grantUnits(app, t.tenant.id, 1);
    const v = (
      await app.inject({
        method: 'POST',
        url: '/v1/identity/verifications',
        headers: bearer(t.keys.app),
        payload: { purpose: 'signup', returnUrl: 'https://shop.example.com/back' },
      })
    ).json();
    fake.verified(v.requestNo, { name: '김포원', birthDate: '1992-03-04', gender: 'FEMALE', ci: CI, di: DI });
    const res = await app.inject({
      method: 'POST',
      url: `/v1/identity/verifications/${v.id}/complete`,
      headers: bearer(t.keys.app),
    });
    assert.equal(res.statusCode, 502);
    assert.match(String(res.headers['content-type']), /application\/problem\+json/);
    assert.equal(res.json().code, 'PROVIDER_ERROR');
    const after = await app.inject({ url: `/v1/identity/verifications/${v.id}`, headers: bearer(t.keys.app) });
    assert.equal(after.json().status, 'pending');
  } finally {
    await app.close();
  }
});
