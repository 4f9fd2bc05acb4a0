import { applyBp } from '../../platform/amounts.ts';
import { addDays, localDate, zonedMidnight } from '../../platform/clock.ts';
import { AppError } from '../../platform/errors.ts';
import type { TPointPolicySettings } from './points.schemas.ts';

// Pure rules of the point policy: how much an order earns, when it expires, and whether a use is allowed.

/** Points earned on a paid amount at a rate in basis points (100 = 1 %), rounded by the policy. */
export function earnAmount(paidAmount: number, rateBp: number, rounding: TPointPolicySettings['rounding']): number {
  // Exact: paidAmount * rateBp passes 2^53 for amounts within the maximum.
  return applyBp(paidAmount, rateBp, rounding);
}

/**
 * When points earned at `at` expire under the policy's validity: N months later, rounded up to the
 * end of that day, month or year in the tenant's time zone (the instant the next day begins).
 * Undefined: they never expire.
 */
export function expiryOf(at: Date, validity: TPointPolicySettings['validity'], timeZone: string): Date | undefined {
  if (validity.months === 0) return undefined;
  const [y, m, d] = localDate(at, timeZone).split('-').map(Number) as [number, number, number];
  const monthIndex = m - 1 + validity.months;
  const year = y + Math.floor(monthIndex / 12);
  const month = (monthIndex % 12) + 1;
  const monthDays = new Date(Date.UTC(year, month, 0)).getUTCDate();
  const pad = (n: number) => String(n).padStart(2, '0');
  let last: string;
  if (validity.roundTo === 'end_of_year') last = `${year}-12-31`;
  else if (validity.roundTo === 'end_of_month') last = `${year}-${pad(month)}-${pad(monthDays)}`;
  // The same day N months on (the 31st becomes the month's last day); valid through the day before.
  else last = addDays(`${year}-${pad(month)}-${pad(Math.min(d, monthDays))}`, -1);
  return zonedMidnight(addDays(last, 1), timeZone);
}

/** The policy's checks of a use, in the order a member would want to hear them. */
export function checkUse(
  policy: TPointPolicySettings,
  use: { amount: number; channel: string; orderAmount?: number | undefined; available: number },
): AppError | undefined {
  if (!policy.useChannels.includes(use.channel as never)) {
    return new AppError('POINTS_CHANNEL_NOT_ALLOWED', `Points cannot be used in channel ${use.channel}.`, {
      channel: use.channel,
      allowed: policy.useChannels,
    });
  }
  if (use.amount % policy.useUnit !== 0) {
    return new AppError('POINTS_USE_UNIT', `Points are used in multiples of ${policy.useUnit}.`, {
      amount: use.amount,
      unit: policy.useUnit,
    });
  }
  if (use.available < policy.minBalanceToUse) {
    return new AppError(
      'BELOW_MINIMUM_USE',
      `Points can be used from a balance of ${policy.minBalanceToUse}; the member holds ${use.available}.`,
      {
        minimum: policy.minBalanceToUse,
        available: use.available,
      },
    );
  }
  if (policy.maxUsePerOrder !== null && use.amount > policy.maxUsePerOrder) {
    return new AppError('POINTS_MAX_USE_EXCEEDED', `At most ${policy.maxUsePerOrder} points per order.`, {
      amount: use.amount,
      maximum: policy.maxUsePerOrder,
    });
  }
  if (policy.maxUseRatioBp !== null) {
    if (use.orderAmount === undefined)
      return new AppError('VALIDATION_FAILED', 'orderAmount is required: the policy limits points to a share of the order.');
    const maximum = applyBp(use.orderAmount, policy.maxUseRatioBp);
    if (use.amount > maximum) {
      return new AppError('POINTS_MAX_USE_EXCEEDED', `At most ${maximum} points on an order of ${use.orderAmount}.`, {
        amount: use.amount,
        maximum,
        orderAmount: use.orderAmount,
        maxUseRatioBp: policy.maxUseRatioBp,
      });
    }
  }
  if (use.amount > use.available) {
    return new AppError('INSUFFICIENT_POINTS', `The member holds ${use.available} points; ${use.amount} were asked.`, {
      available: use.available,
      amount: use.amount,
    });
  }
  return undefined;
}
