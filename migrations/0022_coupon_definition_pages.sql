-- Definitions are listed newest first, a page at a time (the console, and the app's downloadable
-- list): a brand with 1,000 definitions reads one page from an index, not all of them sorted.
create index coupon_definition_newest on coupon_definition (tenant_id, created_at desc, id desc);
create index coupon_definition_downloadable on coupon_definition (tenant_id, created_at desc, id desc) where downloadable and status = 'active';
