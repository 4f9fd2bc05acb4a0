// The PortOne identity adapter against a local PortOne API (test/fakes/portone.fake.ts).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startPortOneFake, type PortOneFake } from '../../../test/fakes/portone.fake.ts';
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
  fake.verified(id, { name: '홍길동', birthDate: '1990-01-15', gender: 'MALE', phoneNumber: '01012345678', operator: 'KT_MVNO', isForeigner: false, ci: CI, di: DI });
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
  await rejects(provider({ apiSecret: 'wrong' }).fetchResult(id), 'PROVIDER_ERROR', { providerError: 'UNAUTHORIZED', providerStatus: 401 });
  await rejects(provider({ storeId: 'store-other' }).fetchResult(id), 'PROVIDER_ERROR', { providerError: 'FORBIDDEN', providerStatus: 403 });
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
