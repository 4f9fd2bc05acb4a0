-- Tenants (brands) and their API keys.

create table tenant (
  id text primary key,
  name text not null check (length(name) between 1 and 100),
  business_registration_number text not null check (business_registration_number ~ '^[0-9]{10}$'),
  time_zone text not null,
  locale text not null check (locale in ('ko-KR', 'en-US')),
  currency text not null default 'KRW' check (currency = 'KRW'),
  status text not null default 'active' check (status in ('active', 'suspended', 'closed')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
-- Exactly one tenant per business registration number.
create unique index tenant_business_registration_number on tenant (business_registration_number);

create table api_key (
  tenant_id text not null references tenant (id),
  id text not null,
  name text not null check (length(name) between 1 and 100),
  scope text not null check (scope in ('pos', 'app', 'server')),
  prefix text not null,
  secret_hash bytea not null,
  created_at timestamptz not null default now(),
  last_used_at timestamptz,
  revoked_at timestamptz,
  primary key (tenant_id, id)
);
