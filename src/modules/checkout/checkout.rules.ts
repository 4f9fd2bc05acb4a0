// Which coupons go together, and the combination that takes off the most.
// An exclusive coupon is used alone; stackable coupons combine, one per definition. Each coupon's
// discount is computed on the order as it is (not after the others), and the sum never exceeds it.

export type CouponOption = { couponId: string; definitionId: string; discount: number; stacking: 'exclusive' | 'stackable' };

/** The best combination: the larger of the best exclusive coupon alone and every definition's best stackable coupon together. */
export function bestCombination(options: CouponOption[], orderAmount: number): { couponIds: string[]; discount: number } {
  const byDiscount = [...options].sort((a, b) => b.discount - a.discount || a.couponId.localeCompare(b.couponId));
  const exclusive = byDiscount.find((o) => o.stacking === 'exclusive');
  const stackable: CouponOption[] = [];
  for (const o of byDiscount)
    if (o.stacking === 'stackable' && !stackable.some((s) => s.definitionId === o.definitionId)) stackable.push(o);
  const together = Math.min(
    orderAmount,
    stackable.reduce((s, o) => s + o.discount, 0),
  );
  const alone = exclusive ? Math.min(orderAmount, exclusive.discount) : 0;
  // On a tie, fewer coupons: the member keeps the others for later.
  if (exclusive && (alone > together || (alone === together && stackable.length > 1)))
    return { couponIds: [exclusive.couponId], discount: alone };
  return { couponIds: stackable.filter((o) => o.discount > 0).map((o) => o.couponId), discount: together };
}

/** Why a chosen set of coupons cannot be used together, or null. */
export function combinationProblem(
  chosen: Pick<CouponOption, 'couponId' | 'definitionId' | 'stacking'>[],
): { message: string; details: Record<string, unknown> } | null {
  const exclusive = chosen.find((c) => c.stacking === 'exclusive');
  if (exclusive && chosen.length > 1)
    return {
      message: 'An exclusive coupon is used alone.',
      details: { exclusive: exclusive.couponId, chosen: chosen.map((c) => c.couponId) },
    };
  const seen = new Map<string, string>();
  for (const c of chosen) {
    const other = seen.get(c.definitionId);
    if (other)
      return {
        message: 'One coupon of a kind per order.',
        details: { definitionId: c.definitionId, coupons: [other, c.couponId] },
      };
    seen.set(c.definitionId, c.couponId);
  }
  return null;
}

/**
 * Splits `amount` over parts in proportion to what each has left, largest remainder first (ties to
 * the earlier part). Every share is between 0 and its part, the shares add up to `amount`, and an
 * amount equal to everything left gives every part exactly its rest: a checkout cancelled in
 * several steps gives back, in the end, exactly what it took.
 */
export function apportion(amount: number, left: number[]): number[] {
  const total = left.reduce((s, x) => s + x, 0);
  if (amount < 0 || amount > total || left.some((x) => x < 0))
    throw new RangeError(`Cannot split ${amount} over ${left.join(', ')}.`);
  if (total === 0) return left.map(() => 0);
  // BigInt: an amount times a part may pass 2^53.
  const exact = left.map((x) => BigInt(x) * BigInt(amount));
  const shares = exact.map((e) => Number(e / BigInt(total)));
  let rest = amount - shares.reduce((s, x) => s + x, 0);
  const byRemainder = exact
    .map((e, i) => ({ i, r: e % BigInt(total) }))
    .sort((a, b) => (a.r === b.r ? a.i - b.i : a.r > b.r ? -1 : 1));
  for (const { i } of byRemainder) {
    if (rest === 0) break;
    shares[i]! += 1;
    rest -= 1;
  }
  return shares;
}

/** A line cancelled in part or whole. */
export type CancelLine = { line: number; quantity: number };

/** What a checkout's cancels have given back so far (kept on the checkout, cumulative). */
export type Cancelled = {
  quantities: number[];
  amount: number;
  discount: number;
  points: number;
  prepaid: number;
  paid: number;
  pointsEarned: number;
  stamps: number;
};
export const nothingCancelled = (lines: number): Cancelled => ({
  quantities: Array(lines).fill(0),
  amount: 0,
  discount: 0,
  points: 0,
  prepaid: 0,
  paid: 0,
  pointsEarned: 0,
  stamps: 0,
});

type Committed = {
  orderAmount: number;
  discount: number;
  pointsUsed: number;
  prepaidUsed: number;
  paidAmount: number;
  pointsEarned: number;
};

/**
 * The share of a checkout that `amount` of its order stands for, out of what earlier cancels left:
 * first coupon discount against the rest, then that rest over points, prepaid and other payments,
 * and the earned points to take back, all in proportion. The member gets back `amount` less the
 * discount share; the coupon stays used until the last line is cancelled.
 */
export function cancelShare(c: Committed, was: Cancelled, amount: number) {
  const orderLeft = c.orderAmount - was.amount;
  const discountLeft = c.discount - was.discount;
  const [discount, net] = apportion(amount, [discountLeft, orderLeft - discountLeft]) as [number, number];
  const [points, prepaid, paid] = apportion(net, [
    c.pointsUsed - was.points,
    c.prepaidUsed - was.prepaid,
    c.paidAmount - was.paid,
  ]) as [number, number, number];
  const earnedLeft = c.pointsEarned - was.pointsEarned;
  const pointsEarned =
    amount === orderLeft ? earnedLeft : Number((BigInt(earnedLeft) * BigInt(amount)) / BigInt(Math.max(orderLeft, 1)));
  return { amount, discount, points, prepaid, paid, pointsEarned };
}

/** What has been given back once a cancel's share is added. */
export const addShare = (was: Cancelled, s: ReturnType<typeof cancelShare>): Cancelled => ({
  ...was,
  amount: was.amount + s.amount,
  discount: was.discount + s.discount,
  points: was.points + s.points,
  prepaid: was.prepaid + s.prepaid,
  paid: was.paid + s.paid,
  pointsEarned: was.pointsEarned + s.pointsEarned,
});
