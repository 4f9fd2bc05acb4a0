import { z } from 'zod';
import { AMOUNT_CEILING, ZAmount } from '../../platform/amounts.ts';
import { ZInstant } from '../../platform/http-schemas.ts';

export const ZGradeLevel = z
  .object({
    code: z
      .string()
      .regex(/^[A-Z][A-Z0-9_]{0,29}$/)
      .meta({ example: 'GOLD' }),
    name: z.string().min(1).max(50).meta({ example: '골드' }),
    rank: z.number().int().min(0).max(100).meta({ description: 'Higher is better; the lowest level is every member’s start.' }),
    accrualBp: z.number().int().min(0).max(10_000).meta({ description: 'Points per 10,000 won paid (basis points): 100 = 1 %.' }),
    benefit: z.string().max(500).default(''),
    minOrders: z
      .number()
      .int()
      .min(0)
      .max(1_000_000)
      .default(0)
      .meta({ description: 'Orders needed within windowDays (0: none).' }),
    minAmount: ZAmount.default(0).meta({ description: 'Amount (won) needed within windowDays (0: none).' }),
    windowDays: z.number().int().min(1).max(3650).default(365),
  })
  .meta({ id: 'GradeLevel' });
export type TGradeLevel = z.infer<typeof ZGradeLevel>;

export const ZGradeSettings = z
  .object({
    levels: z.array(ZGradeLevel).min(1).max(20),
    reviewCycle: z.enum(['daily', 'monthly', 'quarterly']).default('monthly'),
  })
  .meta({ id: 'GradeSettings' });
export type TGradeSettings = z.infer<typeof ZGradeSettings>;

/** What GET /v1/grades answers: no level until the brand sets them. */
export const ZGradeSettingsView = ZGradeSettings.extend({
  levels: z
    .array(ZGradeLevel)
    .max(20)
    .meta({ description: 'Lowest rank first; empty until the brand sets its levels (PUT /v1/grades).' }),
}).meta({ id: 'GradeSettingsView' });

export const ZPurchase = z
  .object({
    memberId: z.string(),
    amount: z
      .number()
      .int()
      .min(-AMOUNT_CEILING)
      .max(AMOUNT_CEILING)
      .meta({ description: 'Won paid; negative for a cancellation.' }),
    orders: z
      .number()
      .int()
      .min(-1)
      .max(1)
      .default(1)
      .meta({ description: '1 for an order, -1 for a cancelled one, 0 for a partial cancellation.' }),
    at: ZInstant.optional(),
  })
  .meta({ id: 'GradePurchase' });

export const ZGradeChange = z
  .object({
    id: z.string(),
    from: z.string().nullable(),
    to: z.string(),
    source: z.enum(['review', 'manual', 'signup']),
    reason: z.string(),
    actor: z.string().nullable(),
    changedAt: ZInstant,
  })
  .meta({ id: 'GradeChange' });
export type TGradeChange = z.infer<typeof ZGradeChange>;

export const ZMemberGrade = z
  .object({ memberId: z.string(), grade: z.string(), changed: z.boolean(), level: ZGradeLevel })
  .meta({ id: 'MemberGrade' });
