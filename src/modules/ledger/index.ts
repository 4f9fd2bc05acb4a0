// Public API of the ledger: the only way a balance changes in Moa.

export { ledgerRoutes } from './ledger.routes.ts';
export type {
  CaptureHold,
  HoldTransaction,
  LedgerRejection,
  PostingLeg,
  PostTransaction,
  ReverseTransaction,
  VoidHold,
} from './ledger.rules.ts';
export type { TLedgerAccount, TLedgerEntry, TLedgerLot } from './ledger.schemas.ts';
export type { AccountSpec, PostResult, SystemAccountKind } from './ledger.service.ts';
export {
  accountHistory,
  /** The lots of an expiring-currency account, first-expiring first. */
  accountLots,
  accountsOfOwner,
  balanceAsOf,
  captureHold,
  drainLedger,
  /** Releases holds past their timeout (a job). */
  expireHolds,
  /** Expires due lots into the tenant's breakage account (a job). */
  expireLots,
  /** Per account, what expires within N days (notices). */
  expiringWithin,
  findAccount,
  getAccount,
  /** Reserves amounts until captured, voided or timed out. */
  hold,
  /** post, hold, capture, void and reverse inside the caller's open transaction. */
  inTransaction,
  /** Opens (or returns) the account of a ledger, owner and kind. */
  openAccount,
  /** Posts a multi-leg transaction through group commit; idempotent on its id. */
  post,
  /** Posts inside the caller's open transaction (no batching). */
  postInTransaction,
  /** post(), with a rejection thrown as an AppError carrying its code and values. */
  postOrThrow,
  rejectionError,
  /** Reverses a posted transaction fully or in part, as a new linked transaction. */
  reverse,
  rollupDeferred,
  /** A tenant's deferred system account: issuance, breakage, float or revenue. */
  systemAccount,
  trialBalance,
  voidHold,
} from './ledger.service.ts';
export type { LedgerTables } from './ledger.tables.ts';
