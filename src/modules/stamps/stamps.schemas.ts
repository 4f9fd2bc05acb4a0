import { z } from 'zod';
import { ZAmount, ZQuantity } from '../../platform/amounts.ts';
import { ZInstant } from '../../platform/http-schemas.ts';

const ZChannel = z.enum(['app', 'web', 'offline']);
export const ZStampPolicy = z
  .object({
    channels: z.array(ZChannel).min(1).default(['app', 'web', 'offline']),
    stores: z
      .union([z.literal('all'), z.array(z.string().max(40)).min(1)])
      .default('all')
      .meta({ description: 'Participating stores: all, or a list.' }),
    conditionProducts: z
      .array(z.string().max(60))
      .max(500)
      .default([])
      .meta({ description: 'Empty: any product. Otherwise the order must contain one.' }),
    minAmount: ZAmount.default(0),
    basis: z.enum(['per_order', 'per_item', 'per_condition_item', 'per_amount']).default('per_order'),
    perAmount: ZAmount.min(1).optional().meta({ description: 'per_amount: one stamp per this many won.' }),
    paymentMethods: z.array(z.string().max(30)).default([]).meta({ description: 'Empty: any payment method.' }),
    serviceTypes: z.array(z.enum(['pickup', 'in_store', 'delivery', 'parcel'])).default([]),
    grades: z.array(z.string().max(30)).default([]),
    earnWhenCouponUsed: z.boolean().default(true),
    maxPerEarning: z.number().int().min(1).nullable().default(null),
    maxPerDay: z.number().int().min(1).nullable().default(null),
  })
  .refine((p) => p.basis !== 'per_amount' || p.perAmount !== undefined, {
    message: 'per_amount needs perAmount',
    path: ['perAmount'],
  })
  .meta({ id: 'StampPolicy' });
export type TStampPolicy = z.infer<typeof ZStampPolicy>;

export const ZReward = z
  .discriminatedUnion('type', [
    z.object({ type: z.literal('points'), points: ZAmount.min(1) }),
    z.object({ type: z.literal('coupon'), couponDefinitionId: z.string().max(40), name: z.string().max(100) }),
  ])
  .meta({
    id: 'StampReward',
    description: 'points: granted through the ledger at once; coupon: a stamps.board_completed event for the coupon module.',
  });
export type TReward = z.infer<typeof ZReward>;

export const ZStampCardRequest = z.object({
  name: z.string().trim().min(1).max(100),
  type: z.enum(['payment', 'event']).default('payment'),
  issueFrom: ZInstant,
  issueUntil: ZInstant,
  stampsPerBoard: z.number().int().min(1).max(100),
  maxBoards: z.number().int().min(1).max(1_000_000).nullable().default(null),
  stampValidityDays: z
    .number()
    .int()
    .min(1)
    .max(36_500)
    .nullable()
    .default(null)
    .meta({ description: 'Each stamp’s validity, never beyond the issue period.' }),
  reward: ZReward,
  policy: ZStampPolicy.default(ZStampPolicy.parse({})),
});
export type TStampCardRequest = z.infer<typeof ZStampCardRequest>;

export const ZStampCard = ZStampCardRequest.extend({
  id: z.string(),
  status: z.enum(['active', 'paused']),
  createdAt: ZInstant,
}).meta({ id: 'StampCard' });
export type TStampCard = z.infer<typeof ZStampCard>;

export const ZOrder = z.object({
  memberId: z.string().max(40),
  orderId: z.string().regex(/^[A-Za-z0-9_.:-]{1,100}$/),
  channel: ZChannel,
  storeId: z.string().max(40).optional(),
  deviceSerial: z.string().max(40).optional().meta({ description: 'A stamp device: its store is the order’s store.' }),
  serviceType: z.enum(['pickup', 'in_store', 'delivery', 'parcel']).optional(),
  amount: ZAmount.meta({ description: 'Paid amount (won).' }),
  items: z
    .array(z.object({ productId: z.string().max(60), quantity: ZQuantity, unitPrice: ZAmount }))
    .max(200)
    .default([]),
  paymentMethods: z.array(z.string().max(30)).default([]),
  couponUsed: z.boolean().default(false),
});
export type TOrder = z.infer<typeof ZOrder>;

export const ZEarnResult = z
  .object({
    cardId: z.string(),
    earned: z.number().int(),
    earningId: z.string().nullable(),
    skipped: z
      .object({ code: z.string(), rule: z.string().optional(), message: z.string() })
      .nullable()
      .meta({ description: 'Why this card earned nothing.' }),
    stamps: z.number().int().meta({ description: 'Stamps on the current board after it.' }),
    completedBoards: z
      .array(z.number().int())
      .meta({ description: 'The numbers of the boards this earning completed (each rewarded once).' }),
  })
  .meta({ id: 'StampEarnResult' });
export type TEarnResult = z.infer<typeof ZEarnResult>;

export const ZMemberStampCard = z.object({
  card: ZStampCard,
  stamps: z.number().int(),
  boardsCompleted: z.number().int().meta({ description: 'How many boards the member has completed on this card.' }),
  expiringWithin30Days: z.number().int(),
});
