-- Partial cancels by item lines. The checkout keeps the request it committed (its lines, channel,
-- store, …) and what its cancels gave back so far, so each partial cancel reverses its own share
-- and the last one exactly the rest.
alter table checkout add column request jsonb;
-- cumulative: each line's cancelled quantity and the amounts given back (see checkout.rules.ts)
alter table checkout add column cancelled jsonb;
alter table checkout drop constraint checkout_status_check;
alter table checkout add constraint checkout_status_check check (status in ('committed', 'partially_cancelled', 'cancelled'));

-- One row per cancel id: a retry returns the checkout as it is, other content is a conflict.
create table checkout_cancel (
  tenant_id text not null references tenant (id),
  id text not null,
  checkout_id text not null,
  request_hash text not null,
  -- what this cancel gave back (lines, amounts, stamps, coupons)
  detail jsonb not null,
  created_at timestamptz not null default now(),
  primary key (tenant_id, id)
);
create index checkout_cancel_checkout on checkout_cancel (tenant_id, checkout_id, created_at);

-- Stamps a partial cancel took back from an order's earning (the rest still counts).
alter table stamp_earning add column taken_back int not null default 0;
