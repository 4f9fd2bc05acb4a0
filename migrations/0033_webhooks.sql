-- Webhooks (Standard Webhooks): the brand's endpoints, one message per event and endpoint, and
-- every delivery attempt. Messages are made from outbox events after commit (modules/webhooks).

create table webhook_endpoint (
  tenant_id text not null references tenant (id),
  id text not null,
  url text not null,
  description text not null default '',
  -- null: every public event type
  event_types text[],
  status text not null default 'enabled' check (status in ('enabled', 'disabled')),
  disabled_reason text,
  secret_sealed text not null,
  -- After a rotation the previous secret keeps signing (a second signature) until previous_until.
  previous_secret_sealed text,
  previous_until timestamptz,
  -- Since when every attempt failed (null: the last attempt succeeded); disables after a while.
  failing_since timestamptz,
  consecutive_failures int not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (tenant_id, id)
);

create table webhook_message (
  tenant_id text not null,
  endpoint_id text not null,
  -- The outbox row's id: the event's position in commit order, and its webhook-id (evt_<seq>).
  event_seq bigint not null,
  type text not null,
  version int not null,
  data jsonb not null,
  -- Deliveries with the same key (the member) go out one at a time, in event_seq order.
  order_key text not null,
  occurred_at timestamptz not null,
  status text not null default 'pending' check (status in ('pending', 'delivered', 'failed')),
  attempts int not null default 0,
  next_attempt_at timestamptz not null,
  delivered_at timestamptz,
  created_at timestamptz not null default now(),
  primary key (tenant_id, endpoint_id, event_seq),
  foreign key (tenant_id, endpoint_id) references webhook_endpoint (tenant_id, id) on delete cascade
);
-- The worker's claim: due pending messages, and the head of each (endpoint, member) queue. No other
-- index on (tenant_id, endpoint_id, …): it would compete with the primary key (ARCHITECTURE.md, rule 10).
create index webhook_message_due on webhook_message (next_attempt_at) where status = 'pending';
create index webhook_message_queue on webhook_message (tenant_id, endpoint_id, order_key, event_seq) where status = 'pending';

create table webhook_attempt (
  tenant_id text not null,
  id bigint generated always as identity,
  endpoint_id text not null,
  event_seq bigint not null,
  attempt int not null,
  attempted_at timestamptz not null,
  -- null: no HTTP answer (refused address, connection error, timeout: see error)
  response_status int,
  error text,
  latency_ms int not null,
  response_excerpt text not null default '',
  -- No foreign key: a batch's outcomes are recorded together, even for an endpoint deleted meanwhile
  -- (deleteEndpoint removes its attempts; the retention job any stragglers).
  primary key (tenant_id, id)
);
create index webhook_attempt_endpoint on webhook_attempt (tenant_id, endpoint_id, id);
-- Retention: finished messages and attempts older than 30 days go (the webhooks.purge job).
create index webhook_attempt_at on webhook_attempt (attempted_at);

select moa_enable_tenant_rls(t)
from unnest(array['webhook_endpoint', 'webhook_message', 'webhook_attempt']::regclass[]) as t;

-- coupon.expired: expiry is not a stored status, so a sweep reports each coupon whose validity ended
-- (modules/coupons/coupon-expiry.service.ts), once.
alter table coupon add column expiry_reported boolean not null default false;
create index coupon_expiry_due on coupon (valid_until) where status = 'active' and not expiry_reported;
