import { z } from 'zod';
import { ZAmount } from '../../platform/amounts.ts';
import { ZInstant } from '../../platform/http-schemas.ts';
import { PAYMENT_METHODS } from './prepaid.provider.ts';

export const ZChannel = z.enum(['app', 'web', 'offline']);
export const ZOpId = z
  .string()
  .regex(/^[A-Za-z0-9_.:-]{1,100}$/)
  .meta({ description: 'The caller’s id for this operation (a retry with it never applies twice).' });

export const ZPrepaidSettings = z
  .object({
    minCharge: ZAmount.min(1).default(10_000),
    chargeUnit: ZAmount.min(1).default(1_000).meta({ description: 'Charges are multiples of this.' }),
    maxBalance: ZAmount.min(1)
      .default(2_000_000)
      .meta({ description: 'No card may hold more (전자금융거래법: 200만원 for unregistered value).' }),
    refund: z
      .object({
        minUsedBp: z
          .number()
          .int()
          .min(0)
          .max(10_000)
          .meta({ description: 'Share of the last charge that must be used before a refund: 8000 = 80 %.' }),
        fee: ZAmount,
      })
      .default({ minUsedBp: 8000, fee: 500 }),
    autoCharge: z
      .object({
        maxFailures: z
          .number()
          .int()
          .min(1)
          .max(10)
          .meta({ description: 'Consecutive failures after which auto-charge is turned off (with a notice).' }),
        retryMinutes: z
          .array(z.number().int().min(1).max(10_080))
          .min(1)
          .max(10)
          .meta({ description: 'Wait before the 1st, 2nd, … retry of a failed auto-charge.' }),
      })
      .default({ maxFailures: 3, retryMinutes: [10, 60, 360] }),
  })
  .meta({ id: 'PrepaidSettings' });
export type TPrepaidSettings = z.infer<typeof ZPrepaidSettings>;

export const ZCard = z
  .object({
    id: z.string(),
    memberId: z.string().nullable(),
    accountId: z.string(),
    nickname: z.string(),
    status: z.enum(['active', 'lost', 'suspended']),
    main: z.boolean(),
    physical: z.boolean(),
    numberLast4: z.string().nullable(),
    balance: z.number().int(),
    createdAt: ZInstant,
  })
  .meta({ id: 'PrepaidCard' });
export type TCard = z.infer<typeof ZCard>;

export const ZOperation = z
  .object({
    id: z.string(),
    cardId: z.string(),
    kind: z.enum(['charge', 'charge_cancel', 'use', 'use_cancel', 'gift', 'transfer', 'refund']),
    amount: z.number().int().meta({ description: 'Signed: what the card’s balance moved by.' }),
    toCardId: z.string().nullable(),
    orderId: z.string().nullable(),
    originalId: z.string().nullable(),
    channel: z.string().nullable(),
    storeId: z.string().nullable(),
    fee: z.number().int(),
    cancelled: z.boolean(),
    balance: z.number().int().optional().meta({ description: 'The card’s balance right after.' }),
    createdAt: ZInstant,
  })
  .meta({ id: 'PrepaidOperation' });
export type TOperation = z.infer<typeof ZOperation>;

export const ZPayment = z.object({
  method: z.enum(PAYMENT_METHODS),
  token: z
    .string()
    .min(1)
    .max(200)
    .meta({
      description:
        'For a charge: the payment provider’s id of the payment the person completed (PortOne: its paymentId), checked server to server. ' +
        'For auto-charge: the billing key. Sandbox (PAYMENT_PROVIDER=sandbox): a token starting with "decline" is declined.',
    }),
});

export const ZChargeRequest = z.object({ chargeId: ZOpId, amount: ZAmount.min(1), payment: ZPayment });
export const ZStoreChargeRequest = ZChargeRequest.extend({
  cardId: z.string().max(40),
  channel: ZChannel,
  storeId: z
    .string()
    .max(40)
    .optional()
    .meta({ description: 'The store charging (required for channel offline); it must be the brand’s.' }),
});
export const ZUseRequest = z.object({
  orderId: ZOpId,
  cardId: z.string().max(40),
  amount: ZAmount.min(1),
  channel: ZChannel,
  storeId: z.string().max(40).optional(),
});
export const ZUseCancelRequest = z.object({ cancelId: ZOpId, operationId: ZOpId, amount: ZAmount.min(1).optional() });
export const ZChargeCancelRequest = z.object({
  cancelId: ZOpId,
  chargeId: ZOpId,
  channel: ZChannel,
  storeId: z.string().max(40).optional(),
});
export const ZGiftRequest = z.object({
  giftId: ZOpId,
  toMemberId: z.string().max(40),
  amount: ZAmount.min(1)
    .optional()
    .meta({ description: 'An amount to the recipient’s main card; omitted: the card itself is given.' }),
  message: z.string().max(200).optional(),
});
export const ZTransferRequest = z.object({
  transferId: ZOpId,
  fromCardId: z.string().max(40),
  toCardId: z.string().max(40),
  amount: ZAmount.min(1),
});
export const ZRefundPreview = z
  .object({
    allowed: z.boolean(),
    balance: z.number().int(),
    lastChargeAmount: z.number().int(),
    usedSinceLastCharge: z.number().int(),
    requiredUse: z.number().int().meta({ description: 'What the policy requires used of the last charge.' }),
    amountStillToUse: z.number().int(),
    fee: z.number().int(),
    refundAmount: z.number().int().meta({ description: 'What the bank account would receive: balance − fee.' }),
  })
  .meta({ id: 'PrepaidRefundPreview' });
