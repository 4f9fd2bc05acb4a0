-- Per-code limit on wrong OTP submissions: a wrong code names no code, so every wrong submission in
-- a tenant counts against each code live at that moment; a code that has seen too many ends.
alter table stamp_otp add column wrong_seen int not null default 0;
