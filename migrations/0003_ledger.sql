-- The ledger: every balance in Moa is an account here, every change a transaction of one or more
-- legs. Accounts keep TigerBeetle-style cumulative counters; the balance is credits - debits.

create table ledger_account (
  tenant_id text not null references tenant (id),
  id text not null,
  ledger text not null check (ledger ~ '^[A-Z][A-Z0-9_]*(:[A-Za-z0-9_.-]+)?$'),
  owner_type text not null,
  owner_id text not null,
  kind text not null,
  -- A member wallet: debits_posted + debits_pending may never exceed credits_posted.
  debits_must_not_exceed_credits boolean not null default false,
  credits_must_not_exceed_debits boolean not null default false,
  -- A hot system account (issuance, breakage, float, revenue): its row is not updated on the request
  -- path; movements are appended to ledger_delta and rolled up. It can carry no constraint.
  deferred boolean not null default false,
  -- An expiring currency's wallet: credits make lots, debits draw from them first-expiring-first.
  has_lots boolean not null default false,
  status text not null default 'active' check (status in ('active', 'frozen', 'closed')),
  debits_pending bigint not null default 0,
  debits_posted bigint not null default 0,
  credits_pending bigint not null default 0,
  credits_posted bigint not null default 0,
  created_at timestamptz not null default now(),
  primary key (tenant_id, id),
  -- owner first: "the accounts of member X" is one range, and a lookup by (tenant_id, id) can only
  -- mean the primary key, statistics or not
  unique (tenant_id, owner_type, owner_id, ledger, kind),
  check (not (deferred and (debits_must_not_exceed_credits or credits_must_not_exceed_debits))),
  check (not (debits_must_not_exceed_credits and credits_must_not_exceed_debits)),
  check (not has_lots or debits_must_not_exceed_credits),
  check (debits_pending >= 0 and debits_posted >= 0 and credits_pending >= 0 and credits_posted >= 0)
) with (fillfactor = 80);

