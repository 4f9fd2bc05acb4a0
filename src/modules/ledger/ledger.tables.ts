import type { ColumnType, Generated, Selectable } from 'kysely';

export type LedgerAccountTable = {
  tenant_id: string;
  id: string;
  ledger: string;
  owner_type: string;
  owner_id: string;
  kind: string;
  debits_must_not_exceed_credits: Generated<boolean>;
  credits_must_not_exceed_debits: Generated<boolean>;
  deferred: Generated<boolean>;
  has_lots: Generated<boolean>;
  status: Generated<'active' | 'frozen' | 'closed'>;
  debits_pending: Generated<number>;
  debits_posted: Generated<number>;
  credits_pending: Generated<number>;
  credits_posted: Generated<number>;
  created_at: Generated<Date>;
};

export type LedgerTransactionTable = {
  tenant_id: string;
  id: string;
  request_hash: string;
  kind: 'transfer' | 'hold' | 'capture' | 'void' | 'reversal';
  status: 'posted' | 'rejected' | 'pending' | 'captured' | 'voided' | 'expired';
  code: string;
  reference: string | null;
  memo: string | null;
  event_at: Date;
  created_at: Generated<Date>;
  rejection: ColumnType<unknown, string | null, string | null>;
  target_id: string | null;
  timeout_at: Date | null;
  reversed: number[] | null;
};

export type LedgerPostingTable = {
  tenant_id: string;
  account_id: string;
  seq: number;
  transaction_id: string;
  leg: number;
  amount: number;
  pending: Generated<boolean>;
  balance_after: number | null;
  lot_expires_at: Date | null;
  created_at: Generated<Date>;
};

export type LedgerDeltaTable = {
  tenant_id: string;
  account_id: string;
  id: Generated<number>;
  debits_posted: number;
  credits_posted: number;
  debits_pending: number;
  credits_pending: number;
};

export type LedgerLotTable = {
  tenant_id: string;
  account_id: string;
  id: Generated<number>;
  transaction_id: string;
  leg: number;
  amount: number;
  remaining: number;
  expires_at: Date | null;
  created_at: Generated<Date>;
};

export type LedgerLotAllocationTable = {
  tenant_id: string;
  transaction_id: string;
  leg: number;
  account_id: string;
  lot_id: number;
  amount: number;
};

export type LedgerAccountRow = Selectable<LedgerAccountTable>;

export type LedgerTables = {
  ledger_account: LedgerAccountTable;
  ledger_transaction: LedgerTransactionTable;
  ledger_posting: LedgerPostingTable;
  ledger_delta: LedgerDeltaTable;
  ledger_lot: LedgerLotTable;
  ledger_lot_allocation: LedgerLotAllocationTable;
};
