import { applyBp } from '../../platform/amounts.ts';
import { localDate, zonedMidnight } from '../../platform/clock.ts';
import type { TPrepaidSettings, TRefundPreview } from './prepaid.schemas.ts';

/**
 * The refund rule (환불 규정): a card's balance is refundable once the required share of its last
 * charge has been used; the fee is taken from the balance and the rest goes to the bank account.
 */
export function refundPreview(
  policy: TPrepaidSettings['refund'],
  card: { balance: number; lastChargeAmount: number; usedSinceLastCharge: number },
): TRefundPreview {
  const requiredUse = applyBp(card.lastChargeAmount, policy.minUsedBp, 'ceil');
  const amountStillToUse = Math.max(0, requiredUse - card.usedSinceLastCharge);
  const refundAmount = Math.max(0, card.balance - policy.fee);
  return {
    allowed: amountStillToUse === 0 && refundAmount > 0,
    ...card,
    requiredUse,
    amountStillToUse,
    fee: policy.fee,
    refundAmount,
  };
}

/**
 * The next monthly auto-charge after an instant: the start of day `dayOfMonth` in the tenant's time
 * zone, on the month's last day when the month is shorter (31 → 30 April, 28/29 February).
 */
export function nextMonthlyDue(after: Date, dayOfMonth: number, timeZone: string): Date {
  let [year, month] = localDate(after, timeZone).split('-').map(Number) as [number, number];
  for (;;) {
    const last = new Date(Date.UTC(year, month, 0)).getUTCDate();
    const day = Math.min(dayOfMonth, last);
    const due = zonedMidnight(`${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`, timeZone);
    if (due > after) return due;
    [year, month] = month === 12 ? [year + 1, 1] : [year, month + 1];
  }
}

/** When a failed auto-charge is tried again, or null when it is to be turned off. */
export function nextRetry(now: Date, failures: number, policy: TPrepaidSettings['autoCharge']): Date | null {
  if (failures >= policy.maxFailures) return null;
  const minutes = policy.retryMinutes[Math.min(failures, policy.retryMinutes.length) - 1] ?? 60;
  return new Date(now.getTime() + minutes * 60_000);
}
