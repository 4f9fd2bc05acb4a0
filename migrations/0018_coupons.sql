-- Coupons: definitions (the rules and the benefit), issued coupons, per-member counters, uses,
-- and PIN codes. A definition's `issued` counter is raised by one conditional update under its row
-- lock, so the total quantity is never exceeded; a coupon is used by one conditional update of its
-- status, so it is never used twice.
create table coupon_definition (
  tenant_id text not null references tenant (id),
  id text not null,
  name text not null,
  status text not null default 'active' check (status in ('active', 'paused', 'ended')),
  -- the benefit and the rules (CouponRules in the API), validated by the coupons module
  rules jsonb not null,
  downloadable boolean not null default false,
  -- issued automatically on an event of the member's life
  auto_issue text check (auto_issue in ('signup', 'grade_up')),
  -- grade_up: only on reaching this grade (null: any)
  auto_issue_grade text,
  total_quantity int check (total_quantity > 0),
  issued int not null default 0,
  per_member_limit int not null default 1 check (per_member_limit > 0),
  issue_from timestamptz,
  issue_until timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (tenant_id, id),
  check (total_quantity is null or issued <= total_quantity)
);
create index coupon_definition_auto on coupon_definition (tenant_id, auto_issue) where auto_issue is not null;

create table coupon (
  tenant_id text not null references tenant (id),
  id text not null,
  definition_id text not null,
  member_id text not null,
  -- 'expired' is not stored: a coupon past valid_until is expired, exactly at that instant
  status text not null default 'active' check (status in ('active', 'used', 'revoked')),
  valid_from timestamptz not null,
  valid_until timestamptz not null,
  -- download, operator, bulk, pin, signup, grade_up, promotion, stamps
  source text not null,
  -- one coupon per (definition, source_ref): an event delivered twice issues once
  source_ref text,
  use_id text,
  used_at timestamptz,
  -- held for a payment in progress: only that hold can use it until held_until (then it is free again)
  hold_id text,
  held_until timestamptz,
  issued_at timestamptz not null default now(),
  primary key (tenant_id, id),
  foreign key (tenant_id, definition_id) references coupon_definition (tenant_id, id)
);
create unique index coupon_source on coupon (tenant_id, definition_id, source_ref) where source_ref is not null;
create index coupon_usable_by_member on coupon (tenant_id, member_id, valid_until) where status = 'active';
create index coupon_by_member on coupon (tenant_id, member_id, issued_at desc);
create index coupon_hold on coupon (tenant_id, hold_id) where hold_id is not null;

-- Per member and definition: coupons issued and used, each raised only under its limit.
create table coupon_member (
  tenant_id text not null,
  definition_id text not null,
  member_id text not null,
  issued int not null default 0,
  used int not null default 0,
  primary key (tenant_id, definition_id, member_id)
);

-- A use of a coupon on an order, with the discount it gave and who pays for it.
create table coupon_use (
  tenant_id text not null,
  id text not null,
  coupon_id text not null,
  definition_id text not null,
  member_id text not null,
  order_id text not null,
  channel text not null,
  store_id text,
  discount bigint not null check (discount >= 0),
  hq_share bigint not null,
  cancelled_at timestamptz,
  created_at timestamptz not null default now(),
  primary key (tenant_id, id)
);
create index coupon_use_coupon on coupon_use (tenant_id, coupon_id);

-- Coupons given from one member to another.
create table coupon_gift (
  tenant_id text not null,
  id text not null,
  coupon_id text not null,
  from_member_id text not null,
  to_member_id text not null,
  created_at timestamptz not null default now(),
  primary key (tenant_id, id)
);

-- PIN codes printed or sent outside Moa; a member registers one to receive its coupon. Only the
-- keyed hash is kept; the codes themselves are shown once, when the batch is generated.
create table coupon_pin (
  tenant_id text not null,
  pin_hash text not null,
  definition_id text not null,
  batch_id text not null,
  coupon_id text,
  registered_at timestamptz,
  primary key (tenant_id, pin_hash)
);
create index coupon_pin_batch on coupon_pin (tenant_id, batch_id);

-- A bulk issue to a list of members (streamed, committed in chunks with this checkpoint, so an
-- interrupted one run again with the same id resumes where it stopped and issues nobody twice).
create table coupon_bulk_issue (
  tenant_id text not null,
  id text not null,
  definition_id text not null,
  status text not null default 'running' check (status in ('running', 'done')),
  rows_done bigint not null default 0,
  issued bigint not null default 0,
  -- refusals by code: { "COUPON_MEMBER_LIMIT": n, "COUPON_EXHAUSTED": n, "MEMBER_NOT_ACTIVE": n }
  rejected jsonb not null default '{}',
  started_at timestamptz not null default now(),
  finished_at timestamptz,
  primary key (tenant_id, id)
);
