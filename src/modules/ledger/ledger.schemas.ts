import { z } from 'zod';
import { ZInstant, ZInstantWithOffset } from '../../platform/http-schemas.ts';

export const ZLedgerAccount = z
  .object({
    id: z.string(),
    ledger: z.string().meta({ example: 'POINT' }),
    ownerType: z.string().meta({ example: 'member' }),
    ownerId: z.string(),
    kind: z.string().meta({ example: 'wallet' }),
    status: z.enum(['active', 'frozen', 'closed']),
    flags: z.object({
      debitsMustNotExceedCredits: z.boolean(),
      creditsMustNotExceedDebits: z.boolean(),
      deferred: z
        .boolean()
        .meta({ description: 'A hot system account whose row is updated by rollup (reads are exact regardless).' }),
      hasLots: z.boolean().meta({ description: 'An expiring currency: credits make lots, debits draw first-expiring-first.' }),
    }),
    balance: z.object({
      posted: z.number().int().meta({ description: 'credits - debits, posted' }),
      pending: z.number().int().meta({ description: 'pending credits - pending debits (holds)' }),
      available: z.number().int().meta({ description: 'posted minus pending debits: what can be spent now' }),
      debitsPosted: z.number().int(),
      creditsPosted: z.number().int(),
      debitsPending: z.number().int(),
      creditsPending: z.number().int(),
    }),
    createdAt: ZInstant,
  })
  .meta({ id: 'LedgerAccount' });
export type TLedgerAccount = z.infer<typeof ZLedgerAccount>;

export const ZLedgerEntry = z
  .object({
    seq: z.string().meta({ description: 'Position in the account’s history; also the cursor.' }),
    transactionId: z.string(),
    leg: z.number().int(),
    amount: z.number().int().meta({ description: 'Positive: credited to this account; negative: debited.' }),
    pending: z.boolean().meta({ description: 'A hold (reserved, not moved); its capture appears as its own entry.' }),
    balanceAfter: z
      .number()
      .int()
      .nullable()
      .meta({ description: 'Posted balance after this entry (null for deferred system accounts).' }),
    code: z.string().meta({ example: 'EARN' }),
    reference: z.string().nullable(),
    memo: z.string().nullable(),
    eventAt: ZInstant,
    createdAt: ZInstant,
  })
  .meta({ id: 'LedgerEntry' });
export type TLedgerEntry = z.infer<typeof ZLedgerEntry>;

export const ZLedgerLot = z
  .object({
    id: z.string(),
    transactionId: z.string().meta({ description: 'The credit that made the lot.' }),
    amount: z.number().int(),
    remaining: z.number().int(),
    expiresAt: ZInstant.nullable(),
    createdAt: ZInstant,
  })
  .meta({ id: 'LedgerLot' });
export type TLedgerLot = z.infer<typeof ZLedgerLot>;

export const ZLotsQuery = z.object({
  all: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
});

export const ZAccountParams = z.object({
  accountId: z.string().regex(/^acc_[0-9a-z]{26}$/, 'must be a ledger account id (acc_…)'),
});

export const ZHistoryQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z
    .string()
    .regex(/^\d{1,18}$/)
    .optional(),
});

export const ZBalanceAsOfQuery = z.object({ at: ZInstantWithOffset });
