import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ConfigError, loadConfig } from '../config.ts';
import { AMOUNT_CEILING, applyBp, requireAmounts, requireBasketTotal } from './amounts.ts';

test('applyBp is exact where amount × rate passes 2^53', () => {
  // 999,999,999,999 × 9,999 = 9,998,999,999,990,001: a double rounds it to …990,000.
  assert.equal(applyBp(999_999_999_999, 9_999, 'floor'), 999_899_999_999);
  assert.equal(applyBp(999_999_999_999, 9_999, 'ceil'), 999_900_000_000);
  assert.equal(applyBp(999_999_999_999, 9_999, 'round'), 999_899_999_999);
  assert.equal(applyBp(999_999_990_001, 9_999), 999_899_990_001);
  assert.equal(applyBp(15, 5_000, 'round'), 8);
  fc.assert(
    fc.property(fc.integer({ min: 0, max: AMOUNT_CEILING }), fc.integer({ min: 0, max: 10_000 }), (amount, bp) => {
      const exact = BigInt(amount) * BigInt(bp);
      const floor = applyBp(amount, bp, 'floor');
      assert.equal(BigInt(floor), exact / 10_000n);
      assert.equal(applyBp(amount, bp, 'ceil') - floor, exact % 10_000n === 0n ? 0 : 1);
      assert.ok(floor <= amount);
    }),
  );
});

test('requireAmounts and requireBasketTotal refuse what passes the maximum, naming the field', () => {
  const config = { maxAmount: 1_000 };
  assert.doesNotThrow(() => requireAmounts(config, { a: 1_000, b: -1_000, c: undefined, d: null }));
  assert.throws(
    () => requireAmounts(config, { a: 1_001 }),
    (e: { code: string; errors: { field: string }[] }) => e.code === 'VALIDATION_FAILED' && e.errors[0]!.field === 'a',
  );
  assert.throws(() => requireAmounts(config, { adjust: -1_001 }), { code: 'VALIDATION_FAILED' });
  assert.equal(
    requireBasketTotal(config, [
      { quantity: 2, unitPrice: 250 },
      { quantity: 1, unitPrice: 500 },
    ]),
    1_000,
  );
  assert.throws(
    () => requireBasketTotal(config, [{ quantity: 3, unitPrice: 400 }]),
    (e: { errors: { field: string }[] }) => e.errors[0]!.field === 'items.0',
  );
  assert.throws(
    () =>
      requireBasketTotal(
        config,
        [
          { quantity: 1, unitPrice: 600 },
          { quantity: 1, unitPrice: 600 },
        ],
        'order.items',
      ),
    (e: { errors: { field: string }[] }) => e.errors[0]!.field === 'order.items',
  );
});

test('MOA_MAX_AMOUNT: 10^12 by default, configurable from 1 to AMOUNT_CEILING', () => {
  assert.equal(loadConfig({}).maxAmount, 1_000_000_000_000);
  assert.equal(loadConfig({ MOA_MAX_AMOUNT: '50000' }).maxAmount, 50_000);
  for (const bad of ['0', '1.5', String(AMOUNT_CEILING * 10), 'lots'])
    assert.throws(() => loadConfig({ MOA_MAX_AMOUNT: bad }), ConfigError);
});
