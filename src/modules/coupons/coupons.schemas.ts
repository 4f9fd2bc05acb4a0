import { z } from 'zod';
import { ZAmount, ZQuantity } from '../../platform/amounts.ts';
import { ZInstant } from '../../platform/http-schemas.ts';

export const ZChannel = z.enum(['app', 'web', 'offline']);
export const ZServiceType = z.enum(['pickup', 'in_store', 'delivery', 'parcel']);
const ZHhMm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$|^24:00$/);
export const ZOpId = z.string().regex(/^[A-Za-z0-9_.:-]{1,100}$/);

export const ZBenefit = z
  .discriminatedUnion('kind', [
    z.object({ kind: z.literal('amount'), amount: ZAmount.min(1).meta({ description: 'Won off.' }) }),
    z.object({
      kind: z.literal('percent'),
      percentBp: z.number().int().min(1).max(10_000).meta({ description: '1000 = 10 %.' }),
      maxDiscount: ZAmount.min(1).nullable().default(null).meta({ description: 'The most it takes off.' }),
    }),
    z.object({ kind: z.literal('free_item'), productId: z.string().max(60), maxQuantity: z.number().int().min(1).default(1) }),
    z.object({
      kind: z.literal('delivery'),
      amount: ZAmount.min(1).nullable().default(null).meta({ description: 'Won off the delivery fee; null: all of it.' }),
    }),
  ])
  .meta({ id: 'CouponBenefit' });
export type TBenefit = z.infer<typeof ZBenefit>;

export const ZValidity = z
  .discriminatedUnion('kind', [
    z.object({ kind: z.literal('fixed'), from: ZInstant, until: ZInstant }),
    z.object({
      kind: z.literal('days'),
      days: z
        .number()
        .int()
        .min(1)
        .max(3_650)
        .meta({ description: 'Valid for N days from issue, to the end of the last day (tenant time zone).' }),
    }),
  ])
  .meta({ id: 'CouponValidity' });

export const ZCouponRules = z
  .object({
    benefit: ZBenefit,
    target: z
      .enum(['order', 'products'])
      .default('order')
      .meta({ description: 'What the benefit applies to: the order, or the target products’ lines.' }),
    targetProducts: z.array(z.string().max(60)).max(500).default([]),
    minOrderAmount: ZAmount.default(0),
    conditionProducts: z
      .array(z.string().max(60))
      .max(500)
      .default([])
      .meta({ description: 'Empty: any. Otherwise the order must contain one.' }),
    channels: z.array(ZChannel).min(1).default(['app', 'web', 'offline']),
    serviceTypes: z.array(ZServiceType).default([]).meta({ description: 'Empty: any.' }),
    grades: z.array(z.string().max(30)).default([]).meta({ description: 'Empty: any grade (or none).' }),
    usesPerMember: z
      .number()
      .int()
      .min(1)
      .nullable()
      .default(null)
      .meta({ description: 'How many coupons of this definition one member may use; null: each issued one.' }),
    weekdays: z
      .array(z.number().int().min(0).max(6))
      .default([])
      .meta({ description: '0 = Sunday … 6 = Saturday, tenant time zone. Empty: every day.' }),
    hours: z
      .array(z.object({ from: ZHhMm, to: ZHhMm }))
      .max(10)
      .default([])
      .meta({ description: 'Time windows, tenant time zone. Empty: all day.' }),
    regions: z.array(z.string().max(30)).default([]).meta({ description: 'Store regions. Empty: any.' }),
    stores: z.union([z.literal('all'), z.array(z.string().max(40)).min(1)]).default('all'),
    stacking: z.enum(['exclusive', 'stackable']).default('stackable').meta({ description: 'An exclusive coupon is used alone.' }),
    validity: ZValidity,
    hqShareBp: z
      .number()
      .int()
      .min(0)
      .max(10_000)
      .default(10_000)
      .meta({ description: 'The share of the discount HQ bears (the store the rest), for settlement.' }),
    giftable: z.boolean().default(true),
  })
  .refine((r) => r.target === 'order' || r.targetProducts.length > 0, {
    message: 'target products needs targetProducts',
    path: ['targetProducts'],
  })
  .meta({ id: 'CouponRules' });
export type TCouponRules = z.infer<typeof ZCouponRules>;

export const ZDefinitionRequest = z.object({
  id: ZOpId.optional().meta({ description: 'Omitted: generated.' }),
  name: z.string().trim().min(1).max(100),
  rules: ZCouponRules,
  downloadable: z.boolean().default(false),
  autoIssue: z.enum(['signup', 'grade_up', 'birthday', 'first_order']).nullable().default(null).meta({
    description:
      'Issued by itself: on sign-up, on reaching a grade, on the birthday (once a year), or on the member’s first checkout.',
  }),
  autoIssueGrade: z.string().max(30).nullable().default(null).meta({ description: 'grade_up: only on reaching this grade.' }),
  autoIssueDaysBefore: z
    .number()
    .int()
    .min(0)
    .max(60)
    .default(0)
    .meta({ description: 'birthday: issued this many days before the birthday (0: on the day).' }),
  totalQuantity: z
    .number()
    .int()
    .min(1)
    .max(1_000_000_000)
    .nullable()
    .default(null)
    .meta({ description: 'First-come: never more are issued. Null: unlimited.' }),
  perMemberLimit: z.number().int().min(1).max(1000).default(1),
  issueFrom: ZInstant.nullable().default(null),
  issueUntil: ZInstant.nullable().default(null),
});
export type TDefinitionRequest = z.infer<typeof ZDefinitionRequest>;

export const ZDefinition = ZDefinitionRequest.extend({
  id: z.string(),
  status: z.enum(['active', 'paused', 'ended']),
  issued: z.number().int(),
  createdAt: ZInstant,
}).meta({ id: 'CouponDefinition' });
export type TDefinition = z.infer<typeof ZDefinition>;

export const ZCoupon = z
  .object({
    id: z.string(),
    definitionId: z.string(),
    name: z.string(),
    memberId: z.string(),
    status: z.enum(['active', 'used', 'revoked', 'expired']),
    validFrom: ZInstant,
    validUntil: ZInstant,
    source: z.string(),
    benefit: ZBenefit,
    stacking: z.enum(['exclusive', 'stackable']),
    usedAt: ZInstant.nullable(),
    issuedAt: ZInstant,
  })
  .meta({ id: 'Coupon' });
export type TCoupon = z.infer<typeof ZCoupon>;

export const ZOrderContext = z
  .object({
    orderId: ZOpId,
    channel: ZChannel,
    storeId: z.string().max(40).optional(),
    serviceType: ZServiceType.optional(),
    items: z
      .array(z.object({ productId: z.string().max(60), quantity: ZQuantity, unitPrice: ZAmount }))
      .max(200)
      .default([]),
    amount: ZAmount.optional().meta({ description: 'The order amount before discounts; omitted: the sum of the items.' }),
    deliveryFee: ZAmount.default(0),
  })
  .meta({ id: 'CouponOrder' });
export type TOrderContext = z.infer<typeof ZOrderContext>;

export const ZRedeemRequest = z.object({ memberId: z.string().max(40), couponId: z.string().max(40), order: ZOrderContext });
export const ZRedemption = z
  .object({
    id: z.string(),
    couponId: z.string(),
    definitionId: z.string(),
    orderId: z.string(),
    discount: z.number().int(),
    hqShare: z.number().int(),
    storeShare: z.number().int(),
    cancelled: z.boolean(),
    createdAt: ZInstant,
  })
  .meta({ id: 'CouponUse' });
export type TRedemption = z.infer<typeof ZRedemption>;
