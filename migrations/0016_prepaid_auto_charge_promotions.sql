-- Prepaid auto-charge (자동충전) and charge promotions (충전 프로모션).

-- One auto-charge setting per card: below a threshold, or monthly on a day. The payment token
-- (billing key) is sealed. `due_at` says when the job tries next; `charges` numbers the successful
-- auto charges, so a retried attempt reuses its charge id and never charges twice.
create table prepaid_auto_charge (
  tenant_id text not null references tenant (id),
  card_id text not null,
  member_id text not null,
  kind text not null check (kind in ('threshold', 'monthly')),
  threshold bigint check (threshold > 0),
  day_of_month int check (day_of_month between 1 and 31),
  amount bigint not null check (amount > 0),
  payment_method text not null,
  token_sealed text not null,
  token_last4 text not null,
  enabled boolean not null default true,
  failures int not null default 0,
  charges int not null default 0,
  due_at timestamptz,
  last_error text,
  disabled_reason text,
  updated_at timestamptz not null default now(),
  primary key (tenant_id, card_id),
  check ((kind = 'threshold') = (threshold is not null) and (kind = 'monthly') = (day_of_month is not null))
);
create index prepaid_auto_charge_due on prepaid_auto_charge (due_at) where enabled and due_at is not null;

-- Every attempt, for the member and the operator: what was tried and how it ended.
create table prepaid_auto_charge_attempt (
  tenant_id text not null references tenant (id),
  card_id text not null,
  attempted_at timestamptz not null,
  charge_id text not null,
  amount bigint not null,
  outcome text not null check (outcome in ('charged', 'failed', 'disabled', 'skipped')),
  error_code text,
  error_message text
);
create index prepaid_auto_charge_attempt_card on prepaid_auto_charge_attempt (tenant_id, card_id, attempted_at desc);

-- Charge promotions: charging at least `min_charge` earns points and/or a coupon, at most
-- `per_member_limit` times per member.
create table prepaid_promotion (
  tenant_id text not null references tenant (id),
  id text not null,
  name text not null,
  min_charge bigint not null check (min_charge > 0),
  reward_points bigint check (reward_points > 0),
  reward_coupon_id text,
  per_member_limit int not null check (per_member_limit > 0),
  -- null: every channel
  channels text[],
  starts_at timestamptz not null,
  ends_at timestamptz,
  status text not null default 'active' check (status in ('active', 'ended')),
  created_at timestamptz not null default now(),
  primary key (tenant_id, id),
  check (reward_points is not null or reward_coupon_id is not null)
);

-- The per-member count, raised atomically under the limit (the row lock serializes a member's charges).
create table prepaid_promotion_member (
  tenant_id text not null references tenant (id),
  promotion_id text not null,
  member_id text not null,
  granted int not null,
  primary key (tenant_id, promotion_id, member_id)
);

-- What each charge was granted, so cancelling the charge takes exactly that back.
create table prepaid_promotion_grant (
  tenant_id text not null references tenant (id),
  charge_id text not null,
  promotion_id text not null,
  member_id text not null,
  points bigint,
  points_operation_id text,
  coupon_id text,
  revoked boolean not null default false,
  created_at timestamptz not null default now(),
  primary key (tenant_id, charge_id, promotion_id)
);
