-- Birthday and first-order coupons.
alter table coupon_definition drop constraint coupon_definition_auto_issue_check;
alter table coupon_definition add constraint coupon_definition_auto_issue_check check (auto_issue in ('signup', 'grade_up', 'birthday', 'first_order'));
-- birthday: issued this many days before the birthday (0: on the day)
alter table coupon_definition add column auto_issue_days_before int not null default 0 check (auto_issue_days_before between 0 and 60);

-- The birth date is sealed with the profile; the birthday job needs to find "born on 3 March"
-- through an index. The month and day alone (month * 100 + day, 0 when unknown) are kept in the
-- clear for that: no year, and cleared while dormant or withdrawn, like the profile.
-- null: not derived yet (members from before this migration; the birthday job fills them in).
alter table member add column birth_md smallint;
create index member_birthday on member (tenant_id, birth_md, id) where status = 'active';
