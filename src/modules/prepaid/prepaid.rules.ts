import type { TPrepaidSettings, TRefundPreview } from './prepaid.schemas.ts';

/**
 * The refund rule (환불 규정): a card's balance is refundable once the required share of its last
 * charge has been used; the fee is taken from the balance and the rest goes to the bank account.
 */
export function refundPreview(policy: TPrepaidSettings['refund'], card: { balance: number; lastChargeAmount: number; usedSinceLastCharge: number }): TRefundPreview {
  const requiredUse = Math.ceil((card.lastChargeAmount * policy.minUsedBp) / 10_000);
  const amountStillToUse = Math.max(0, requiredUse - card.usedSinceLastCharge);
  const refundAmount = Math.max(0, card.balance - policy.fee);
  return { allowed: amountStillToUse === 0 && refundAmount > 0, ...card, requiredUse, amountStillToUse, fee: policy.fee, refundAmount };
}
