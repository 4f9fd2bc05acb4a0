import { z } from 'zod';
import { AMOUNT_CEILING, ZAmount } from '../../platform/amounts.ts';
import { ZInstant } from '../../platform/http-schemas.ts';

export const CHANNELS = ['app', 'web', 'offline'] as const;
export const ZChannel = z.enum(CHANNELS).meta({ description: 'app, web (shop) or offline (store POS)' });
export const ZOrderId = z
  .string()
  .regex(/^[A-Za-z0-9_.:-]{1,100}$/)
  .meta({ description: 'The brand’s order number: one earning and one use per order.' });
export const ZOperationId = z.string().regex(/^[A-Za-z0-9_.:-]{1,100}$/);

export const ZPointPolicySettings = z
  .object({
    baseRateBp: z
      .number()
      .int()
      .min(0)
      .max(10_000)
      .default(100)
      .meta({ description: 'Points per 10,000 won paid for a member without a grade rate: 100 = 1 %.' }),
    gradeRates: z
      .boolean()
      .default(true)
      .meta({ description: 'Use the rate of the member’s grade level (GET /v1/grades) when it has one.' }),
    rounding: z.enum(['floor', 'round', 'ceil']).default('floor'),
    minBalanceToUse: ZAmount.default(0).meta({ description: 'Points may be used only from this balance up (e.g. 1,000).' }),
    useUnit: ZAmount.min(1).default(1).meta({ description: 'Uses are multiples of this (e.g. 10 or 100).' }),
    maxUsePerOrder: ZAmount.min(1).nullable().default(null),
    maxUseRatioBp: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .nullable()
      .default(null)
      .meta({ description: 'At most this share of the order amount: 5000 = 50 %.' }),
    validity: z
      .object({
        months: z.number().int().min(0).max(120).meta({ description: '0: points never expire.' }),
        roundTo: z
          .enum(['day', 'end_of_month', 'end_of_year'])
          .meta({ description: 'Expire at the end of that day, month or year (tenant time zone).' }),
      })
      .default({ months: 12, roundTo: 'end_of_month' }),
    earnChannels: z
      .array(ZChannel)
      .min(1)
      .default([...CHANNELS]),
    useChannels: z
      .array(ZChannel)
      .min(1)
      .default([...CHANNELS]),
  })
  .meta({ id: 'PointPolicySettings' });
export type TPointPolicySettings = z.infer<typeof ZPointPolicySettings>;

export const ZPointPolicyVersion = z
  .object({ version: z.number().int(), effectiveFrom: ZInstant, settings: ZPointPolicySettings })
  .meta({ id: 'PointPolicyVersion', description: 'Version 0 is the built-in default, in force until the brand sets its own.' });

export const ZPointPolicyRequest = z.object({
  effectiveFrom: ZInstant.optional().meta({
    description: 'From when it applies (now or later; default now). History is never rewritten.',
  }),
  settings: ZPointPolicySettings,
});

export const ZPointOperation = z
  .object({
    id: z.string().meta({ description: 'Also the ledger transaction id.' }),
    memberId: z.string(),
    kind: z.enum(['earn', 'use', 'cancel', 'adjust', 'import', 'grant']),
    amount: z.number().int().meta({ description: 'Signed: what the member’s balance moved by.' }),
    orderId: z.string().nullable(),
    originalId: z.string().nullable(),
    channel: z.string().nullable(),
    storeId: z.string().nullable(),
    reason: z.string().nullable(),
    policyVersion: z.number().int().nullable(),
    expiresAt: ZInstant.nullable().optional(),
    balance: z.number().int().optional().meta({ description: 'The member’s balance right after.' }),
    createdAt: ZInstant,
  })
  .meta({ id: 'PointOperation' });
export type TPointOperation = z.infer<typeof ZPointOperation>;

export const ZEarnRequest = z.object({
  memberId: z.string().max(40),
  orderId: ZOrderId,
  paidAmount: ZAmount.meta({ description: 'What the member paid after discounts (won); points are earned on this.' }),
  channel: ZChannel,
  storeId: z.string().max(40).optional(),
});

export const ZUseRequest = z.object({
  memberId: z.string().max(40),
  orderId: ZOrderId,
  amount: ZAmount.min(1),
  orderAmount: ZAmount.optional().meta({ description: 'The order total, for the policy’s maximum share.' }),
  channel: ZChannel,
  storeId: z.string().max(40).optional(),
});

export const ZCancelRequest = z.object({
  cancelId: ZOperationId.meta({ description: 'The cancellation’s own id (e.g. the POS refund number).' }),
  operationId: ZOperationId.meta({ description: 'The earning or use to cancel.' }),
  amount: ZAmount.min(1).optional().meta({ description: 'Partial cancel; all that is left when omitted.' }),
});

export const ZAdjustRequest = z.object({
  adjustmentId: ZOperationId,
  memberId: z.string().max(40),
  amount: z
    .number()
    .int()
    .min(-AMOUNT_CEILING)
    .max(AMOUNT_CEILING)
    .refine((n) => n !== 0, 'must not be 0')
    .meta({ description: 'Positive grants, negative takes away.' }),
  reason: z.string().trim().min(1).max(200),
  actor: z.string().max(100).optional(),
  expiresAt: ZInstant.optional().meta({ description: 'For a grant: its expiry (default: the policy’s validity).' }),
});

export const ZPointBalance = z
  .object({
    memberId: z.string(),
    accountId: z.string(),
    balance: z.number().int(),
    available: z.number().int(),
    expiringWithin30Days: z.number().int(),
    lots: z.array(z.object({ amount: z.number().int(), remaining: z.number().int(), expiresAt: ZInstant.nullable() })),
  })
  .meta({ id: 'PointBalance' });
