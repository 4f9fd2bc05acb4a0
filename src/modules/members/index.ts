// Public API of the members module.
export type { MembersTables, MemberStatus } from './members.tables.ts';
export type { TMember } from './members.schemas.ts';
export {
  /** Signs a person up, through a verification or (where allowed) without. */
  signUp,
  getMember,
  getPolicy,
  updatePolicy,
  findLoginId,
  resetPassword,
  changePhone,
  memberGrade,
  requireActiveMember,
  /** For the member's sub-resources (/v1/members/{id}/…): NOT_FOUND for an unknown member or one of another tenant. */
  requireMember,
  setMemberGrade,
  activeMemberIds,
  /** Active members born on given month-days (the birthday index), and the job step that fills it in for older rows. */
  membersBornOn,
  fillBirthDays,
} from './members.service.ts';
export {
  login,
  /** The member behind a session token. */
  authenticateMember,
  listSessions,
  revokeSession,
} from './member-sessions.service.ts';
export {
  withdrawalPreview,
  /** Withdrawal: deactivates at once and blocks re-sign-up of the person for the policy's days. */
  withdraw,
  /** The purge job: withdrawn members' personal data is removed after the policy's days. */
  purgeWithdrawn,
  /** The dormancy job: notices 30 days before, then moves personal data to the dormant store. */
  runDormancy,
  reactivate,
} from './member-lifecycle.service.ts';
export { startSocialLogin, finishSocialLogin, startSocialLink, finishSocialLink, listSocialLinks, unlinkSocial } from './member-social.service.ts';
export { SOCIAL_PROVIDERS } from './member-social.provider.ts';
export type { SocialAccount, SocialCallback, SocialProvider, SocialProviderName } from './member-social.provider.ts';
export { SANDBOX_SOCIAL_ACCOUNTS, sandboxSocialProvider } from './member-social.sandbox.ts';
/** Kakao Login through OpenID Connect (SOCIAL_PROVIDERS=kakao). */
export { kakaoSocialProvider, KAKAO_ISSUER, type OidcOptions } from './member-social.oidc.ts';
/** Naver Login through OAuth 2.0 (SOCIAL_PROVIDERS=naver). */
export { naverSocialProvider, NAVER_AUTH_BASE_URL, NAVER_API_BASE_URL, type NaverOptions } from './member-social.naver.ts';
export { importMembers, getImport, importRejects, IMPORT_COLUMNS } from './member-import.service.ts';
export { memberRoutes, socialSandboxRoutes, currentMember } from './members.routes.ts';

/** The columns of this module that hold sealed personal data (for key rotation). */
export const MEMBERS_SEALED_COLUMNS = [
  { table: 'member', keys: ['tenant_id', 'id'], column: 'profile_sealed', domain: 'pii' },
  { table: 'member_dormant', keys: ['tenant_id', 'member_id'], column: 'profile_sealed', domain: 'dormant' },
  { table: 'social_sandbox_code', keys: ['code'], column: 'account_sealed', domain: 'pii' },
] as const;
