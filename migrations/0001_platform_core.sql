-- Platform tables: idempotency records and the transactional outbox.
-- tenant_id comes first in every key. Platform-operator requests use the scope '_platform'.

create table idempotency_key (
  tenant_id text not null,
  key text not null,
  request_hash text not null,
  response_status smallint not null,
  response_body text not null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  primary key (tenant_id, key)
);
create index idempotency_key_expires_at on idempotency_key (expires_at);

create table outbox (
  tenant_id text not null,
  id bigint generated always as identity,
  topic text not null,
  payload jsonb not null,
  status text not null default 'pending' check (status in ('pending', 'delivered', 'dead')),
  attempts integer not null default 0,
  available_at timestamptz not null default now(),
  handlers_done text[] not null default '{}',
  last_error text,
  created_at timestamptz not null default now(),
  delivered_at timestamptz,
  primary key (tenant_id, id)
);
-- The worker's only lookup: pending rows of the topics it handles that are due, oldest first.
create index outbox_due on outbox (topic, available_at, id) where status = 'pending';
