import { z } from 'zod';
import { ZInstant } from '../../platform/http-schemas.ts';
import { CARRIERS, FAILURE_REASONS } from './identity.rules.ts';

export const PURPOSES = [
  'signup',
  'find_id',
  'reset_password',
  'change_phone',
  'age_check',
  'promotion_entry',
  'reactivate',
] as const;

export const ZStartVerificationRequest = z
  .object({
    purpose: z.enum(PURPOSES),
    method: z.enum(['phone', 'ipin']).default('phone'),
    returnUrl: z
      .url({ protocol: /^https?$/ })
      .max(2000)
      .meta({ description: 'Where the person’s browser is sent back to, with verificationId and requestNo in the query.' }),
    minAge: z
      .number()
      .int()
      .min(0)
      .max(100)
      .default(14)
      .meta({ description: 'Below this age (만 나이, in Korea) the verification fails with UNDER_AGE.' }),
    preview: z.boolean().default(false).meta({
      description: 'A console try-out with the sandbox’s test identities: free, and counted apart from live verifications.',
    }),
  })
  .meta({ id: 'StartVerificationRequest' });
export type TStartVerificationRequest = z.infer<typeof ZStartVerificationRequest>;

export const ZVerificationId = z.string().regex(/^idv_[0-9a-z]{26}$/);

export const ZVerification = z
  .object({
    id: ZVerificationId,
    requestNo: z.string(),
    provider: z.string(),
    purpose: z.enum(PURPOSES),
    method: z.enum(['phone', 'ipin']),
    mode: z.enum(['live', 'preview']),
    status: z.enum(['pending', 'verified', 'failed']),
    reason: z.enum(FAILURE_REASONS).nullable().meta({ description: 'Why it failed (a stable code); null unless failed.' }),
    minAge: z.number().int(),
    redirectUrl: z.string().nullable().meta({ description: 'While pending: where to send the person’s browser.' }),
    identity: z
      .object({
        name: z.string().meta({ description: 'Masked (홍*동).' }),
        birthYear: z.number().int(),
        age: z.number().int(),
        gender: z.enum(['male', 'female']),
        nationality: z.enum(['domestic', 'foreign']),
        carrier: z.enum(CARRIERS).nullable(),
        phone: z.string().nullable().meta({ description: 'Masked (010-****-5678).' }),
      })
      .nullable()
      .meta({ description: 'Once verified: what it proved, masked. CI and DI are never shown.' }),
    createdAt: ZInstant,
    expiresAt: ZInstant,
    completedAt: ZInstant.nullable(),
  })
  .meta({ id: 'Verification' });
export type TVerification = z.infer<typeof ZVerification>;

export const ZVerificationUnits = z
  .object({
    available: z.number().int().meta({ description: 'Units left to start live verifications with.' }),
    held: z.number().int().meta({ description: 'Units reserved by live verifications in progress.' }),
    used: z.number().int().meta({ description: 'Successful live verifications (one unit each).' }),
    previewVerified: z.number().int().meta({ description: 'Successful preview verifications (free, counted apart).' }),
    accountId: z.string().meta({ description: 'The VERIFICATION ledger account; its history lists every grant and use.' }),
  })
  .meta({ id: 'VerificationUnits' });
export type TVerificationUnits = z.infer<typeof ZVerificationUnits>;

export const ZGrantUnitsRequest = z
  .object({
    units: z.number().int().min(1).max(10_000_000),
    memo: z.string().max(200).optional(),
  })
  .meta({ id: 'GrantVerificationUnitsRequest' });
