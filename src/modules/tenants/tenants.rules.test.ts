import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { apiKeyPrefix, formatApiKey, formatBrn, hashSecret, isValidBrn, parseApiKey, secretMatches } from './tenants.rules.ts';

test('business registration numbers: the worked examples of the research notes', () => {
  assert.equal(isValidBrn('116-82-00276'), true);
  assert.equal(isValidBrn('1168200276'), true);
  assert.equal(isValidBrn('124-81-00998'), true);
  assert.equal(isValidBrn('116-82-00277'), false, 'a typo in the last digit');
  assert.equal(isValidBrn('116-82-0027'), false, 'nine digits');
  assert.equal(isValidBrn('abc-de-fghij'), false);
  assert.equal(isValidBrn('100-81-00998'), false, 'tax office codes start at 101');
  assert.equal(formatBrn('1168200276'), '116-82-00276');
});

test('business registration numbers: exactly one check digit completes any valid prefix', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 101, max: 999 }),
      fc.integer({ min: 1, max: 99 }),
      fc.integer({ min: 1, max: 9999 }),
      (office, type, serial) => {
        const prefix = `${office}${String(type).padStart(2, '0')}${String(serial).padStart(4, '0')}`;
        const valid = Array.from({ length: 10 }, (_, c) => c).filter((c) => isValidBrn(prefix + c));
        assert.equal(valid.length, 1);
      },
    ),
  );
});

test('API keys: format and parse round-trip; secrets are compared by hash', () => {
  const key = formatApiKey('pos', 'tnt_01jz0000000000000000000000', 'key_abcdefgh1234', 'a'.repeat(32));
  assert.equal(key, `moa_pos_01jz0000000000000000000000_abcdefgh1234_${'a'.repeat(32)}`);
  assert.deepEqual(parseApiKey(key), {
    scope: 'pos',
    tenantId: 'tnt_01jz0000000000000000000000',
    keyId: 'key_abcdefgh1234',
    secret: 'a'.repeat(32),
  });
  assert.equal(apiKeyPrefix('pos', 'tnt_01jz0000000000000000000000', 'key_abcdefgh1234'), key.slice(0, -33));
  assert.equal(parseApiKey(key.replace('moa_pos', 'moa_root')), undefined);
  assert.equal(parseApiKey(`${key}x`), undefined);
  assert.equal(parseApiKey(''), undefined);
  assert.equal(secretMatches('a'.repeat(32), hashSecret('a'.repeat(32))), true);
  assert.equal(secretMatches('b'.repeat(32), hashSecret('a'.repeat(32))), false);
});
