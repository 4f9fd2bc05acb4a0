import { applyBp } from '../../platform/amounts.ts';
import { addDays, localDate, zonedMidnight } from '../../platform/clock.ts';
import type { ErrorCode } from '../../platform/errors.ts';
import type { TBenefit, TCouponRules, TOrderContext } from './coupons.schemas.ts';

// The coupon rules as pure functions: whether a coupon applies to an order, and what it takes off.
// Every refusal names its rule with a stable code and the values involved, in a fixed order
// (the coupon's own state first, then who, where, when, then what the order holds).

export type CouponCheck =
  | { ok: true; discount: number }
  | { ok: false; code: ErrorCode; message: string; details: Record<string, unknown> };

export type CheckContext = {
  now: Date;
  timeZone: string;
  definitionStatus: 'active' | 'paused' | 'ended';
  coupon: { status: 'active' | 'used' | 'revoked'; validFrom: Date; validUntil: Date; heldUntil?: Date | null | undefined };
  /** The hold the caller presents (a checkout committing a payment it held for). */
  holdMatches?: boolean;
  grade: string | null;
  storeRegion: string | null;
  /** Coupons of this definition the member has used (for usesPerMember). */
  memberUses: number;
  order: TOrderContext;
};

const orderAmount = (o: TOrderContext) => o.amount ?? o.items.reduce((s, i) => s + i.quantity * i.unitPrice, 0);

// A formatter costs far more to build than to use: one per time zone.
const clockFormats = new Map<string, Intl.DateTimeFormat>();

/** The weekday (0 = Sunday) and the HH:MM of an instant in a time zone. */
export function localClock(at: Date, timeZone: string): { weekday: number; time: string } {
  let f = clockFormats.get(timeZone);
  if (!f)
    clockFormats.set(
      timeZone,
      (f = new Intl.DateTimeFormat('en-US', {
        timeZone,
        weekday: 'short',
        hour: '2-digit',
        minute: '2-digit',
        hourCycle: 'h23',
      })),
    );
  const parts = Object.fromEntries(f.formatToParts(at).map((p) => [p.type, p.value]));
  return {
    weekday: ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].indexOf(parts.weekday!),
    time: `${parts.hour}:${parts.minute}`,
  };
}

/** What the benefit takes off this order (0: no effect), before any rule. */
export function discountOf(rules: TCouponRules, order: TOrderContext): number {
  const base =
    rules.target === 'order'
      ? orderAmount(order)
      : order.items.filter((i) => rules.targetProducts.includes(i.productId)).reduce((s, i) => s + i.quantity * i.unitPrice, 0);
  const b: TBenefit = rules.benefit;
  switch (b.kind) {
    case 'amount':
      return Math.min(b.amount, base);
    case 'percent': {
      const d = applyBp(base, b.percentBp);
      return b.maxDiscount === null ? d : Math.min(d, b.maxDiscount);
    }
    case 'free_item': {
      const line = order.items.filter((i) => i.productId === b.productId).sort((x, y) => y.unitPrice - x.unitPrice)[0];
      return line ? line.unitPrice * Math.min(line.quantity, b.maxQuantity) : 0;
    }
    case 'delivery':
      return b.amount === null ? order.deliveryFee : Math.min(b.amount, order.deliveryFee);
  }
}

