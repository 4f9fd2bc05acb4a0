import { z } from 'zod';
import { ZAmount, ZQuantity } from '../../platform/amounts.ts';
import { ZInstant } from '../../platform/http-schemas.ts';

const ZOpId = z.string().regex(/^[A-Za-z0-9_.:-]{1,100}$/);

export const ZBasket = z.object({
  memberId: z.string().max(40),
  storeId: z.string().max(40).optional(),
  channel: z.enum(['app', 'web', 'offline']),
  serviceType: z.enum(['pickup', 'in_store', 'delivery', 'parcel']).optional(),
  items: z
    .array(z.object({ productId: z.string().max(60), quantity: ZQuantity, unitPrice: ZAmount }))
    .min(1)
    .max(200),
  deliveryFee: ZAmount.default(0),
  paymentMethods: z.array(z.string().max(30)).max(10).default([]),
});
export type TBasket = z.infer<typeof ZBasket>;

export const ZCommitRequest = ZBasket.extend({
  checkoutId: ZOpId.meta({
    description: 'The caller’s id for this checkout (the POS or app order number): a retry with it returns the first answer.',
  }),
  couponIds: z.array(z.string().max(40)).max(10).default([]),
  points: ZAmount.default(0),
  prepaid: z.object({ cardId: z.string().max(40), amount: ZAmount.min(1) }).optional(),
  holdId: z
    .string()
    .max(100)
    .optional()
    .meta({ description: 'The coupon hold (POST /v1/coupons/holds) taken for this payment.' }),
  occurredAt: ZInstant.optional().meta({
    description: 'When the sale happened, for a checkout replayed by a POS that was offline.',
  }),
});
export type TCommitRequest = z.infer<typeof ZCommitRequest>;

const ZCouponOption = z.object({
  couponId: z.string(),
  definitionId: z.string(),
  name: z.string(),
  stacking: z.enum(['exclusive', 'stackable']),
});

export const ZQuote = z
  .object({
    orderAmount: z.number().int().meta({ description: 'Items plus the delivery fee, before any discount.' }),
    coupons: z.object({
      applicable: z.array(ZCouponOption.extend({ discount: z.number().int() })),
      inapplicable: z.array(
        ZCouponOption.extend({ code: z.string(), message: z.string(), details: z.record(z.string(), z.unknown()) }),
      ),
      best: z
        .object({ couponIds: z.array(z.string()), discount: z.number().int() })
        .meta({ description: 'The combination that takes off the most under the stacking rules.' }),
    }),
    payable: z
      .number()
      .int()
      .meta({ description: 'The order amount less the best combination: what points, prepaid and other payments cover.' }),
    points: z.object({
      balance: z.number().int(),
      usable: z.number().int().meta({ description: 'The most points usable on this order under the policy.' }),
      rule: z.string().nullable().meta({ description: 'Why no point can be used, if so.' }),
      useUnit: z.number().int(),
      earn: z
        .number()
        .int()
        .meta({ description: 'Points the payable amount earns at the member’s rate (less if points are used).' }),
      earnRateBp: z.number().int(),
    }),
    prepaid: z.object({
      cards: z.array(z.object({ cardId: z.string(), nickname: z.string(), main: z.boolean(), balance: z.number().int() })),
    }),
    stamps: z
      .array(z.object({ cardId: z.string(), name: z.string(), count: z.number().int(), rule: z.string().nullable() }))
      .meta({ description: 'Per stamp card, what the order earns (before the daily maximum), or the rule that excludes it.' }),
  })
  .meta({ id: 'CheckoutQuote' });
export type TQuote = z.infer<typeof ZQuote>;

export const ZCancelRequest = z.object({
  cancelId: ZOpId.meta({ description: 'The caller’s id for this cancel: a retry with it returns the checkout as it is.' }),
  lines: z
    .array(z.object({ line: z.number().int().min(0), quantity: z.number().int().min(1) }))
    .min(1)
    .max(200)
    .optional()
    .meta({ description: 'The lines (and how many of each) to cancel; without it, everything not cancelled yet.' }),
});

