-- SNS providers are configuration (SOCIAL_PROVIDERS: sandbox, kakao, naver). The sandbox is its own
-- provider now, named 'sandbox', instead of standing in for Naver, Kakao and PAYCO; its codes are
-- sealed and bound to our single-use state, so social_sandbox_code is no longer written.
alter table member_social_link drop constraint member_social_link_provider_check;
alter table member_social_link add constraint member_social_link_provider_check
  check (provider in ('sandbox', 'kakao', 'naver', 'payco'));
