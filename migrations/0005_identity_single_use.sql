-- A verified identity proves one thing once: the sign-up, password reset or phone change that used
-- it records itself here, and a second use is refused.
alter table identity_verification add column used_at timestamptz;
alter table identity_verification add column used_for text;
alter table identity_verification add constraint identity_verification_used_check
  check (used_at is null or status = 'verified');
