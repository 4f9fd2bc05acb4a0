// Public API of the identity module: 본인확인 (Korean identity verification) and its unit billing.

/** The PortOne V2 identity verification adapter (IDENTITY_PROVIDER=portone). */
export { type PortOneIdentityOptions, portoneIdentityProvider } from './identity.portone.ts';
export type { IdentityProvider, ProviderOutcome } from './identity.provider.ts';
export { identityRoutes, platformIdentityRoutes, sandboxRoutes } from './identity.routes.ts';
export type { FailureReason, ProviderFailure, VerifiedIdentity } from './identity.rules.ts';
export { ageOn, FAILURE_REASONS, koreanAge } from './identity.rules.ts';
export {
  SANDBOX_OUTCOMES,
  SANDBOX_PEOPLE,
  /** The sandbox provider (IDENTITY_PROVIDER=sandbox), built once in src/providers.ts. */
  sandboxIdentityProvider,
  /** What the sandbox page does when a tester submits it (for the demo seed and tools). */
  submitSandbox,
} from './identity.sandbox.ts';
export type { TVerification, TVerificationUnits } from './identity.schemas.ts';
export type { UsedVerification } from './identity.service.ts';
export {
  /** Fetches the provider's result server to server and settles the verification. */
  completeVerification,
  getVerification,
  /** Adds units to a tenant's VERIFICATION account. */
  grantVerificationUnits,
  /** The job that settles verifications past their deadline. */
  settleDueVerifications,
  /** Starts a verification; a live one holds one VERIFICATION unit. */
  startVerification,
  /** Uses a verified verification once, for the step it was made for (in the caller's transaction). */
  useVerification,
  VERIFICATION_TTL_SECONDS,
  verificationUnits,
} from './identity.service.ts';
export type { IdentityTables, VerificationPurpose } from './identity.tables.ts';

/** The columns of this module that hold sealed personal data (for key rotation). */
export const IDENTITY_SEALED_COLUMNS = [
  { table: 'identity_verification', keys: ['tenant_id', 'id'], column: 'identity_sealed', domain: 'pii' },
  { table: 'identity_sandbox_result', keys: ['request_no'], column: 'identity_sealed', domain: 'pii' },
] as const;
