-- A charge's payment, recorded before the payment provider is asked (issue 15; ARCHITECTURE.md
-- rule 2: no network call inside a transaction). The charge runs in three steps: this row is
-- written `pending` in a short transaction, the provider approves outside any transaction, and a
-- second transaction posts the value (prepaid_operation + the ledger) and marks the row
-- `approved`. A crash between the provider's answer and the posting leaves the row pending: a
-- retry of the same charge id finds it and asks the provider again (repeatable by the payment's
-- id), so the money is neither lost nor taken twice. Pending charges count against the card's
-- maximum balance.
create table prepaid_charge_payment (
  tenant_id text not null references tenant (id),
  -- the charge's operation and ledger id (pp.charge.<chargeId>)
  id text not null,
  card_id text not null,
  amount bigint not null,
  method text not null,
  -- 'payment': the provider's id of a payment the person completed (kept: a retry must name the
  -- same payment); 'billing_key': the key itself is never kept here; 'offline': collected by the store
  token_kind text not null check (token_kind in ('payment', 'billing_key', 'offline')),
  payment_ref text,
  channel text not null,
  store_id text,
  status text not null check (status in ('pending', 'approved', 'declined')),
  -- the provider's payment id (approved) or its reason (declined)
  payment_id text,
  reason text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (tenant_id, id),
  foreign key (tenant_id, card_id) references prepaid_card (tenant_id, id)
);
create index prepaid_charge_payment_pending on prepaid_charge_payment (tenant_id, card_id) where status = 'pending';
-- A tenant table: row-level security like every other (0026_rls.sql).
select moa_enable_tenant_rls('prepaid_charge_payment');
