-- Reactivating a dormant account takes an identity verification of its own purpose.
alter table identity_verification drop constraint identity_verification_purpose_check;
alter table identity_verification add constraint identity_verification_purpose_check
  check (purpose in ('signup', 'find_id', 'reset_password', 'change_phone', 'age_check', 'promotion_entry', 'reactivate'));
