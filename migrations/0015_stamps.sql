-- Stamp cards (스탬프): definitions with their earning policy, each member's boards, every earning,
-- and the one-time codes of the OTP fallback (대체인증). Stamps themselves are ledger value
-- (ledger STAMP:<card id>, lots with the stamp validity).
create table stamp_card (
  tenant_id text not null references tenant (id),
  id text not null,
  name text not null,
  -- payment: earned on orders by the policy; event: granted by an event call
  type text not null check (type in ('payment', 'event')),
  status text not null default 'active' check (status in ('active', 'paused')),
  issue_from timestamptz not null,
  issue_until timestamptz not null,
  stamps_per_board int not null check (stamps_per_board between 1 and 100),
  -- null: unlimited boards
  max_boards int check (max_boards > 0),
  -- null: stamps keep until the issue period ends
  stamp_validity_days int check (stamp_validity_days > 0),
  reward jsonb not null,
  policy jsonb not null,
  created_at timestamptz not null default now(),
  primary key (tenant_id, id),
  check (issue_until > issue_from)
);

-- One row per member and card: locked by every earning, so a board completes exactly once.
create table stamp_member_card (
  tenant_id text not null,
  card_id text not null,
  member_id text not null,
  boards_completed int not null default 0,
  primary key (tenant_id, card_id, member_id)
);

create table stamp_earning (
  tenant_id text not null references tenant (id),
  -- the ledger transaction id as well
  id text not null,
  card_id text not null,
  member_id text not null,
  count int not null check (count > 0),
  -- the member's day in the tenant's time zone (daily maximum)
  day date not null,
  source text not null check (source in ('order', 'event', 'otp')),
  order_id text,
  store_id text,
  manager_id text,
  cancelled boolean not null default false,
  created_at timestamptz not null default now(),
  primary key (tenant_id, id)
);
create index stamp_earning_day on stamp_earning (tenant_id, card_id, member_id, day);
create index stamp_earning_order on stamp_earning (tenant_id, order_id) where order_id is not null;

create table stamp_board (
  tenant_id text not null,
  card_id text not null,
  member_id text not null,
  board_no int not null,
  reward jsonb not null,
  completed_at timestamptz not null default now(),
  primary key (tenant_id, card_id, member_id, board_no)
);

create table stamp_otp (
  tenant_id text not null references tenant (id),
  id text not null,
  code_hash text not null,
  member_id text not null,
  card_id text not null,
  expires_at timestamptz not null,
  used_at timestamptz,
  -- the approval that used it (a retry by the same manager gets the same answer)
  earning_id text,
  manager_id text,
  store_id text,
  requested int,
  created_at timestamptz not null default now(),
  primary key (tenant_id, id),
  unique (tenant_id, code_hash)
);

-- Wrong codes, counted per manager and per store over a window.
create table stamp_otp_failure (
  tenant_id text not null,
  manager_id text not null,
  store_id text not null,
  at timestamptz not null default now()
);
create index stamp_otp_failure_manager on stamp_otp_failure (tenant_id, manager_id, at);
create index stamp_otp_failure_store on stamp_otp_failure (tenant_id, store_id, at);
