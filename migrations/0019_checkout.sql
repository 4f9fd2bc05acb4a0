-- Checkouts: one row per checkout id (the caller's), holding what its commit did, so a retry returns
-- the same answer and a cancel reverses exactly that. The value itself moved through the coupon,
-- points, prepaid and stamps modules, inside the same database transaction as this row.
create table checkout (
  tenant_id text not null references tenant (id),
  id text not null,
  member_id text not null,
  -- sha-256 of the committed request: the same id with other content is refused
  request_hash text not null,
  status text not null check (status in ('committed', 'cancelled')),
  order_amount bigint not null,
  discount bigint not null,
  points_used bigint not null,
  prepaid_used bigint not null,
  -- what is left to pay by other means
  paid_amount bigint not null,
  -- the commit's answer (coupons used, points earned, stamps), returned again on a retry
  result jsonb not null,
  -- when the sale happened at the store (an offline POS replays it later); null: when committed
  occurred_at timestamptz,
  created_at timestamptz not null default now(),
  cancelled_at timestamptz,
  primary key (tenant_id, id)
);
create index checkout_member on checkout (tenant_id, member_id, created_at desc);
