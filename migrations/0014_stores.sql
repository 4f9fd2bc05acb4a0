-- Stores (매장), their managers (점포관리자) and stamp devices.
create table store (
  tenant_id text not null references tenant (id),
  id text not null,
  code text not null,
  name text not null,
  address text not null default '',
  region text not null default '',
  status text not null default 'active' check (status in ('active', 'paused', 'closed')),
  created_at timestamptz not null default now(),
  primary key (tenant_id, id),
  unique (tenant_id, code)
);

create table store_manager (
  tenant_id text not null references tenant (id),
  id text not null,
  login_id text not null,
  name text not null,
  password_hash text not null,
  failed_logins int not null default 0,
  locked_until timestamptz,
  status text not null default 'active' check (status in ('active', 'disabled')),
  created_at timestamptz not null default now(),
  primary key (tenant_id, id),
  unique (tenant_id, login_id)
);

create table store_manager_store (
  tenant_id text not null,
  manager_id text not null,
  store_id text not null,
  primary key (tenant_id, manager_id, store_id)
);
create index store_manager_store_by_store on store_manager_store (tenant_id, store_id);

create table store_manager_session (
  token_hash bytea primary key,
  tenant_id text not null,
  manager_id text not null,
  expires_at timestamptz not null,
  created_at timestamptz not null default now()
);

-- A stamp device is registered to exactly one store.
create table stamp_device (
  tenant_id text not null references tenant (id),
  serial text not null,
  store_id text not null,
  registered_at timestamptz not null default now(),
  primary key (tenant_id, serial)
);
