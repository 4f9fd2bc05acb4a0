-- Checkouts listed by store (GET /v1/checkouts?storeId=): the store a checkout names, as a column
-- (it was only in the request JSON), and keyset indexes for the list's newest-first pages.
alter table checkout add column store_id text;
update checkout set store_id = request ->> 'storeId' where request ->> 'storeId' is not null;
drop index checkout_member;
create index checkout_member on checkout (tenant_id, member_id, created_at desc, id desc);
create index checkout_store on checkout (tenant_id, store_id, created_at desc, id desc) where store_id is not null;
create index checkout_created on checkout (tenant_id, created_at desc, id desc);
