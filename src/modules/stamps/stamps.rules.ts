import type { TOrder, TStampPolicy } from './stamps.schemas.ts';

export type Eligibility = { count: number } | { rule: string; message: string };

/**
 * How many stamps an order earns on a card under its policy, or the first rule that excludes it
 * (before any daily limit, which needs the member's day).
 */
export function stampsForOrder(
  p: TStampPolicy,
  order: TOrder & { storeId?: string | undefined },
  grade: string | null,
): Eligibility {
  if (!p.channels.includes(order.channel))
    return { rule: 'channel', message: `Stamps are not earned in channel ${order.channel}.` };
  if (p.stores !== 'all' && (!order.storeId || !p.stores.includes(order.storeId)))
    return { rule: 'store', message: 'The store does not take part in this stamp card.' };
  if (p.serviceTypes.length && (!order.serviceType || !p.serviceTypes.includes(order.serviceType)))
    return { rule: 'service_type', message: `Service type ${order.serviceType ?? '(none)'} does not earn.` };
  if (p.paymentMethods.length && !order.paymentMethods.some((m) => p.paymentMethods.includes(m)))
    return { rule: 'payment_method', message: 'None of the payment methods earns stamps.' };
  if (p.grades.length && (!grade || !p.grades.includes(grade)))
    return { rule: 'grade', message: `Grade ${grade ?? '(none)'} does not earn stamps.` };
  if (!p.earnWhenCouponUsed && order.couponUsed)
    return { rule: 'coupon_used', message: 'Orders with a coupon do not earn stamps.' };
  return basketStamps(p, order);
}

/**
 * What the basket alone earns: the minimum amount, the condition products, the basis and the
 * per-earning maximum. Also what is left of an order's stamps after a partial cancel.
 */
export function basketStamps(p: TStampPolicy, order: Pick<TOrder, 'items' | 'amount'>): Eligibility {
  if (order.amount < p.minAmount) return { rule: 'min_amount', message: `Orders from ${p.minAmount} earn stamps.` };
  const conditionQty = order.items.filter((i) => p.conditionProducts.includes(i.productId)).reduce((s, i) => s + i.quantity, 0);
  if (p.conditionProducts.length && conditionQty === 0)
    return { rule: 'condition_products', message: 'The order has none of the condition products.' };
  let count: number;
  switch (p.basis) {
    case 'per_order':
      count = 1;
      break;
    case 'per_item':
      count = order.items.reduce((s, i) => s + i.quantity, 0);
      break;
    case 'per_condition_item':
      count = conditionQty;
      break;
    case 'per_amount':
      count = Math.floor(order.amount / p.perAmount!);
      break;
  }
  if (count === 0) return { rule: 'basis', message: 'The order earns no stamp on this basis.' };
  return { count: p.maxPerEarning === null ? count : Math.min(count, p.maxPerEarning) };
}
