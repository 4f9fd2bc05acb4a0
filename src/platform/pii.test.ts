import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { createPii, maskEmail, maskName, maskPhone, normalizePhone } from './pii.ts';

test('seal/open: round trip; every seal differs; a changed byte or another key is refused', () => {
  const pii = createPii(randomBytes(32));
  const value = { name: '홍길동', phone: '01012345678' };
  const a = pii.seal(value);
  const b = pii.seal(value);
  assert.notEqual(a, b, 'a fresh IV per value');
  assert.deepEqual(pii.open(a), value);
  assert.match(a, /^v1\.k1\./);
  assert.ok(!a.includes('01012345678') && !Buffer.from(a.split('.')[2]!, 'base64url').toString('utf8').includes('홍길동'));

  const raw = Buffer.from(a.split('.')[2]!, 'base64url');
  raw[raw.length - 1]! ^= 1;
  assert.throws(() => pii.open(`v1.k1.${raw.toString('base64url')}`));
  assert.throws(() => createPii(randomBytes(32)).open(a));
  assert.throws(() => pii.open(a.replace('k1', 'k9')), /unknown format or key/);
});

test('hash: deterministic per key, tenant and kind; different across them', () => {
  const key = randomBytes(32);
  const pii = createPii(key);
  const h = pii.hash('tnt_a', 'ci', 'CI-VALUE');
  assert.equal(h, createPii(key).hash('tnt_a', 'ci', 'CI-VALUE'));
  assert.notEqual(h, pii.hash('tnt_b', 'ci', 'CI-VALUE'), 'tenant-scoped: the same person in two brands does not link');
  assert.notEqual(h, pii.hash('tnt_a', 'phone', 'CI-VALUE'));
  assert.notEqual(h, createPii(randomBytes(32)).hash('tnt_a', 'ci', 'CI-VALUE'));
});

test('masking: names, phones and e-mails as the display rules want them', () => {
  assert.equal(maskName('홍길동'), '홍*동');
  assert.equal(maskName('남궁민수'), '남**수');
  assert.equal(maskName('이훈'), '이*');
  assert.equal(maskName('John Smith'), 'J*** S****');
  assert.equal(maskName('A'), '*');
  assert.equal(maskPhone('010-1234-5678'), '010-****-5678');
  assert.equal(maskPhone('0111234567'), '011-***-4567');
  assert.equal(maskEmail('abcdef@example.com'), 'ab****@example.com');
  assert.equal(maskEmail('ab@example.com'), 'a*@example.com');
  assert.equal(maskEmail('not-an-email'), '***');
  assert.equal(normalizePhone('010-1234-5678'), '01012345678');
});

test('domains: the dormant store has its own key', () => {
  const key = randomBytes(32);
  const sealed = createPii(key, 'dormant').seal('홍길동');
  assert.equal(createPii(key, 'dormant').open(sealed), '홍길동');
  assert.throws(() => createPii(key).open(sealed));
});
