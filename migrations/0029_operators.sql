-- Operators: the people at a brand (and at the platform) who log in to a console. Invited only,
-- one person per account, a second factor always (src/modules/operators/README.md).
-- tenant_id is null for platform operators: only moa_system sees those rows.

create table operator (
  id text primary key,
  tenant_id text references tenant (id),
  -- Personal data of an employee: sealed; the keyed hash finds the account at login (unique
  -- across the platform, so an e-mail names one account and one tenant).
  email_hash text not null unique,
  email_sealed text not null,
  name_sealed text not null,
  phone_sealed text,
  role text not null,
  -- null: every store; else the role applies to these stores only.
  store_ids text[],
  status text not null default 'active' check (status in ('active', 'suspended', 'removed')),
  password_hash text not null,
  -- Sessions created before this instant are void: suspension, "log out everywhere", a new factor.
  sessions_valid_after timestamptz not null default now(),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index operator_tenant on operator (tenant_id, created_at);

-- A custom role: a named set of permissions (the built-in roles live in the code).
create table operator_role (
  tenant_id text not null references tenant (id),
  id text not null,
  name text not null,
  permissions text[] not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (tenant_id, id),
  unique (tenant_id, name)
);

create table operator_invitation (
  id text primary key,
  tenant_id text references tenant (id),
  email_hash text not null,
  email_sealed text not null,
  name_sealed text not null,
  role text not null,
  store_ids text[],
  token_hash bytea not null unique,
  invited_by text,
  expires_at timestamptz not null,
  accepted_at timestamptz,
  revoked_at timestamptz,
  created_at timestamptz not null default now()
);
-- One open invitation per e-mail.
create unique index operator_invitation_open on operator_invitation (email_hash) where accepted_at is null and revoked_at is null;

-- Server-side sessions; the cookie carries the token, the table its SHA-256.
create table operator_session (
  id_hash bytea primary key,
  tenant_id text references tenant (id),
  operator_id text not null references operator (id),
  -- password: the password was right, a second factor is due; enrol: no factor yet, only enrolment
  -- is reachable; full: signed in.
  stage text not null check (stage in ('password', 'enrol', 'full')),
  created_at timestamptz not null,
  last_seen_at timestamptz not null,
  expires_at timestamptz not null,
  second_factor_at timestamptz,
  ip text,
  user_agent text,
  revoked_at timestamptz
);
create index operator_session_operator on operator_session (operator_id);
create index operator_session_expires on operator_session (expires_at);

create table operator_totp (
  operator_id text primary key references operator (id),
  tenant_id text references tenant (id),
  secret_sealed text not null,
  -- The last 30-second step accepted: a code of that step or an earlier one is refused (RFC 6238 §5.2).
  last_step bigint not null default 0,
  confirmed_at timestamptz,
  created_at timestamptz not null default now()
);

create table operator_recovery_code (
  operator_id text not null references operator (id),
  tenant_id text references tenant (id),
  code_hash text not null,
  used_at timestamptz,
  created_at timestamptz not null default now(),
  primary key (operator_id, code_hash)
);

-- Every grant, change and revocation of access: append-only, kept at least 3 years.
create table operator_access_change (
  id text primary key,
  tenant_id text references tenant (id),
  at timestamptz not null default now(),
  actor_id text,
  operator_id text,
  role_id text,
  change text not null,
  before jsonb,
  after jsonb
);
create index operator_access_change_tenant on operator_access_change (tenant_id, at);

-- When each operator last used each permission (the quarterly access review).
create table operator_permission_use (
  operator_id text not null references operator (id),
  tenant_id text references tenant (id),
  permission text not null,
  last_used_at timestamptz not null,
  primary key (operator_id, permission)
);

-- Operator secrets are counted before any tenant is known (the e-mail names it), under the scope
-- '_operators': the counters no longer require a tenant row.
alter table secret_attempt drop constraint secret_attempt_tenant_id_fkey;
alter table rate_limit_window drop constraint rate_limit_window_tenant_id_fkey;

alter table tenant add column operator_idle_minutes int not null default 30 check (operator_idle_minutes between 5 and 720);

select moa_enable_tenant_rls(t)
from unnest(array['operator', 'operator_role', 'operator_invitation', 'operator_session', 'operator_totp',
  'operator_recovery_code', 'operator_access_change', 'operator_permission_use']::regclass[]) as t;
revoke update, delete, truncate on operator_access_change from moa_app, moa_system;
