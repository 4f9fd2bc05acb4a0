-- Member import from CSV: one row per import (its checkpoint: rows are committed in chunks together
-- with rows_done, so an interrupted import resumes after the last committed chunk, exactly once),
-- and one row per rejected CSV row with the reason.
create table member_import (
  tenant_id text not null references tenant (id),
  id text not null check (id ~ '^[A-Za-z0-9_.-]{1,64}$'),
  status text not null default 'running' check (status in ('running', 'done')),
  file_name text,
  rows_done bigint not null default 0,
  imported bigint not null default 0,
  rejected bigint not null default 0,
  started_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  finished_at timestamptz,
  primary key (tenant_id, id)
);

create table member_import_reject (
  tenant_id text not null,
  import_id text not null,
  row_no bigint not null,
  code text not null,
  message text not null,
  primary key (tenant_id, import_id, row_no)
);
