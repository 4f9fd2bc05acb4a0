import { z } from 'zod';
import { fieldError } from './errors.ts';

/** The part of the config the rules read (config.ts imports this file for AMOUNT_CEILING). */
type AmountLimit = { readonly maxAmount: number };

// Every amount of value (won, points, stamps) is an integer within a business maximum,
// MOA_MAX_AMOUNT (10^12 by default): the amounts a request carries and every total computed from
// them (quantity × price, sums, fees). They are checked before anything is written, so no total
// ever leaves the range where a JavaScript number, the database's bigint and the response schema
// agree. Rates in basis points are applied with exact integer arithmetic (`applyBp`).

/** The largest maximum a deployment may configure: even a thousand such amounts add up exactly. */
export const AMOUNT_CEILING = 1_000_000_000_000_000; // 10^15

/** An amount in a request: an integer from 0 to AMOUNT_CEILING (the configured maximum is checked by `requireAmounts`). */
export const ZAmount = z.number().int().min(0).max(AMOUNT_CEILING);

/** A count of units in a basket line. */
export const ZQuantity = z.number().int().min(1).max(1_000_000);

/**
 * The values (signed: a deduction counts by its size) must be within the configured maximum;
 * otherwise VALIDATION_FAILED (400) naming the field. Totals computed in floating point are safe to
 * compare here: a sum of non-negative terms that stays within the maximum had exact terms.
 */
export function requireAmounts(config: AmountLimit, amounts: Record<string, number | null | undefined>): void {
  for (const [field, value] of Object.entries(amounts)) {
    if (value === null || value === undefined) continue;
    if (!Number.isFinite(value) || Math.abs(value) > config.maxAmount)
      throw fieldError(field, `must be at most ${config.maxAmount} (MOA_MAX_AMOUNT)`, 'too_big');
  }
}

/** The total of basket lines, each line's quantity × unit price checked within the maximum, then the sum. */
export function requireBasketTotal(
  config: AmountLimit,
  items: readonly { quantity: number; unitPrice: number }[],
  field = 'items',
): number {
  let total = 0;
  items.forEach((i, n) => {
    requireAmounts(config, { [`${field}.${n}`]: i.quantity * i.unitPrice });
    total += i.quantity * i.unitPrice;
  });
  requireAmounts(config, { [field]: total });
  return total;
}

const ROUND = {
  floor: (q: bigint) => q,
  ceil: (q: bigint, r: bigint) => q + (r > 0n ? 1n : 0n),
  round: (q: bigint, r: bigint) => q + (2n * r >= 10_000n ? 1n : 0n),
} as const;

/** `amount × bp / 10,000` for a non-negative amount and rate, rounded as asked; exact (the product may pass 2^53). */
export function applyBp(amount: number, bp: number, rounding: keyof typeof ROUND = 'floor'): number {
  if (amount < 0 || bp < 0) throw new RangeError(`applyBp(${amount}, ${bp}): both must be non-negative.`);
  const product = BigInt(amount) * BigInt(bp);
  return Number(ROUND[rounding](product / 10_000n, product % 10_000n));
}
