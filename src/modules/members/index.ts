// Public API of the members module.

export {
  type ConsentActor,
  changeConsents,
  getConsents,
  type MarketingConsent,
  /** What the messaging module sends by: the member's advertising consent per channel and for night-time (21:00-08:00). */
  marketingConsent,
} from './member-consents.service.ts';
export { memberBarcodeRoutes } from './member-identify.routes.ts';
export {
  BARCODE_TTL_SECONDS,
  /** What the counter shows of a member (id, masked name, grade code); MEMBER_NOT_ACTIVE unless active. */
  identifiedMember,
  isBarcode,
  issueBarcode,
  /** The member behind a POS's search by phone: the active member with it, by keyed hash. */
  memberIdByPhone,
  type TBarcode,
  type TIdentifiedMember,
  /** Uses a scanned barcode (single use, atomic): the member id, or BARCODE_USED / BARCODE_EXPIRED / MEMBER_NOT_FOUND. */
  useBarcode,
} from './member-identify.service.ts';
export { getImport, IMPORT_COLUMNS, importMembers, importRejects } from './member-import.service.ts';
export {
  /** The purge job: withdrawn members' personal data is removed after the policy's days. */
  purgeWithdrawn,
  reactivate,
  /** The dormancy job: notices 30 days before, then moves personal data to the dormant store. */
  runDormancy,
  /** Withdrawal: deactivates at once and blocks re-sign-up of the person for the policy's days. */
  withdraw,
  withdrawalPreview,
} from './member-lifecycle.service.ts';
export { changePassword, confirmEmail, EMAIL_LINK_MS, updateMe } from './member-profile.service.ts';
export {
  /** The member behind a session token. */
  authenticateMember,
  listSessions,
  login,
  revokeSession,
} from './member-sessions.service.ts';
/** Naver Login through OAuth 2.0 (SOCIAL_PROVIDERS=naver). */
export { NAVER_API_BASE_URL, NAVER_AUTH_BASE_URL, type NaverOptions, naverSocialProvider } from './member-social.naver.ts';
/** Kakao Login through OpenID Connect (SOCIAL_PROVIDERS=kakao). */
export { KAKAO_ISSUER, kakaoSocialProvider, type OidcOptions } from './member-social.oidc.ts';
export type { SocialAccount, SocialCallback, SocialProvider, SocialProviderName } from './member-social.provider.ts';
export { SOCIAL_PROVIDERS } from './member-social.provider.ts';
export { SANDBOX_SOCIAL_ACCOUNTS, sandboxSocialProvider } from './member-social.sandbox.ts';
export {
  exchangeSocialLink,
  finishSocialLink,
  finishSocialLogin,
  linkSocialAccount,
  listSocialLinks,
  startSocialLink,
  startSocialLogin,
  unlinkSocial,
} from './member-social.service.ts';
export { currentMember, memberRoutes, socialSandboxRoutes } from './members.routes.ts';
export type { TMember } from './members.schemas.ts';
export {
  activeMemberIds,
  changePhone,
  fillBirthDays,
  findLoginId,
  getMember,
  getPolicy,
  memberGrade,
  /** Active members born on given month-days (the birthday index), and the job step that fills it in for older rows. */
  membersBornOn,
  requireActiveMember,
  /** For the member's sub-resources (/v1/members/{id}/…): NOT_FOUND for an unknown member or one of another tenant. */
  requireMember,
  resetPassword,
  setMemberGrade,
  /** Signs a person up, through a verification or (where allowed) without. */
  signUp,
  updatePolicy,
} from './members.service.ts';
export type { MemberStatus, MembersTables } from './members.tables.ts';

/** The columns of this module that hold sealed personal data (for key rotation). */
export const MEMBERS_SEALED_COLUMNS = [
  { table: 'member', keys: ['tenant_id', 'id'], column: 'profile_sealed', domain: 'pii' },
  { table: 'member_dormant', keys: ['tenant_id', 'member_id'], column: 'profile_sealed', domain: 'dormant' },
  { table: 'member_email_change', keys: ['tenant_id', 'token_hash'], column: 'email_sealed', domain: 'pii' },
  { table: 'social_sandbox_code', keys: ['code'], column: 'account_sealed', domain: 'pii' },
] as const;
