// Public API of the operators module: the people who sign in to a console, their roles, second
// factors and sessions, and the log of every access change.
import type { FastifyRequest } from 'fastify';
import { asSystem } from '../../platform/db-context.ts';
import type { Deps } from '../../platform/deps.ts';
import type { OperatorAuth } from '../../platform/request-context.ts';
import { checkCsrf, requireSecureTransport, sessionCookie } from './operator-session.cookie.ts';
import { authenticateOperator } from './operator-sessions.service.ts';
import { notePermissionUse } from './operators.repository.ts';

export {
  CODE_MAX_ATTEMPTS,
  CODE_RESEND_MS,
  CODE_TTL_MS,
  RECOVERY_LINK_MS,
  RECOVERY_REQUESTS_PER_DAY,
} from './operator-codes.service.ts';
export { operatorLoginPage } from './operator-login.page.ts';
export { totpCode } from './operator-totp.rules.ts';
export { operatorAuthRoutes, operatorRoutes, platformOperatorRoutes } from './operators.routes.ts';
export { BUILTIN_ROLES, type BuiltinRole, PLATFORM_ROLE, passwordBlocklistSize, passwordProblem } from './operators.rules.ts';
export { ZInvitationRequest } from './operators.schemas.ts';
export {
  createOperatorDirectly,
  enrolTotpDirectly,
  invitationUrl,
  invite,
  inviteOwner,
  listInvitations,
  listOperators,
  setOperatorStatus,
} from './operators.service.ts';
export type { OperatorsTables } from './operators.tables.ts';

/**
 * The operator behind a request's session cookie (undefined without one), after the transport and
 * CSRF checks. The lookup crosses tenants (the cookie names none): moa_system, one query.
 */
export async function operatorAuth(deps: Deps, req: FastifyRequest): Promise<OperatorAuth | undefined> {
  const token = sessionCookie(req);
  if (token === undefined) return undefined;
  requireSecureTransport(req);
  checkCsrf(req);
  return asSystem(() => authenticateOperator(deps, token));
}

/** The columns of this module that hold sealed personal data (for key rotation). */
export const OPERATORS_SEALED_COLUMNS = [
  { table: 'operator', keys: ['id'], column: 'email_sealed', domain: 'pii' },
  { table: 'operator', keys: ['id'], column: 'name_sealed', domain: 'pii' },
  { table: 'operator', keys: ['id'], column: 'phone_sealed', domain: 'pii' },
  { table: 'operator_invitation', keys: ['id'], column: 'email_sealed', domain: 'pii' },
  { table: 'operator_invitation', keys: ['id'], column: 'name_sealed', domain: 'pii' },
  { table: 'operator_totp', keys: ['operator_id'], column: 'secret_sealed', domain: 'pii' },
  { table: 'operator_code', keys: ['operator_id', 'purpose'], column: 'phone_sealed', domain: 'pii' },
] as const;

const noted = new Map<string, number>();
/**
 * Records an operator's use of a permission for the access review: at most once an hour per
 * operator and permission from this process (the statement also refuses more often).
 */
export async function notePermission(deps: Deps, auth: OperatorAuth, permission: string | false | undefined): Promise<void> {
  if (!permission || auth.tenantId === null) return;
  const key = `${auth.operatorId} ${permission}`;
  const now = deps.clock.now();
  if (now.getTime() - (noted.get(key) ?? 0) < 3_600_000) return;
  noted.set(key, now.getTime());
  await notePermissionUse(deps.db, auth.tenantId, auth.operatorId, permission, now);
}