/** Whether the coupon applies to the order and what it takes off, or the first rule it breaks. */
export function checkCoupon(rules: TCouponRules, c: CheckContext): CouponCheck {
  const no = (code: ErrorCode, message: string, details: Record<string, unknown> = {}): CouponCheck => ({
    ok: false,
    code,
    message,
    details,
  });
  const o = c.order;
  if (c.coupon.status === 'used') return no('COUPON_ALREADY_USED', 'The coupon has been used.');
  if (c.coupon.status === 'revoked') return no('COUPON_REVOKED', 'The coupon was taken back.');
  if (c.coupon.heldUntil && c.coupon.heldUntil > c.now && !c.holdMatches) {
    return no('COUPON_HELD', 'The coupon is held for a payment in progress.', { heldUntil: c.coupon.heldUntil.toISOString() });
  }
  if (c.definitionStatus !== 'active')
    return no('COUPON_NOT_ACTIVE', `The coupon's campaign is ${c.definitionStatus}.`, { status: c.definitionStatus });
  if (c.now >= c.coupon.validUntil)
    return no('COUPON_EXPIRED', 'The coupon has expired.', { validUntil: c.coupon.validUntil.toISOString() });
  if (c.now < c.coupon.validFrom)
    return no('COUPON_NOT_YET_VALID', 'The coupon is not valid yet.', { validFrom: c.coupon.validFrom.toISOString() });
  if (rules.usesPerMember !== null && c.memberUses >= rules.usesPerMember) {
    return no('COUPON_MEMBER_USE_LIMIT', `A member uses at most ${rules.usesPerMember} of these coupons.`, {
      usesPerMember: rules.usesPerMember,
      used: c.memberUses,
    });
  }
  if (rules.grades.length && (!c.grade || !rules.grades.includes(c.grade))) {
    return no('COUPON_GRADE_NOT_ELIGIBLE', `The coupon is for grades ${rules.grades.join(', ')}.`, {
      grade: c.grade,
      grades: rules.grades,
    });
  }
  if (!rules.channels.includes(o.channel))
    return no('COUPON_WRONG_CHANNEL', `The coupon is used in ${rules.channels.join(', ')}.`, {
      channel: o.channel,
      channels: rules.channels,
    });
  if (rules.serviceTypes.length && (!o.serviceType || !rules.serviceTypes.includes(o.serviceType))) {
    return no('COUPON_WRONG_SERVICE_TYPE', `The coupon is for ${rules.serviceTypes.join(', ')}.`, {
      serviceType: o.serviceType ?? null,
      serviceTypes: rules.serviceTypes,
    });
  }
  if (rules.stores !== 'all' && (!o.storeId || !rules.stores.includes(o.storeId))) {
    return no('COUPON_STORE_NOT_ELIGIBLE', 'The store does not take this coupon.', {
      storeId: o.storeId ?? null,
      stores: rules.stores,
    });
  }
  if (rules.regions.length && (!c.storeRegion || !rules.regions.includes(c.storeRegion))) {
    return no('COUPON_REGION_NOT_ELIGIBLE', `The coupon is for stores in ${rules.regions.join(', ')}.`, {
      region: c.storeRegion,
      regions: rules.regions,
    });
  }
  if (rules.weekdays.length || rules.hours.length) {
    const { weekday, time } = localClock(c.now, c.timeZone);
    const dayOk = !rules.weekdays.length || rules.weekdays.includes(weekday);
    const timeOk = !rules.hours.length || rules.hours.some((h) => h.from <= time && time < h.to);
    if (!dayOk || !timeOk) {
      return no('COUPON_OUTSIDE_HOURS', 'The coupon is not usable at this time.', {
        weekday,
        time,
        weekdays: rules.weekdays,
        hours: rules.hours,
        timeZone: c.timeZone,
      });
    }
  }
  const amount = orderAmount(o);
  if (amount < rules.minOrderAmount) {
    return no('COUPON_MIN_ORDER', `Orders from ${rules.minOrderAmount} won take this coupon.`, {
      minOrderAmount: rules.minOrderAmount,
      orderAmount: amount,
      missing: rules.minOrderAmount - amount,
    });
  }
  if (rules.conditionProducts.length && !o.items.some((i) => rules.conditionProducts.includes(i.productId))) {
    return no('COUPON_CONDITION_PRODUCTS', 'The order has none of the products this coupon needs.', {
      conditionProducts: rules.conditionProducts,
    });
  }
  const discount = discountOf(rules, o);
  if (discount <= 0) {
    const what =
      rules.benefit.kind === 'free_item'
        ? `product ${rules.benefit.productId}`
        : rules.benefit.kind === 'delivery'
          ? 'a delivery fee'
          : 'any of the target products';
    return no('COUPON_NO_EFFECT', `The order has no ${what} for the coupon to take off.`, { benefit: rules.benefit.kind });
  }
  return { ok: true, discount };
}

/** When a coupon issued at `at` is valid: fixed dates, or N days counting the day of issue (tenant time zone). */
export function validityOf(rules: TCouponRules, at: Date, timeZone: string): { from: Date; until: Date } {
  const v = rules.validity;
  if (v.kind === 'fixed') return { from: new Date(v.from), until: new Date(v.until) };
  return { from: at, until: zonedMidnight(addDays(localDate(at, timeZone), v.days), timeZone) };
}

/** The share of a discount HQ bears (rounded down); the store bears the rest. */
export const hqShareOf = (rules: TCouponRules, discount: number) => applyBp(discount, rules.hqShareBp);

/**
 * Whose birthday falls on a date, as month * 100 + day: those born that day, and on 28 February
 * of a year without a 29th, those born on the 29th as well.
 */
export function birthdaysOn(date: string): number[] {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return month === 2 && day === 28 && !leap ? [228, 229] : [month * 100 + day];
}