export type TRefundPreview = z.infer<typeof ZRefundPreview>;
export const ZRefundRequest = z.object({
  refundId: ZOpId,
  bank: z.object({
    code: z.string().regex(/^\d{3}$/),
    accountNumber: z.string().regex(/^[0-9-]{6,20}$/),
    holder: z.string().trim().min(1).max(50),
  }),
});
export const ZPromotionGrant = z.object({
  promotionId: z.string(),
  name: z.string(),
  points: z.number().int().nullable(),
  couponDefinitionId: z.string().nullable().meta({ description: 'Issued by the coupon module (event coupons.issue_requested).' }),
});
export type TPromotionGrant = z.infer<typeof ZPromotionGrant>;
export const ZChargeResult = ZOperation.extend({
  promotions: z.array(ZPromotionGrant).meta({ description: 'Charge promotions this charge earned.' }),
}).meta({ id: 'PrepaidCharge' });
export type TChargeResult = z.infer<typeof ZChargeResult>;

const autoChargeBase = { amount: ZAmount.min(1), payment: ZPayment };
export const ZAutoChargeRequest = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('threshold'),
    threshold: ZAmount.min(1).meta({ description: 'Charge when a payment leaves the balance below this.' }),
    ...autoChargeBase,
  }),
  z.object({
    kind: z.literal('monthly'),
    dayOfMonth: z
      .number()
      .int()
      .min(1)
      .max(31)
      .meta({ description: 'Charged at the start of this day (tenant time zone); the last day in shorter months.' }),
    ...autoChargeBase,
  }),
]);
export type TAutoChargeRequest = z.infer<typeof ZAutoChargeRequest>;
export const ZAutoCharge = z
  .object({
    cardId: z.string(),
    kind: z.enum(['threshold', 'monthly']),
    threshold: z.number().int().nullable(),
    dayOfMonth: z.number().int().nullable(),
    amount: z.number().int(),
    paymentMethod: z.string(),
    tokenLast4: z.string(),
    enabled: z.boolean(),
    failures: z.number().int().meta({ description: 'Consecutive failures so far.' }),
    nextAttemptAt: ZInstant.nullable(),
    lastError: z.string().nullable(),
    disabledReason: z.enum(['member', 'failures', 'refund']).nullable(),
    attempts: z.array(
      z.object({
        attemptedAt: ZInstant,
        chargeId: z.string(),
        amount: z.number().int(),
        outcome: z.enum(['charged', 'failed', 'disabled', 'skipped']),
        errorCode: z.string().nullable(),
        errorMessage: z.string().nullable(),
      }),
    ),
  })
  .meta({ id: 'PrepaidAutoCharge' });
export type TAutoCharge = z.infer<typeof ZAutoCharge>;

export const ZPromotionCreate = z
  .object({
    id: ZOpId.optional().meta({ description: 'Omitted: generated.' }),
    name: z.string().trim().min(1).max(60),
    minCharge: ZAmount.min(1),
    rewardPoints: ZAmount.min(1).optional(),
    rewardCouponId: z.string().max(40).optional().meta({ description: 'A coupon definition, issued by the coupon module.' }),
    perMemberLimit: z.number().int().min(1).max(1000).default(1),
    channels: z.array(ZChannel).min(1).optional().meta({ description: 'Omitted: every channel.' }),
    startsAt: ZInstant.optional(),
    endsAt: ZInstant.optional(),
  })
  .refine((p) => p.rewardPoints !== undefined || p.rewardCouponId !== undefined, {
    message: 'give rewardPoints, rewardCouponId or both',
    path: ['rewardPoints'],
  })
  .refine((p) => !p.startsAt || !p.endsAt || p.endsAt > p.startsAt, { message: 'must be after startsAt', path: ['endsAt'] });
export type TPromotionCreate = z.infer<typeof ZPromotionCreate>;
export const ZPromotion = z
  .object({
    id: z.string(),
    name: z.string(),
    minCharge: z.number().int(),
    rewardPoints: z.number().int().nullable(),
    rewardCouponId: z.string().nullable(),
    perMemberLimit: z.number().int(),
    channels: z.array(z.string()).nullable(),
    startsAt: ZInstant,
    endsAt: ZInstant.nullable(),
    status: z.enum(['active', 'ended']),
    remaining: z.number().int().optional().meta({ description: 'For a member: how many more times they can earn it.' }),
  })
  .meta({ id: 'PrepaidPromotion' });
export type TPromotion = z.infer<typeof ZPromotion>;

export const ZCardCreate = z.object({ nickname: z.string().trim().max(30).default('') });
export const ZCardUpdate = z
  .object({
    nickname: z.string().trim().max(30).optional(),
    status: z.enum(['active', 'lost', 'suspended']).optional(),
    main: z.literal(true).optional(),
  })
  .refine((v) => Object.keys(v).length > 0, 'send at least one field to change');
export const ZRegisterRequest = z.object({
  number: z.string().regex(/^\d{16}$/),
  pin: z.string().regex(/^\d{4,8}$/),
  nickname: z.string().trim().max(30).default(''),
});
