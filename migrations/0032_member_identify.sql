-- Identify the member at the counter (issue 17 §1).

-- The member app's dynamic barcode: one live code per member (a new one replaces it, so an old
-- screenshot stops working), single use, short-lived. Only a keyed hash of the code is stored.
create table member_barcode (
  tenant_id text not null,
  member_id text not null,
  code_hash text not null,
  issued_at timestamptz not null,
  expires_at timestamptz not null,
  used_at timestamptz,
  primary key (tenant_id, member_id),
  foreign key (tenant_id, member_id) references member (tenant_id, id)
);
-- The POS looks a code up by its hash: one index lookup, and two members never share a live code.
create unique index member_barcode_code on member_barcode (tenant_id, code_hash);

select moa_enable_tenant_rls('member_barcode'::regclass);

-- A key bound to a store (a POS terminal) acts for that store only; null: the whole brand.
alter table api_key add column store_id text;
alter table api_key add constraint api_key_store foreign key (tenant_id, store_id) references store (tenant_id, id);
