// Public API of the ledger: the only way a balance changes in Moa.
export type { LedgerTables } from './ledger.tables.ts';
export type { PostTransaction, HoldTransaction, CaptureHold, VoidHold, ReverseTransaction, PostingLeg, LedgerRejection } from './ledger.rules.ts';
export type { TLedgerAccount, TLedgerEntry, TLedgerLot } from './ledger.schemas.ts';
export type { PostResult, AccountSpec, SystemAccountKind } from './ledger.service.ts';
export {
  /** Posts a multi-leg transaction through group commit; idempotent on its id. */
  post,
  /** Reserves amounts until captured, voided or timed out. */
  hold,
  captureHold,
  voidHold,
  /** Reverses a posted transaction fully or in part, as a new linked transaction. */
  reverse,
  /** Releases holds past their timeout (a job). */
  expireHolds,
  /** Posts inside the caller's open transaction (no batching). */
  postInTransaction,
  /** post, hold, capture, void and reverse inside the caller's open transaction. */
  inTransaction,
  /** post(), with a rejection thrown as an AppError carrying its code and values. */
  postOrThrow,
  rejectionError,
  /** Opens (or returns) the account of a ledger, owner and kind. */
  openAccount,
  findAccount,
  /** A tenant's deferred system account: issuance, breakage, float or revenue. */
  systemAccount,
  getAccount,
  accountsOfOwner,
  /** The lots of an expiring-currency account, first-expiring first. */
  accountLots,
  /** Per account, what expires within N days (notices). */
  expiringWithin,
  /** Expires due lots into the tenant's breakage account (a job). */
  expireLots,
  balanceAsOf,
  accountHistory,
  trialBalance,
  rollupDeferred,
  drainLedger,
} from './ledger.service.ts';
export { ledgerRoutes } from './ledger.routes.ts';
