import { createHash } from 'node:crypto';
import { fieldError } from '../../platform/errors.ts';
import { stableStringify } from '../../platform/idempotency.ts';

// Pure rules of the ledger: what a well-formed transaction is, and how its content is fingerprinted
// so that a retry with other content is told apart from a true retry.

export const LEDGER_NAME = /^[A-Z][A-Z0-9_]*(:[A-Za-z0-9_.-]+)?$/;
export const TRANSACTION_ID = /^[A-Za-z0-9_.:-]{1,128}$/;
export const MAX_LEGS = 64;

export type PostingLeg = {
  debit: string;
  credit: string;
  amount: number;
  ledger: string;
  /** Credits to a lots account: when the lot this leg makes expires (none: never). */
  expiresAt?: Date | undefined;
};

type Common = {
  tenantId: string;
  /** The idempotency key: the same id with the same content returns the first outcome. */
  id: string;
  reference?: string | undefined;
  memo?: string | undefined;
  /** When it happened in the business (defaults to now; part of the content only when given). */
  eventAt?: Date | undefined;
};

export type PostTransaction = Common & {
  /** Why value moves (EARN, USE, CHARGE, EXPIRE…); shown in history. */
  code: string;
  legs: PostingLeg[];
};

/** Reserves the legs' amounts (pending) until captured, voided, or released after the timeout. */
export type HoldTransaction = PostTransaction & { timeoutSeconds: number };

/** Posts all of a pending hold, or `amounts` per leg (the rest is released). */
export type CaptureHold = Common & { holdId: string; amounts?: number[] | undefined; code?: string | undefined };

export type VoidHold = Common & { holdId: string; code?: string | undefined };

/** Reverses a posted transaction, fully or `amounts` per leg, as a new linked transaction. */
export type ReverseTransaction = Common & { transactionId: string; amounts?: number[] | undefined; code?: string | undefined };

export type LedgerOperation =
  | ({ kind: 'post' } & PostTransaction)
  | ({ kind: 'hold' } & HoldTransaction)
  | ({ kind: 'capture' } & CaptureHold)
  | ({ kind: 'void'; expired?: boolean } & VoidHold)
  | ({ kind: 'reverse' } & ReverseTransaction)
  | ({ kind: 'expire' } & Common & { code: string; accountId: string; breakageId: string; ledger: string; cutoff: Date });

export const REJECTION_CODES = [
  'INSUFFICIENT_BALANCE',
  'ACCOUNT_NOT_FOUND',
  'ACCOUNT_NOT_ACTIVE',
  'LEDGER_MISMATCH',
  'CREDIT_LIMIT_EXCEEDED',
  'HOLD_NOT_FOUND',
  'HOLD_NOT_PENDING',
  'HOLD_EXPIRED',
  'CAPTURE_EXCEEDS_HOLD',
  'TRANSACTION_NOT_FOUND',
  'NOT_REVERSIBLE',
  'REVERSAL_EXCEEDS_ORIGINAL',
  'NOTHING_TO_REVERSE',
  'NOTHING_TO_EXPIRE',
] as const;

export type LedgerRejection = {
  code: (typeof REJECTION_CODES)[number];
  [detail: string]: unknown;
};

const checkId = (field: string, id: string) => {
  if (!TRANSACTION_ID.test(id)) throw fieldError(field, 'must be 1-128 characters of A-Z a-z 0-9 _ . : -');
};

const checkAmounts = (amounts: number[] | undefined) =>
  amounts?.forEach((a, i) => {
    if (!Number.isSafeInteger(a) || a < 0) throw fieldError(`amounts.${i}`, 'must be a non-negative integer');
  });

/** Rejects malformed input before it reaches the database; nothing of it is stored. */
export function validateOperation(op: LedgerOperation): void {
  checkId('id', op.id);
  if (op.code !== undefined && !/^[A-Z][A-Z0-9_]{0,63}$/.test(op.code))
    throw fieldError('code', 'must be an upper-case code such as EARN');
  if (op.reference !== undefined && op.reference.length > 200) throw fieldError('reference', 'at most 200 characters');
  if (op.memo !== undefined && op.memo.length > 500) throw fieldError('memo', 'at most 500 characters');
  switch (op.kind) {
    case 'post':
    case 'hold':
      if (op.legs.length === 0 || op.legs.length > MAX_LEGS) throw fieldError('legs', `1 to ${MAX_LEGS} legs`);
      op.legs.forEach((leg, i) => {
        if (!Number.isSafeInteger(leg.amount) || leg.amount <= 0)
          throw fieldError(`legs.${i}.amount`, 'must be a positive integer');
        if (leg.debit === leg.credit) throw fieldError(`legs.${i}`, 'debit and credit must be different accounts');
        if (!LEDGER_NAME.test(leg.ledger)) throw fieldError(`legs.${i}.ledger`, 'must look like POINT or STAMP:card_1');
      });
      if (
        op.kind === 'hold' &&
        !(Number.isFinite(op.timeoutSeconds) && op.timeoutSeconds > 0 && op.timeoutSeconds <= 90 * 86400)
      ) {
        throw fieldError('timeoutSeconds', 'must be between 1 second and 90 days');
      }
      return;
    case 'capture':
      checkId('holdId', op.holdId);
      return checkAmounts(op.amounts);
    case 'void':
      return checkId('holdId', op.holdId);
    case 'reverse':
      checkId('transactionId', op.transactionId);
      return checkAmounts(op.amounts);
    case 'expire':
      return;
  }
}

/** The content of an operation, fingerprinted: a retry with other content is told apart. */
export function operationHash(op: LedgerOperation): string {
  const { tenantId: _tenant, id: _id, eventAt, ...content } = op;
  return createHash('sha256')
    .update(stableStringify({ ...content, eventAt: eventAt?.toISOString() ?? null }))
    .digest('base64url');
}

export type Balances = {
  debitsPosted: number;
  creditsPosted: number;
  debitsPending: number;
  creditsPending: number;
};

/** Balances are credit-normal: what the owner holds is credits - debits. */
export function deriveBalances(b: Balances) {
  return {
    posted: b.creditsPosted - b.debitsPosted,
    pending: b.creditsPending - b.debitsPending,
    available: b.creditsPosted - b.debitsPosted - b.debitsPending,
  };
}
