-- Prepaid cards (충전금): the brand's program settings, members' cards and every operation on them.
-- Each card is a ledger account (ledger PREPAID); charges come from the tenant's float account, uses
-- and refund fees go to its revenue account. No balance is kept here.
create table prepaid_program (
  tenant_id text primary key references tenant (id),
  settings jsonb not null,
  updated_at timestamptz not null default now()
);

create table prepaid_card (
  tenant_id text not null references tenant (id),
  id text not null,
  -- null: a physical card not registered by a member yet
  member_id text,
  account_id text not null,
  nickname text not null default '',
  status text not null default 'active' check (status in ('active', 'lost', 'suspended')),
  is_main boolean not null default false,
  -- physical cards: the number's tenant-scoped keyed hash, its last four digits, the PIN's scrypt hash
  number_hash text,
  number_last4 text,
  pin_hash text,
  created_at timestamptz not null default now(),
  primary key (tenant_id, id)
);
create unique index prepaid_card_main on prepaid_card (tenant_id, member_id) where is_main;
create unique index prepaid_card_number on prepaid_card (tenant_id, number_hash) where number_hash is not null;
create index prepaid_card_member on prepaid_card (tenant_id, member_id);

create table prepaid_operation (
  tenant_id text not null references tenant (id),
  -- the ledger transaction id as well (pp.charge.<id>, pp.use.<order>, …)
  id text not null,
  card_id text not null,
  member_id text,
  kind text not null check (kind in ('charge', 'charge_cancel', 'use', 'use_cancel', 'gift', 'transfer', 'refund')),
  -- signed: what the card's balance moved by
  amount bigint not null,
  -- gifts and transfers: the card that received the value
  to_card_id text,
  order_id text,
  original_id text,
  channel text,
  store_id text,
  payment_method text,
  payment_id text,
  fee bigint not null default 0,
  -- refunds: the bank account, sealed
  bank_sealed text,
  cancelled boolean not null default false,
  created_at timestamptz not null default now(),
  primary key (tenant_id, id)
);
create unique index prepaid_operation_use on prepaid_operation (tenant_id, order_id) where kind = 'use';
create index prepaid_operation_card on prepaid_operation (tenant_id, card_id, created_at desc);
create index prepaid_operation_to_card on prepaid_operation (tenant_id, to_card_id) where to_card_id is not null;
