-- Points (포인트): the brand's policy, versioned, and every operation on a member's points. The
-- balance and its lots live in the ledger (ledger POINT); these rows say why and under which policy.
create table point_policy (
  tenant_id text not null references tenant (id),
  version int not null check (version > 0),
  -- applies to operations at or after this time; earlier ones keep the version they were made under
  effective_from timestamptz not null,
  settings jsonb not null,
  created_at timestamptz not null default now(),
  primary key (tenant_id, version)
);
create index point_policy_effective on point_policy (tenant_id, effective_from desc, version desc);

create table point_operation (
  tenant_id text not null references tenant (id),
  -- the ledger transaction id as well (pt.earn.<order>, pt.use.<order>, pt.cancel.<id>, pt.adjust.<id>, …)
  id text not null,
  member_id text not null,
  kind text not null check (kind in ('earn', 'use', 'cancel', 'adjust', 'import', 'grant')),
  -- signed: what the member's balance moved by
  amount bigint not null,
  order_id text,
  original_id text,
  channel text,
  store_id text,
  reason text,
  actor text,
  policy_version int,
  created_at timestamptz not null default now(),
  primary key (tenant_id, id)
);
-- One earning and one use per order, whatever the Idempotency-Key.
create unique index point_operation_order on point_operation (tenant_id, kind, order_id) where kind in ('earn', 'use');
create index point_operation_member on point_operation (tenant_id, member_id, created_at desc);

-- "Expiring within 30 days" notices already sent, so that a member gets one per first expiry.
create table point_expiry_notice (
  tenant_id text not null,
  account_id text not null,
  first_expiry timestamptz not null,
  sent_at timestamptz not null default now(),
  primary key (tenant_id, account_id, first_expiry)
);
