// Public API of the identity module: 본인확인 (Korean identity verification) and its unit billing.
export type { IdentityTables, VerificationPurpose } from './identity.tables.ts';
export type { VerifiedIdentity, FailureReason } from './identity.rules.ts';
export type { TVerification, TVerificationUnits } from './identity.schemas.ts';
export { FAILURE_REASONS, ageOn, koreanAge } from './identity.rules.ts';
export {
  /** Starts a verification; a live one holds one VERIFICATION unit. */
  startVerification,
  getVerification,
  /** Fetches the provider's result server to server and settles the verification. */
  completeVerification,
  /** The job that settles verifications past their deadline. */
  settleDueVerifications,
  /** Adds units to a tenant's VERIFICATION account. */
  grantVerificationUnits,
  verificationUnits,
  VERIFICATION_TTL_SECONDS,
} from './identity.service.ts';
export { SANDBOX_PEOPLE, SANDBOX_OUTCOMES } from './identity.sandbox.ts';
export { identityRoutes, platformIdentityRoutes, sandboxRoutes } from './identity.routes.ts';