const ZCheckoutCancel = z
  .object({
    cancelId: z.string(),
    lines: z.array(z.object({ line: z.number().int(), quantity: z.number().int() })),
    full: z
      .boolean()
      .meta({ description: 'This cancel took the last lines: the delivery fee and the coupons came back with it.' }),
    amount: z.number().int().meta({ description: 'The cancelled lines’ price (plus the delivery fee on the last cancel).' }),
    discount: z.number().int().meta({ description: 'The coupon discount those lines had: not given back.' }),
    pointsRestored: z.number().int(),
    prepaidReturned: z.number().int(),
    paidRefund: z.number().int().meta({ description: 'What to refund by the other payment methods (card, cash).' }),
    pointsTakenBack: z.number().int(),
    stampsTakenBack: z.array(z.object({ cardId: z.string(), count: z.number().int() })),
    couponsRestored: z.array(z.string()),
    createdAt: ZInstant,
  })
  .meta({ id: 'CheckoutCancel' });
export type TCheckoutCancel = z.infer<typeof ZCheckoutCancel>;

export const ZCheckout = z
  .object({
    checkoutId: z.string(),
    memberId: z.string(),
    status: z.enum(['committed', 'partially_cancelled', 'cancelled']),
    orderAmount: z.number().int(),
    discount: z.number().int(),
    coupons: z.array(z.object({ couponId: z.string(), useId: z.string(), discount: z.number().int() })),
    pointsUsed: z.number().int(),
    prepaidUsed: z.number().int(),
    paidAmount: z.number().int().meta({ description: 'What is left to pay by other means.' }),
    pointsEarned: z.number().int(),
    stamps: z.array(z.object({ cardId: z.string(), earned: z.number().int(), skipped: z.string().nullable() })),
    occurredAt: ZInstant.nullable(),
    createdAt: ZInstant,
    items: z
      .array(
        z.object({
          line: z.number().int(),
          productId: z.string(),
          quantity: z.number().int(),
          unitPrice: z.number().int(),
          cancelledQuantity: z.number().int(),
        }),
      )
      .meta({
        description: 'The order’s lines, numbered from 0 (a partial cancel names them), with what was cancelled of each.',
      }),
    cancels: z.array(ZCheckoutCancel),
    cancelledAt: ZInstant.nullable().meta({ description: 'When the last line was cancelled.' }),
  })
  .meta({ id: 'Checkout' });
export type TCheckout = z.infer<typeof ZCheckout>;

/** A checkout in a list: who, where, when and the amounts (GET /v1/checkout/{id} has the rest). */
export const ZCheckoutSummary = z
  .object({
    checkoutId: z.string(),
    memberId: z.string(),
    storeId: z.string().nullable(),
    status: ZCheckout.shape.status,
    orderAmount: z.number().int(),
    discount: z.number().int(),
    pointsUsed: z.number().int(),
    prepaidUsed: z.number().int(),
    paidAmount: z.number().int(),
    occurredAt: ZInstant.nullable(),
    createdAt: ZInstant,
    cancelledAt: ZInstant.nullable(),
  })
  .meta({ id: 'CheckoutSummary' });
export type TCheckoutSummary = z.infer<typeof ZCheckoutSummary>;

export const ZCheckoutListQuery = z.object({
  memberId: z.string().max(40).optional(),
  storeId: z.string().max(40).optional(),
  status: ZCheckout.shape.status.optional(),
  from: ZInstant.optional().meta({ description: 'Recorded at or after this instant.' }),
  to: ZInstant.optional().meta({ description: 'Recorded before this instant.' }),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional().meta({ description: 'The previous page’s `nextCursor`.' }),
});
export type TCheckoutListQuery = z.infer<typeof ZCheckoutListQuery>;

export const ZReplayRequest = z.object({
  checkouts: z
    .array(ZCommitRequest.required({ occurredAt: true }))
    .min(1)
    .max(500)
    .meta({ description: 'A POS’s offline checkouts with their original ids and times; applied in the order of occurredAt.' }),
});
export const ZReplayResult = z
  .object({
    items: z.array(
      z.object({
        checkoutId: z.string(),
        occurredAt: ZInstant,
        outcome: z.enum(['committed', 'already_committed', 'rejected']),
        checkout: ZCheckout.optional(),
        rejection: z
          .object({ code: z.string(), message: z.string(), details: z.record(z.string(), z.unknown()).optional() })
          .optional()
          .meta({ description: 'Why this checkout did not apply, with the refusing rule’s code.' }),
      }),
    ),
  })
  .meta({ id: 'CheckoutReplay' });
