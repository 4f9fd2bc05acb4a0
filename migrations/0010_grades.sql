-- Member grades (등급): levels per tenant, the purchases they are judged on, and every change.
create table grade_level (
  tenant_id text not null references tenant (id),
  code text not null check (code ~ '^[A-Z][A-Z0-9_]{0,29}$'),
  name text not null,
  -- higher is better; the lowest level is where every member starts
  rank int not null check (rank between 0 and 100),
  -- points earned per 10,000 won paid: 100 = 1 %
  accrual_bp int not null check (accrual_bp between 0 and 10000),
  benefit text not null default '',
  -- promotion: at least this many orders and this amount within window_days (0 = no condition)
  min_orders int not null default 0 check (min_orders >= 0),
  min_amount bigint not null default 0 check (min_amount >= 0),
  window_days int not null default 365 check (window_days between 1 and 3650),
  updated_at timestamptz not null default now(),
  primary key (tenant_id, code),
  unique (tenant_id, rank)
);

create table grade_policy (
  tenant_id text primary key references tenant (id),
  review_cycle text not null default 'monthly' check (review_cycle in ('daily', 'monthly', 'quarterly')),
  last_review_at timestamptz
);

-- Purchases per member and day, as the checkout reports them (a cancellation is negative).
create table grade_activity (
  tenant_id text not null,
  member_id text not null,
  day date not null,
  orders int not null default 0,
  amount bigint not null default 0,
  primary key (tenant_id, member_id, day)
);

create table grade_change (
  tenant_id text not null,
  id text not null,
  member_id text not null,
  from_grade text,
  to_grade text not null,
  -- review | manual | signup
  source text not null check (source in ('review', 'manual', 'signup')),
  reason text not null,
  actor text,
  changed_at timestamptz not null default now(),
  primary key (tenant_id, id)
);
create index grade_change_by_member on grade_change (tenant_id, member_id, changed_at desc);
