import { createHash } from 'node:crypto';
import { fieldError } from '../../platform/errors.ts';
import { stableStringify } from '../../platform/idempotency.ts';

// Pure rules of the ledger: what a well-formed transaction is, and how its content is fingerprinted
// so that a retry with other content is told apart from a true retry.

export const LEDGER_NAME = /^[A-Z][A-Z0-9_]*(:[A-Za-z0-9_.-]+)?$/;
export const TRANSACTION_ID = /^[A-Za-z0-9_.:\-]{1,128}$/;
export const MAX_LEGS = 64;

export type PostingLeg = { debit: string; credit: string; amount: number; ledger: string };

export type PostTransaction = {
  tenantId: string;
  /** The idempotency key: the same id with the same content returns the first outcome. */
  id: string;
  /** Why value moves (EARN, USE, CHARGE, EXPIRE…); shown in history. */
  code: string;
  reference?: string | undefined;
  memo?: string | undefined;
  /** When it happened in the business (defaults to now; part of the content only when given). */
  eventAt?: Date | undefined;
  legs: PostingLeg[];
};

export type LedgerRejection = {
  code: 'INSUFFICIENT_BALANCE' | 'ACCOUNT_NOT_FOUND' | 'ACCOUNT_NOT_ACTIVE' | 'LEDGER_MISMATCH' | 'CREDIT_LIMIT_EXCEEDED';
  leg: number;
  accountId: string;
  [detail: string]: unknown;
};

/** Rejects malformed input before it reaches the database; nothing of it is stored. */
export function validateTransaction(tx: PostTransaction): void {
  if (!TRANSACTION_ID.test(tx.id)) throw fieldError('id', 'must be 1-128 characters of A-Z a-z 0-9 _ . : -');
  if (!/^[A-Z][A-Z0-9_]{0,63}$/.test(tx.code)) throw fieldError('code', 'must be an upper-case code such as EARN');
  if (tx.reference !== undefined && tx.reference.length > 200) throw fieldError('reference', 'at most 200 characters');
  if (tx.memo !== undefined && tx.memo.length > 500) throw fieldError('memo', 'at most 500 characters');
  if (tx.legs.length === 0 || tx.legs.length > MAX_LEGS) throw fieldError('legs', `1 to ${MAX_LEGS} legs`);
  tx.legs.forEach((leg, i) => {
    if (!Number.isSafeInteger(leg.amount) || leg.amount <= 0) throw fieldError(`legs.${i}.amount`, 'must be a positive integer');
    if (leg.debit === leg.credit) throw fieldError(`legs.${i}`, 'debit and credit must be different accounts');
    if (!LEDGER_NAME.test(leg.ledger)) throw fieldError(`legs.${i}.ledger`, 'must look like POINT or STAMP:card_1');
  });
}

export function transactionHash(tx: PostTransaction): string {
  const content = {
    code: tx.code,
    reference: tx.reference ?? null,
    memo: tx.memo ?? null,
    eventAt: tx.eventAt?.toISOString() ?? null,
    legs: tx.legs.map((l) => [l.debit, l.credit, l.amount, l.ledger]),
  };
  return createHash('sha256').update(stableStringify(content)).digest('base64url');
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
