// Which coupons go together, and the combination that takes off the most.
// An exclusive coupon is used alone; stackable coupons combine, one per definition. Each coupon's
// discount is computed on the order as it is (not after the others), and the sum never exceeds it.

export type CouponOption = { couponId: string; definitionId: string; discount: number; stacking: 'exclusive' | 'stackable' };

/** The best combination: the larger of the best exclusive coupon alone and every definition's best stackable coupon together. */
export function bestCombination(options: CouponOption[], orderAmount: number): { couponIds: string[]; discount: number } {
  const byDiscount = [...options].sort((a, b) => b.discount - a.discount || a.couponId.localeCompare(b.couponId));
  const exclusive = byDiscount.find((o) => o.stacking === 'exclusive');
  const stackable: CouponOption[] = [];
  for (const o of byDiscount) if (o.stacking === 'stackable' && !stackable.some((s) => s.definitionId === o.definitionId)) stackable.push(o);
  const together = Math.min(orderAmount, stackable.reduce((s, o) => s + o.discount, 0));
  const alone = exclusive ? Math.min(orderAmount, exclusive.discount) : 0;
  // On a tie, fewer coupons: the member keeps the others for later.
  if (exclusive && (alone > together || (alone === together && stackable.length > 1))) return { couponIds: [exclusive.couponId], discount: alone };
  return { couponIds: stackable.filter((o) => o.discount > 0).map((o) => o.couponId), discount: together };
}

/** Why a chosen set of coupons cannot be used together, or null. */
export function combinationProblem(chosen: Pick<CouponOption, 'couponId' | 'definitionId' | 'stacking'>[]): { message: string; details: Record<string, unknown> } | null {
  const exclusive = chosen.find((c) => c.stacking === 'exclusive');
  if (exclusive && chosen.length > 1) return { message: 'An exclusive coupon is used alone.', details: { exclusive: exclusive.couponId, chosen: chosen.map((c) => c.couponId) } };
  const seen = new Map<string, string>();
  for (const c of chosen) {
    const other = seen.get(c.definitionId);
    if (other) return { message: 'One coupon of a kind per order.', details: { definitionId: c.definitionId, coupons: [other, c.couponId] } };
    seen.set(c.definitionId, c.couponId);
  }
  return null;
}