-- One row per transaction id ever submitted: the id is the idempotency key. A rejection is stored
-- too, so a retry returns the same outcome. request_hash detects a retry with other content.
--   kind transfer | hold | capture | void | reversal | expiry
--   status posted | rejected; a hold: pending -> captured | voided | expired
create table ledger_transaction (
  tenant_id text not null,
  id text not null check (length(id) between 1 and 128),
  request_hash text not null,
  kind text not null check (kind in ('transfer', 'hold', 'capture', 'void', 'reversal', 'expiry')),
  status text not null check (status in ('posted', 'rejected', 'pending', 'captured', 'voided', 'expired')),
  code text not null,
  reference text,
  memo text,
  event_at timestamptz not null,
  created_at timestamptz not null default now(),
  rejection jsonb,
  -- capture/void: the hold it resolves; reversal: the transaction it reverses
  target_id text,
  -- holds: when an unresolved hold is released by the expiry job
  timeout_at timestamptz,
  -- originals: per leg, how much has been reversed so far (changed only under this row's lock)
  reversed bigint[],
  primary key (tenant_id, id)
);
-- The hold-expiry job's only lookup.
create index ledger_transaction_open_holds on ledger_transaction (timeout_at) where status = 'pending';

-- One row per account side of each leg: the history of an account, newest first by seq, each with
-- its resulting posted balance (null for deferred accounts, whose rows are rolled up later).
create sequence ledger_posting_seq as bigint cache 100;
create table ledger_posting (
  tenant_id text not null,
  account_id text not null,
  seq bigint not null,
  transaction_id text not null,
  leg smallint not null,
  amount bigint not null check (amount <> 0),
  -- a hold's reservation (counts in the pending counters), not a posted movement
  pending boolean not null default false,
  balance_after bigint,
  -- credits to a lots account: when the lot it makes expires (null: never)
  lot_expires_at timestamptz,
  created_at timestamptz not null default now(),
  primary key (tenant_id, account_id, seq)
);
create index ledger_posting_transaction on ledger_posting (tenant_id, transaction_id);

-- Movements of deferred accounts not yet folded into their row. balance = row + sum(deltas).
create table ledger_delta (
  tenant_id text not null,
  account_id text not null,
  id bigint generated always as identity,
  debits_posted bigint not null default 0,
  credits_posted bigint not null default 0,
  debits_pending bigint not null default 0,
  credits_pending bigint not null default 0,
  primary key (tenant_id, account_id, id)
);


-- Lots of lots accounts: one per credit leg. Invariant: sum(remaining) = credits_posted - debits_posted
-- - debits_pending of the account (what is held is already drawn from its lots).
create table ledger_lot (
  tenant_id text not null,
  account_id text not null,
  id bigint generated always as identity,
  transaction_id text not null,
  leg smallint not null,
  amount bigint not null check (amount > 0),
  remaining bigint not null check (remaining >= 0 and remaining <= amount),
  expires_at timestamptz,
  created_at timestamptz not null default now(),
  primary key (tenant_id, account_id, id),
  unique (tenant_id, account_id, transaction_id, leg)
);
-- First-expiring-first draws, per account.
create index ledger_lot_open on ledger_lot (tenant_id, account_id, expires_at, id) where remaining > 0;
-- The expiry job's lookup across tenants.
create index ledger_lot_due on ledger_lot (expires_at) where remaining > 0;

-- Which lots a debit (or hold) drew from. A negative amount gives value back (a reversal).
create table ledger_lot_allocation (
  tenant_id text not null,
  transaction_id text not null,
  leg smallint not null,
  account_id text not null,
  lot_id bigint not null,
  amount bigint not null check (amount <> 0),
  primary key (tenant_id, transaction_id, leg, lot_id)
);

-- Draws p_amount from the account's lots, first-expiring first, recording it under (p_tx, p_leg).
create function ledger_lots_draw(p_tenant text, p_account text, p_tx text, p_leg int, p_amount bigint)
returns void language plpgsql
-- Every access here is by key: missing statistics (a new database) must never turn a lookup into a scan.
set enable_seqscan = off as $$
declare
  r record;
  left_ bigint := p_amount;
  take bigint;
begin
  for r in
    select id, remaining from ledger_lot
    where tenant_id = p_tenant and account_id = p_account and remaining > 0
    order by expires_at nulls last, id
    for update
  loop
    take := least(left_, r.remaining);
    update ledger_lot set remaining = remaining - take where tenant_id = p_tenant and account_id = p_account and id = r.id;
    insert into ledger_lot_allocation (tenant_id, transaction_id, leg, account_id, lot_id, amount)
    values (p_tenant, p_tx, p_leg, p_account, r.id, take)
    on conflict (tenant_id, transaction_id, leg, lot_id) do update set amount = ledger_lot_allocation.amount + excluded.amount;
    left_ := left_ - take;
    exit when left_ = 0;
  end loop;
  if left_ > 0 then
    raise exception 'ledger: lots of account % cannot cover % (invariant broken)', p_account, p_amount;
  end if;
end $$;

-- Gives p_amount back to the lots that (p_from, p_from_leg) drew from and has not given back yet,
-- latest-expiring first; records it under (p_tx, p_leg) as negative allocations when p_tx is given,
-- otherwise shrinks the source allocations (releasing part of a hold).
create function ledger_lots_return(p_tenant text, p_account text, p_from text, p_from_leg int, p_tx text, p_leg int, p_amount bigint)
returns void language plpgsql
-- Every access here is by key: missing statistics (a new database) must never turn a lookup into a scan.
set enable_seqscan = off as $$
declare
  r record;
  left_ bigint := p_amount;
  give bigint;
begin
  for r in
    select a.lot_id, a.amount - coalesce((
        select -sum(b.amount) from ledger_lot_allocation b
        join ledger_transaction rt on rt.tenant_id = b.tenant_id and rt.id = b.transaction_id
        where b.tenant_id = p_tenant and b.account_id = p_account and b.lot_id = a.lot_id and b.amount < 0
          and rt.target_id = p_from and rt.kind = 'reversal'), 0) as open
    from ledger_lot_allocation a
    join ledger_lot l on l.tenant_id = a.tenant_id and l.account_id = a.account_id and l.id = a.lot_id
    where a.tenant_id = p_tenant and a.transaction_id = p_from and a.leg = p_from_leg and a.account_id = p_account and a.amount > 0
    order by l.expires_at desc nulls first, a.lot_id desc
  loop
    give := least(left_, r.open);
    continue when give <= 0;
    update ledger_lot set remaining = remaining + give where tenant_id = p_tenant and account_id = p_account and id = r.lot_id;
    if p_tx is null and give = r.open then
      delete from ledger_lot_allocation where tenant_id = p_tenant and transaction_id = p_from and leg = p_from_leg and lot_id = r.lot_id;
    elsif p_tx is null then
      update ledger_lot_allocation set amount = amount - give
      where tenant_id = p_tenant and transaction_id = p_from and leg = p_from_leg and lot_id = r.lot_id;
    else
      insert into ledger_lot_allocation (tenant_id, transaction_id, leg, account_id, lot_id, amount)
      values (p_tenant, p_tx, p_leg, p_account, r.lot_id, -give);
    end if;
    left_ := left_ - give;
    exit when left_ = 0;
  end loop;
  if left_ > 0 then
    raise exception 'ledger: cannot give % back to the lots of % (invariant broken)', p_amount, p_from;
  end if;
end $$;

-- Takes p_amount back out of the lot that (p_from, p_from_leg) made, then first-expiring-first from
-- the others (cancelling an earn part of which was spent); recorded under (p_tx, p_leg).
create function ledger_lots_take(p_tenant text, p_account text, p_from text, p_from_leg int, p_tx text, p_leg int, p_amount bigint)
returns void language plpgsql
-- Every access here is by key: missing statistics (a new database) must never turn a lookup into a scan.
set enable_seqscan = off as $$
declare
  lot ledger_lot%rowtype;
  take bigint := 0;
begin
  select * into lot from ledger_lot
  where tenant_id = p_tenant and account_id = p_account and transaction_id = p_from and leg = p_from_leg
  for update;
  if found and lot.remaining > 0 then
    take := least(p_amount, lot.remaining);
    update ledger_lot set remaining = remaining - take where tenant_id = p_tenant and account_id = p_account and id = lot.id;
    insert into ledger_lot_allocation (tenant_id, transaction_id, leg, account_id, lot_id, amount)
    values (p_tenant, p_tx, p_leg, p_account, lot.id, take);
  end if;
  if p_amount > take then
    perform ledger_lots_draw(p_tenant, p_account, p_tx, p_leg, p_amount - take);
  end if;
end $$;

-- Why a leg could not be applied, read under the batch's locks.
create function ledger_rejection(p_tenant text, p_account text, p_ledger text, p_leg int, p_amount bigint, p_side text)
returns jsonb language plpgsql as $$
declare
  a ledger_account%rowtype;
begin
  select * into a from ledger_account where tenant_id = p_tenant and id = p_account;
  if not found then
    return jsonb_build_object('code', 'ACCOUNT_NOT_FOUND', 'leg', p_leg, 'accountId', p_account);
  elsif a.ledger <> p_ledger then
    return jsonb_build_object('code', 'LEDGER_MISMATCH', 'leg', p_leg, 'accountId', p_account, 'accountLedger', a.ledger, 'ledger', p_ledger);
  elsif a.status <> 'active' then
    return jsonb_build_object('code', 'ACCOUNT_NOT_ACTIVE', 'leg', p_leg, 'accountId', p_account, 'status', a.status);
  elsif p_side = 'debit' then
    return jsonb_build_object('code', 'INSUFFICIENT_BALANCE', 'leg', p_leg, 'accountId', p_account, 'amount', p_amount,
      'available', a.credits_posted - a.debits_posted - a.debits_pending);
  else
    return jsonb_build_object('code', 'CREDIT_LIMIT_EXCEEDED', 'leg', p_leg, 'accountId', p_account, 'amount', p_amount,
      'headroom', a.debits_posted - a.credits_posted - a.credits_pending);
  end if;
end $$;

-- Posts a batch of ledger operations in one call: each succeeds or fails on its own, all its legs or
-- none. batch: [{ t: tenant, id, h: request hash, k, code, ref, memo, at: event time, ... }] where k is
--   post     legs: [{ d: debit account, c: credit account, a: amount > 0, l: ledger }]
--   hold     legs, timeout: seconds; the amounts are reserved (pending), not moved
--   capture  target: a pending hold, amounts?: per leg (default all); the rest is released
--   void     target: a pending hold, expired?: true when the expiry job releases it
--   reverse  target: a posted transfer or capture, amounts?: per leg (default all not yet reversed)
--   expire   legs: [{ d: lots account, c: breakage account, a: 0, l }], cutoff: the lots due by then
-- A credit leg to a lots account may carry x: when the lot it makes expires.
-- Returns [{ id, s: posted|pending|rejected|conflict, replay?, r?: rejection, b?: [[debit, credit] balance per leg] }].
create function ledger_post(batch jsonb) returns jsonb language plpgsql
-- Every access here is by key: missing statistics (a new database) must never turn a lookup into a scan.
set enable_seqscan = off as $$
declare
  item jsonb;
  jl jsonb;
  legs jsonb;
  r record;
  results jsonb[] := '{}';
  k_tenant text[];
  k_account text[];
  t text;
  txid text;
  op text;
  pend boolean;
  existing record;
  target record;
  deferred_accounts jsonb;
  li int;
  amt bigint;
  acc text;
  lgr text;
  side text;
  bal bigint;
  v_rejection jsonb;
  balances jsonb;
  reversed_after bigint[];
  has_lots boolean;
  touched_lots boolean;
  -- this transaction's applied row updates (to undo on rejection)
  u_acc text[];
  u_side text[];
  u_amt bigint[];
  -- the batch's postings (single-element appends: PL/pgSQL grows arrays in place)
  mark int;
  p_tenant text[] := '{}';
  p_acc text[] := '{}';
  p_tx text[] := '{}';
  p_leg int[] := '{}';
  p_amt bigint[] := '{}';
  p_pend boolean[] := '{}';
  p_bal bigint[] := '{}';
  p_x timestamptz[] := '{}';
  -- deferred accounts' pending releases from resolving holds (what is posted goes through postings)
  q_tenant text[] := '{}';
  q_acc text[] := '{}';
  q_dq bigint[] := '{}';
  q_cq bigint[] := '{}';
begin
  -- Every account the batch touches (its legs, and the postings of the holds and transactions it
  -- resolves or reverses), sorted: the one global lock order.
  select array_agg(x ->> 't'), array_agg(x ->> 'target') into k_tenant, k_account
  from jsonb_array_elements(batch) x where x ? 'target';
  select array_agg(k.t order by k.t, k.a), array_agg(k.a order by k.t, k.a) into k_tenant, k_account
  from (
    select x ->> 't' as t, l ->> s.k as a
    from jsonb_array_elements(batch) x, jsonb_array_elements(coalesce(x -> 'legs', '[]')) l, unnest(array['d', 'c']) as s(k)
    union
    select p.tenant_id, p.account_id
    from unnest(k_tenant, k_account) as g(t, target)
    join ledger_posting p on p.tenant_id = g.t and p.transaction_id = g.target
  ) k;

  -- Lock the constrained (non-deferred) ones in that order, so batches of several processes never
  -- deadlock. Deferred accounts are only read: there is nothing to check on them.
  perform 1
  from unnest(k_tenant, k_account) as k(t, a)
  join ledger_account acc on acc.tenant_id = k.t and acc.id = k.a
  where not acc.deferred
  order by acc.tenant_id, acc.id
  for update of acc;

  select coalesce(jsonb_object_agg(acc.tenant_id || ' ' || acc.id, jsonb_build_object('l', acc.ledger, 's', acc.status)), '{}')
  into deferred_accounts
  from unnest(k_tenant, k_account) as k(t, a)
  join ledger_account acc on acc.tenant_id = k.t and acc.id = k.a
  where acc.deferred;

  for item in select value from jsonb_array_elements(batch) loop
    t := item ->> 't';
    txid := item ->> 'id';
    op := coalesce(item ->> 'k', 'post');
    pend := op = 'hold';

    -- Claim the id first: a concurrent duplicate waits here for the first to commit, then replays.
    insert into ledger_transaction (tenant_id, id, request_hash, kind, status, code, reference, memo, event_at, target_id, timeout_at)
    values (t, txid, item ->> 'h',
      case op when 'post' then 'transfer' when 'reverse' then 'reversal' when 'expire' then 'expiry' else op end,
      case when pend then 'pending' else 'posted' end,
      item ->> 'code', item ->> 'ref', item ->> 'memo', (item ->> 'at')::timestamptz, item ->> 'target',
      case when pend then now() + make_interval(secs => (item ->> 'timeout')::double precision) end)
    on conflict (tenant_id, id) do nothing;
    if not found then
      select lt.kind, lt.status, lt.request_hash, lt.rejection into existing
      from ledger_transaction lt where lt.tenant_id = t and lt.id = txid;
      if existing.request_hash <> item ->> 'h' then
        results := results || jsonb_build_object('id', txid, 's', 'conflict');
      else
        results := results || jsonb_build_object('id', txid, 'replay', true, 'r', existing.rejection,
          's', case when existing.status = 'rejected' then 'rejected' when existing.kind = 'hold' then 'pending' else 'posted' end);
      end if;
      continue;
    end if;

    v_rejection := null;
    u_acc := '{}'; u_side := '{}'; u_amt := '{}';
    mark := coalesce(array_length(p_acc, 1), 0);
    balances := '[]';
    legs := '[]';
    touched_lots := false;

    if op in ('capture', 'void') then
      select * into target from ledger_transaction where tenant_id = t and id = item ->> 'target' for update;
      if not found or target.kind <> 'hold' then
        v_rejection := jsonb_build_object('code', 'HOLD_NOT_FOUND', 'holdId', item ->> 'target');
      elsif target.status <> 'pending' then
        v_rejection := jsonb_build_object('code', 'HOLD_NOT_PENDING', 'holdId', target.id, 'status', target.status);
      elsif op = 'capture' and target.timeout_at <= now() then
        v_rejection := jsonb_build_object('code', 'HOLD_EXPIRED', 'holdId', target.id, 'expiredAt', target.timeout_at);
      else
        -- Check every amount before writing anything.
        for r in
          select p.leg, max(p.account_id) filter (where p.amount < 0) as d, max(p.account_id) filter (where p.amount > 0) as c,
            max(abs(p.amount)) as a
          from ledger_posting p where p.tenant_id = t and p.transaction_id = target.id and p.pending
          group by p.leg order by p.leg
        loop
          amt := case when op = 'void' then 0 else coalesce((item -> 'amounts' ->> r.leg)::bigint, r.a) end;
          if amt < 0 or amt > r.a then
            v_rejection := jsonb_build_object('code', 'CAPTURE_EXCEEDS_HOLD', 'leg', r.leg, 'held', r.a, 'amount', amt);
            exit;
          end if;
        end loop;
        if v_rejection is null then
          for r in
            select p.leg, max(p.account_id) filter (where p.amount < 0) as d, max(p.account_id) filter (where p.amount > 0) as c,
              max(abs(p.amount)) as a, max(p.lot_expires_at) as x
            from ledger_posting p where p.tenant_id = t and p.transaction_id = target.id and p.pending
            group by p.leg order by p.leg
          loop
            amt := case when op = 'void' then 0 else coalesce((item -> 'amounts' ->> r.leg)::bigint, r.a) end;
            balances := balances || '[[null, null]]'::jsonb;
            foreach side in array array['debit', 'credit'] loop
              acc := case side when 'debit' then r.d else r.c end;
              if deferred_accounts ? (t || ' ' || acc) then
                q_tenant := q_tenant || t; q_acc := q_acc || acc;
                q_dq := q_dq || case side when 'debit' then -r.a else 0 end;
                q_cq := q_cq || case side when 'credit' then -r.a else 0 end;
                bal := null;
                has_lots := false;
              elsif side = 'debit' then
                update ledger_account set debits_pending = debits_pending - r.a, debits_posted = debits_posted + amt
                where tenant_id = t and id = acc returning credits_posted - debits_posted, ledger_account.has_lots into bal, has_lots;
                if has_lots then
                  -- The uncaptured part goes back to its lots; what is captured stays drawn, now by the capture.
                  if r.a > amt then
                    perform ledger_lots_return(t, acc, target.id, r.leg, null, null, r.a - amt);
                  end if;
                  update ledger_lot_allocation set transaction_id = txid
                  where tenant_id = t and transaction_id = target.id and leg = r.leg and account_id = acc;
                end if;
              else
                update ledger_account set credits_pending = credits_pending - r.a, credits_posted = credits_posted + amt
                where tenant_id = t and id = acc returning credits_posted - debits_posted, ledger_account.has_lots into bal, has_lots;
                if has_lots and amt > 0 then
                  insert into ledger_lot (tenant_id, account_id, transaction_id, leg, amount, remaining, expires_at)
                  values (t, acc, txid, r.leg, amt, amt, r.x);
                end if;
              end if;
              if amt > 0 then
                p_tenant := p_tenant || t; p_acc := p_acc || acc; p_tx := p_tx || txid; p_leg := p_leg || r.leg;
                p_amt := p_amt || case side when 'debit' then -amt else amt end; p_pend := p_pend || false; p_bal := p_bal || bal;
                p_x := p_x || case when side = 'credit' and has_lots then r.x end;
              end if;
              if bal is not null then
                balances := jsonb_set(balances, array[r.leg::text, case side when 'debit' then '0' else '1' end], to_jsonb(bal));
              end if;
            end loop;
          end loop;
          update ledger_transaction
          set status = case when op = 'capture' then 'captured' when (item ->> 'expired')::boolean then 'expired' else 'voided' end
          where tenant_id = t and id = target.id;
        end if;
      end if;

    else
      if op = 'reverse' then
        select * into target from ledger_transaction where tenant_id = t and id = item ->> 'target' for update;
        if not found then
          v_rejection := jsonb_build_object('code', 'TRANSACTION_NOT_FOUND', 'transactionId', item ->> 'target');
        elsif target.kind not in ('transfer', 'capture') or target.status <> 'posted' then
          v_rejection := jsonb_build_object('code', 'NOT_REVERSIBLE', 'transactionId', target.id, 'kind', target.kind, 'status', target.status);
        else
          -- The reversal's legs: each original leg swapped, for the amount asked (default: all not yet reversed).
          reversed_after := '{}';
          for r in
            select p.leg, max(p.account_id) filter (where p.amount < 0) as d, max(p.account_id) filter (where p.amount > 0) as c,
              max(abs(p.amount)) as a, max(a.ledger) as l
            from ledger_posting p
            join ledger_account a on a.tenant_id = p.tenant_id and a.id = p.account_id
            where p.tenant_id = t and p.transaction_id = target.id and not p.pending
            group by p.leg order by p.leg
          loop
            amt := coalesce((item -> 'amounts' ->> r.leg)::bigint, r.a - coalesce(target.reversed[r.leg + 1], 0));
            if amt < 0 or amt > r.a - coalesce(target.reversed[r.leg + 1], 0) then
              v_rejection := jsonb_build_object('code', 'REVERSAL_EXCEEDS_ORIGINAL', 'leg', r.leg, 'original', r.a,
                'reversed', coalesce(target.reversed[r.leg + 1], 0), 'amount', amt);
              exit;
            end if;
            reversed_after := reversed_after || (coalesce(target.reversed[r.leg + 1], 0) + amt);
            if amt > 0 then
              legs := legs || jsonb_build_object('d', r.c, 'c', r.d, 'a', amt, 'l', r.l, 'src', r.leg);
            end if;
          end loop;
          if v_rejection is null and jsonb_array_length(legs) = 0 then
            v_rejection := jsonb_build_object('code', 'NOTHING_TO_REVERSE', 'transactionId', target.id);
          end if;
        end if;
      elsif op = 'expire' then
        select coalesce(sum(remaining), 0) into amt from ledger_lot
        where tenant_id = t and account_id = item -> 'legs' -> 0 ->> 'd' and remaining > 0
          and expires_at <= (item ->> 'cutoff')::timestamptz;
        if amt = 0 then
          v_rejection := jsonb_build_object('code', 'NOTHING_TO_EXPIRE', 'accountId', item -> 'legs' -> 0 ->> 'd', 'cutoff', item ->> 'cutoff');
        else
          -- Drawing first-expiring-first takes exactly the lots that are due.
          legs := jsonb_build_array(jsonb_set(item -> 'legs' -> 0, '{a}', to_jsonb(amt)));
        end if;
      else
        legs := item -> 'legs';
      end if;

      li := 0;
      if v_rejection is null then
        <<apply>>
        for jl in select value from jsonb_array_elements(legs) loop
          amt := (jl ->> 'a')::bigint;
          lgr := jl ->> 'l';
          balances := balances || '[[null, null]]'::jsonb;
          foreach side in array array['debit', 'credit'] loop
            acc := case side when 'debit' then jl ->> 'd' else jl ->> 'c' end;
            if deferred_accounts ? (t || ' ' || acc) then
              if deferred_accounts -> (t || ' ' || acc) ->> 'l' <> lgr or deferred_accounts -> (t || ' ' || acc) ->> 's' <> 'active' then
                v_rejection := ledger_rejection(t, acc, lgr, li, amt, side);
                exit apply;
              end if;
              bal := null;
              has_lots := false;
            elsif side = 'debit' then
              update ledger_account
              set debits_posted = debits_posted + case when pend then 0 else amt end,
                debits_pending = debits_pending + case when pend then amt else 0 end
              where tenant_id = t and id = acc and ledger = lgr and status = 'active'
                and (not debits_must_not_exceed_credits or debits_posted + debits_pending + amt <= credits_posted)
              returning credits_posted - debits_posted, ledger_account.has_lots into bal, has_lots;
              if not found then
                v_rejection := ledger_rejection(t, acc, lgr, li, amt, side);
                exit apply;
              end if;
              if has_lots then
                touched_lots := true;
                if op = 'reverse' then
                  perform ledger_lots_take(t, acc, target.id, (jl ->> 'src')::int, txid, li, amt);
                else
                  perform ledger_lots_draw(t, acc, txid, li, amt);
                end if;
              end if;
            else
              update ledger_account
              set credits_posted = credits_posted + case when pend then 0 else amt end,
                credits_pending = credits_pending + case when pend then amt else 0 end
              where tenant_id = t and id = acc and ledger = lgr and status = 'active'
                and (not credits_must_not_exceed_debits or credits_posted + credits_pending + amt <= debits_posted)
              returning credits_posted - debits_posted, ledger_account.has_lots into bal, has_lots;
              if not found then
                v_rejection := ledger_rejection(t, acc, lgr, li, amt, side);
                exit apply;
              end if;
              if has_lots and not pend then
                touched_lots := true;
                if op = 'reverse' then
                  -- Reversing a debit gives back exactly the lots it drew from, latest-expiring first.
                  perform ledger_lots_return(t, acc, target.id, (jl ->> 'src')::int, txid, li, amt);
                else
                  insert into ledger_lot (tenant_id, account_id, transaction_id, leg, amount, remaining, expires_at)
                  values (t, acc, txid, li, amt, amt, (jl ->> 'x')::timestamptz);
                end if;
              end if;
            end if;
            if bal is not null then
              u_acc := u_acc || acc; u_side := u_side || side; u_amt := u_amt || amt;
              balances := jsonb_set(balances, array[li::text, case side when 'debit' then '0' else '1' end], to_jsonb(bal));
            end if;
            p_tenant := p_tenant || t; p_acc := p_acc || acc; p_tx := p_tx || txid; p_leg := p_leg || li;
            p_amt := p_amt || case side when 'debit' then -amt else amt end; p_pend := p_pend || pend; p_bal := p_bal || bal;
            p_x := p_x || case when side = 'credit' and bal is not null and has_lots then (jl ->> 'x')::timestamptz end;
          end loop;
          li := li + 1;
        end loop;
      end if;

      if v_rejection is not null then
        -- All legs or none: undo this transaction's earlier legs (the rows are still locked by us).
        for k in 1 .. coalesce(array_length(u_acc, 1), 0) loop
          if u_side[k] = 'debit' then
            update ledger_account
            set debits_posted = debits_posted - case when pend then 0 else u_amt[k] end,
              debits_pending = debits_pending - case when pend then u_amt[k] else 0 end
            where tenant_id = t and id = u_acc[k];
          else
            update ledger_account
            set credits_posted = credits_posted - case when pend then 0 else u_amt[k] end,
              credits_pending = credits_pending - case when pend then u_amt[k] else 0 end
            where tenant_id = t and id = u_acc[k];
          end if;
        end loop;
        if touched_lots then
          update ledger_lot l set remaining = l.remaining + a.amount
          from ledger_lot_allocation a
          where a.tenant_id = t and a.transaction_id = txid
            and l.tenant_id = a.tenant_id and l.account_id = a.account_id and l.id = a.lot_id;
          delete from ledger_lot_allocation where tenant_id = t and transaction_id = txid;
          delete from ledger_lot where tenant_id = t and transaction_id = txid;
        end if;
      elsif op = 'reverse' then
        update ledger_transaction set reversed = reversed_after where tenant_id = t and id = target.id;
      end if;
    end if;

    if v_rejection is not null then
      update ledger_transaction set status = 'rejected', rejection = v_rejection where tenant_id = t and id = txid;
      p_tenant := p_tenant[1:mark]; p_acc := p_acc[1:mark]; p_tx := p_tx[1:mark];
      p_leg := p_leg[1:mark]; p_amt := p_amt[1:mark]; p_pend := p_pend[1:mark]; p_bal := p_bal[1:mark]; p_x := p_x[1:mark];
      results := results || jsonb_build_object('id', txid, 's', 'rejected', 'r', v_rejection);
    else
      results := results || jsonb_build_object('id', txid, 's', case when pend then 'pending' else 'posted' end, 'b', balances);
    end if;
  end loop;

  -- History rows in batch order (seq is taken after the sort), then one delta per deferred account.
  insert into ledger_posting (tenant_id, account_id, seq, transaction_id, leg, amount, pending, balance_after, lot_expires_at)
  select u.t, u.a, nextval('ledger_posting_seq'), u.x, u.l, u.m, u.p, u.b, u.e
  from unnest(p_tenant, p_acc, p_tx, p_leg, p_amt, p_pend, p_bal, p_x) with ordinality as u(t, a, x, l, m, p, b, e, n)
  order by u.n;

  insert into ledger_delta (tenant_id, account_id, debits_posted, credits_posted, debits_pending, credits_pending)
  select d.t, d.a, sum(d.dp), sum(d.cp), sum(d.dq), sum(d.cq)
  from (
    select u.t, u.a,
      case when u.p then 0 else greatest(-u.m, 0) end as dp, case when u.p then 0 else greatest(u.m, 0) end as cp,
      case when u.p then greatest(-u.m, 0) else 0 end as dq, case when u.p then greatest(u.m, 0) else 0 end as cq
    from unnest(p_tenant, p_acc, p_bal, p_amt, p_pend) as u(t, a, b, m, p)
    where u.b is null
    union all
    select q.t, q.a, 0, 0, q.dq, q.cq from unnest(q_tenant, q_acc, q_dq, q_cq) as q(t, a, dq, cq)
  ) d
  group by d.t, d.a;

  return to_jsonb(results);
end $$;

-- Folds deltas into deferred accounts' rows, at most p_limit deltas per call; returns how many.
-- Rows being folded by another process are skipped, never waited for.
create function ledger_rollup(p_limit int) returns int language plpgsql as $$
declare
  v_n int;
begin
  with taken as (
    delete from ledger_delta
    where (tenant_id, account_id, id) in (
      select tenant_id, account_id, id from ledger_delta order by id limit p_limit for update skip locked)
    returning *
  ), sums as (
    select tenant_id, account_id, count(*) as n,
      sum(debits_posted) as dp, sum(credits_posted) as cp, sum(debits_pending) as dq, sum(credits_pending) as cq
    from taken group by tenant_id, account_id
  ), applied as (
    update ledger_account a
    set debits_posted = a.debits_posted + s.dp, credits_posted = a.credits_posted + s.cp,
        debits_pending = a.debits_pending + s.dq, credits_pending = a.credits_pending + s.cq
    from sums s where a.tenant_id = s.tenant_id and a.id = s.account_id
    returning s.n
  )
  select coalesce(sum(applied.n), 0) into v_n from applied;
  return v_n;
end $$;
