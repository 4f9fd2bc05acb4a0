-- Members of a brand. Personal data is sealed (profile_sealed, AES-256-GCM); lookups go through
-- tenant-scoped keyed hashes. One person (CI) has at most one active or dormant account per tenant.

create table member_policy (
  tenant_id text primary key references tenant (id),
  -- sign-up without identity verification (then the same name + phone cannot open two accounts)
  allow_unverified boolean not null default false,
  min_age int not null default 14 check (min_age between 14 and 100),
  rejoin_block_days int not null default 30 check (rejoin_block_days between 0 and 3650),
  -- at least 90: the notice goes out 30 days before
  dormancy_days int not null default 365 check (dormancy_days between 90 and 3650),
  purge_after_days int not null default 30 check (purge_after_days between 0 and 3650),
  max_failed_logins int not null default 5 check (max_failed_logins between 3 and 20),
  lockout_minutes int not null default 15 check (lockout_minutes between 1 and 1440),
  updated_at timestamptz not null default now()
);

create table member (
  tenant_id text not null references tenant (id),
  id text not null,
  status text not null default 'active' check (status in ('active', 'dormant', 'withdrawn')),
  login_id text check (login_id ~ '^[a-z][a-z0-9_.-]{3,19}$'),
  password_hash text,
  -- name, phone, e-mail, birth date, gender, nationality, carrier; null while dormant and after purge
  profile_sealed text,
  ci_hash text,
  name_phone_hash text,
  phone_hash text,
  email_hash text,
  verification_id text,
  grade text,
  -- { terms, privacy, age14: timestamps; marketing: { sms, email, push }: timestamp or null }
  consents jsonb not null,
  joined_at timestamptz not null default now(),
  last_active_at timestamptz not null default now(),
  dormancy_noticed_at timestamptz,
  dormant_at timestamptz,
  withdrawn_at timestamptz,
  purged_at timestamptz,
  failed_logins int not null default 0,
  locked_until timestamptz,
  password_changed_at timestamptz not null default now(),
  primary key (tenant_id, id)
);
-- One account per person and per name + phone, among accounts that can log in or come back.
create unique index member_one_per_person on member (tenant_id, ci_hash) where ci_hash is not null and status in ('active', 'dormant');
create unique index member_one_per_name_phone on member (tenant_id, name_phone_hash) where name_phone_hash is not null and status in ('active', 'dormant');
create unique index member_login_id on member (tenant_id, login_id) where login_id is not null;
create index member_by_phone on member (tenant_id, phone_hash) where phone_hash is not null;
-- The dormancy and purge jobs' lookups.
create index member_activity on member (last_active_at) where status = 'active';
create index member_withdrawn on member (withdrawn_at) where status = 'withdrawn' and purged_at is null;

-- Dormant members' personal data, sealed under a separate key (PIPA: kept apart from live data).
create table member_dormant (
  tenant_id text not null,
  member_id text not null,
  profile_sealed text not null,
  moved_at timestamptz not null default now(),
  primary key (tenant_id, member_id),
  foreign key (tenant_id, member_id) references member (tenant_id, id)
);

-- After withdrawal only this is kept to block re-sign-up: the CI hash and dates.
create table member_rejoin_block (
  tenant_id text not null,
  ci_hash text not null,
  withdrawn_at timestamptz not null,
  blocked_until timestamptz not null,
  primary key (tenant_id, ci_hash)
);

create table member_session (
  tenant_id text not null,
  id text not null,
  member_id text not null,
  token_hash bytea not null unique,
  created_at timestamptz not null default now(),
  last_seen_at timestamptz not null default now(),
  expires_at timestamptz not null,
  revoked_at timestamptz,
  user_agent text,
  primary key (tenant_id, id),
  foreign key (tenant_id, member_id) references member (tenant_id, id)
);
create index member_session_by_member on member_session (tenant_id, member_id, created_at desc);
