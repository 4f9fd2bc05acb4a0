import { createHash, randomBytes } from 'node:crypto';
import type { z } from 'zod';
import { withTransaction } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { AppError, fieldError } from '../../platform/errors.ts';
import { newId } from '../../platform/ids.ts';
import { pageOf, type TPageQuery } from '../../platform/pages.ts';
import { hashPassword } from '../../platform/passwords.ts';
import { piiFor } from '../../platform/pii.ts';
import { requireStores } from '../stores/index.ts';
import { getTenant } from '../tenants/index.ts';
import { emailHash, enrolmentSession, logoutEverywhere, type NewSession, permissionsOf } from './operator-sessions.service.ts';
import { newTotpSecret, totpUri } from './operator-totp.rules.ts';
import * as repo from './operators.repository.ts';
import { BUILTIN_ROLES, isBuiltinRole, type Permission, PLATFORM_ROLE, passwordProblem } from './operators.rules.ts';
import type { TOperator, ZInvitation, ZRole } from './operators.schemas.ts';
import type { OperatorRow } from './operators.tables.ts';

// Operators of a tenant (or of the platform, tenantId null): invited only, one person per account,
// a role (built-in or custom) optionally limited to some stores. Every grant, change and
// revocation of access is an append-only row (operator_access_change).

type D = Pick<Deps, 'db' | 'clock' | 'config' | 'masterKey'>;

export const INVITATION_HOURS = 72;
const sha256 = (s: string) => createHash('sha256').update(s).digest();

export type TInvitation = z.infer<typeof ZInvitation>;
export type TRole = z.infer<typeof ZRole>;

function toOperator(deps: Pick<Deps, 'masterKey'>, r: OperatorRow): TOperator {
  const pii = piiFor(deps.masterKey);
  return {
    id: r.id,
    email: pii.open<string>(r.email_sealed),
    name: pii.open<string>(r.name_sealed),
    role: r.role,
    storeIds: r.store_ids,
    status: r.status,
    createdAt: r.created_at.toISOString(),
  };
}

/** One append-only row of operator_access_change: who changed whose access, and how. */
export async function recordChange(
  deps: Pick<Deps, 'db'>,
  tenantId: string | null,
  c: { actorId: string | null; operatorId?: string; roleId?: string; change: string; before?: unknown; after?: unknown },
) {
  await repo.insertAccessChange(deps.db, {
    id: newId('acc'),
    tenant_id: tenantId,
    actor_id: c.actorId,
    operator_id: c.operatorId ?? null,
    role_id: c.roleId ?? null,
    change: c.change,
    before: c.before === undefined ? null : JSON.stringify(c.before),
    after: c.after === undefined ? null : JSON.stringify(c.after),
  });
}

/**
 * A role key must be built in or one of the tenant's custom roles; platform operators have the
 * platform role. Stores, when the role is limited to some, must be the tenant's; an owner has them all.
 */
async function checkRole(
  deps: Pick<Deps, 'db'>,
  tenantId: string | null,
  { role, storeIds }: { role: string; storeIds?: string[] | null | undefined },
): Promise<void> {
  if (tenantId === null) {
    if (role !== PLATFORM_ROLE) throw new AppError('VALIDATION_FAILED', `Platform operators have the role ${PLATFORM_ROLE}.`);
    if (storeIds) throw fieldError('storeIds', 'platform operators belong to no store');
    return;
  }
  if (!isBuiltinRole(role) && !(await repo.findCustomRole(deps.db, tenantId, role)))
    throw new AppError('NOT_FOUND', `No role ${role}: use a built-in role or a custom role's id.`, { role });
  if (!storeIds) return;
  if (role === 'owner') throw fieldError('storeIds', 'an owner has every store: send null');
  if (!storeIds.length) throw fieldError('storeIds', 'name at least one store, or send null for every store');
  await requireStores(deps, tenantId, storeIds);
}

/**
 * Invites a person by e-mail: a single-use token bound to that e-mail, valid 72 hours. The token
 * is in this answer only (the route's idempotency record keeps it sealed).
 */
export async function invite(
  deps: D,
  tenantId: string | null,
  input: { email: string; name: string; role: string; storeIds?: string[] | null },
  actorId: string | null,
): Promise<TInvitation & { token: string }> {
  const now = deps.clock.now();
  const email = input.email.trim().toLowerCase();
  const hash = emailHash(deps.masterKey, email);
  return withTransaction(deps.db, async (trx) => {
    await checkRole({ db: trx }, tenantId, input);
    if (await repo.findOperatorByEmailHash(trx, hash))
      throw new AppError('CONFLICT', 'An operator with this e-mail exists already (one account per person).', { field: 'email' });
    await repo.revokeExpiredInvitation(trx, hash, now);
    const token = `inv_${randomBytes(32).toString('base64url')}`;
    const pii = piiFor(deps.masterKey);
    const row = await repo.insertInvitation(trx, {
      id: newId('oin'),
      tenant_id: tenantId,
      email_hash: hash,
      email_sealed: pii.seal(email),
      name_sealed: pii.seal(input.name),
      role: input.role,
      store_ids: input.storeIds ?? null,
      token_hash: sha256(token),
      invited_by: actorId,
      expires_at: new Date(now.getTime() + INVITATION_HOURS * 3_600_000),
    });
    if (!row)
      throw new AppError('CONFLICT', 'This e-mail has an open invitation already: revoke it to send another.', {
        field: 'email',
      });
    await recordChange({ db: trx }, tenantId, {
      actorId,
      change: 'invited',
      after: { invitationId: row.id, role: input.role, storeIds: input.storeIds ?? null },
    });
    return {
      id: row.id,
      email,
      name: input.name,
      role: row.role,
      storeIds: row.store_ids,
      expiresAt: row.expires_at.toISOString(),
      token,
    };
  });
}

export async function listInvitations(deps: D, tenantId: string | null): Promise<TInvitation[]> {
  const pii = piiFor(deps.masterKey);
  return (await repo.listOpenInvitations(deps.db, tenantId, deps.clock.now())).map((r) => ({
    id: r.id,
    email: pii.open<string>(r.email_sealed),
    name: pii.open<string>(r.name_sealed),
    role: r.role,
    storeIds: r.store_ids,
    expiresAt: r.expires_at.toISOString(),
  }));
}

export async function revokeInvitation(deps: D, tenantId: string | null, id: string, actorId: string | null): Promise<void> {
  await withTransaction(deps.db, async (trx) => {
    const row = await repo.closeInvitation(trx, id, 'revoked_at', deps.clock.now(), tenantId);
    if (!row) throw new AppError('NOT_FOUND', `No open invitation ${id}.`, { invitationId: id });
    await recordChange({ db: trx }, tenantId, { actorId, change: 'invitation_revoked', before: { invitationId: id } });
  });
}

/** What an invitation link shows before it is accepted (no secret beyond the token itself). */
export async function describeInvitation(deps: D, token: string) {
  const row = await usableInvitation(deps, token);
  return {
    email: piiFor(deps.masterKey).open<string>(row.email_sealed),
    name: piiFor(deps.masterKey).open<string>(row.name_sealed),
    role: row.role,
    expiresAt: row.expires_at.toISOString(),
  };
}

async function usableInvitation(deps: D, token: string) {
  const row = await repo.findInvitationByToken(deps.db, sha256(token));
  const reason = !row
    ? 'unknown'
    : row.accepted_at
      ? 'accepted'
      : row.revoked_at
        ? 'revoked'
        : row.expires_at <= deps.clock.now()
          ? 'expired'
          : null;
  if (!row || reason) throw new AppError('INVITATION_NOT_USABLE', 'This invitation cannot be used.', { reason });
  return row;
}

/**
 * Accepts an invitation: the account is created with the invited e-mail, role and stores and the
 * chosen password; the answer's session can only enrol a second factor.
 */
export async function acceptInvitation(
  deps: D,
  token: string,
  input: { password: string; ip?: string; userAgent?: string },
): Promise<{ operator: TOperator; session: NewSession }> {
  const now = deps.clock.now();
  const pre = await usableInvitation(deps, token);
  const email = piiFor(deps.masterKey).open<string>(pre.email_sealed);
  const problem = passwordProblem(input.password, email);
  if (problem) throw new AppError('PASSWORD_REJECTED', passwordMessage(problem), { reason: problem });
  // Hashing is slow: before the transaction.
  const passwordHash = await hashPassword(input.password);
  return withTransaction(deps.db, async (trx) => {
    const row = await repo.closeInvitation(trx, pre.id, 'accepted_at', now);
    if (!row) throw new AppError('INVITATION_NOT_USABLE', 'This invitation cannot be used.', { reason: 'accepted' });
    const operator = await repo.insertOperator(trx, {
      id: newId('opr'),
      tenant_id: row.tenant_id,
      email_hash: row.email_hash,
      email_sealed: row.email_sealed,
      name_sealed: row.name_sealed,
      phone_sealed: null,
      role: row.role,
      store_ids: row.store_ids,
      password_hash: passwordHash,
      sessions_valid_after: now,
    });
    await recordChange({ db: trx }, row.tenant_id, {
      actorId: row.invited_by,
      operatorId: operator.id,
      change: 'granted',
      after: { role: row.role, storeIds: row.store_ids, invitationId: row.id },
    });
    const session = await enrolmentSession({ ...deps, db: trx }, operator, input);
    return { operator: toOperator(deps, operator), session };
  });
}

export function passwordMessage(problem: string): string {
  switch (problem) {
    case 'too_short':
      return 'Use at least 10 characters: a phrase of several words is easy to remember.';
    case 'too_long':
      return 'Use at most 128 characters.';
    case 'breached':
      return 'This password appears in lists of leaked passwords: choose another.';
    case 'contains_email':
      return 'The password must not contain your e-mail name.';
    default:
      return 'The password repeats one or two characters: choose another.';
  }
}

export async function listOperators(deps: D, tenantId: string | null): Promise<TOperator[]> {
  return (await repo.listOperators(deps.db, tenantId)).map((r) => toOperator(deps, r));
}

export async function getOperator(deps: D, tenantId: string | null, id: string): Promise<TOperator> {
  return toOperator(deps, await requireOperator(deps, tenantId, id));
}

async function requireOperator(deps: Pick<Deps, 'db'>, tenantId: string | null, id: string): Promise<OperatorRow> {
  const row = await repo.findOperator(deps.db, tenantId, id);
  if (!row || row.status === 'removed') throw new AppError('NOT_FOUND', `No operator ${id}.`, { operatorId: id });
  return row;
}

/** The last active owner can be neither demoted, suspended nor removed. */
async function keepAnOwner(deps: Pick<Deps, 'db'>, row: OperatorRow): Promise<void> {
  if (
    row.tenant_id !== null &&
    row.role === 'owner' &&
    row.status === 'active' &&
    (await repo.otherActiveOwners(deps.db, row.tenant_id, row.id)) === 0
  )
    throw new AppError('LAST_OWNER', 'This is the last active owner of the brand: make another operator owner first.');
}

export async function changeRole(
  deps: D,
  tenantId: string | null,
  id: string,
  input: { role: string; storeIds?: string[] | null },
  actorId: string | null,
): Promise<TOperator> {
  return withTransaction(deps.db, async (trx) => {
    const row = await requireOperator({ db: trx }, tenantId, id);
    await checkRole({ db: trx }, tenantId, input);
    if (input.role !== 'owner') await keepAnOwner({ db: trx }, row);
    const updated = (await repo.updateOperator(
      trx,
      tenantId,
      id,
      { role: input.role, store_ids: input.storeIds ?? null },
      deps.clock.now(),
    ))!;
    await recordChange({ db: trx }, tenantId, {
      actorId,
      operatorId: id,
      change: 'role_changed',
      before: { role: row.role, storeIds: row.store_ids },
      after: { role: updated.role, storeIds: updated.store_ids },
    });
    return toOperator(deps, updated);
  });
}

/** Suspends (every session ends at once), reactivates or removes an operator. */
export async function setOperatorStatus(
  deps: D,
  tenantId: string | null,
  id: string,
  status: 'active' | 'suspended' | 'removed',
  actorId: string | null,
): Promise<TOperator> {
  const now = deps.clock.now();
  const updated = await withTransaction(deps.db, async (trx) => {
    const row = await requireOperator({ db: trx }, tenantId, id);
    if (status !== 'active') await keepAnOwner({ db: trx }, row);
    const u = (await repo.updateOperator(trx, tenantId, id, { status }, now))!;
    await recordChange({ db: trx }, tenantId, {
      actorId,
      operatorId: id,
      change: status === 'active' ? 'reactivated' : status,
      before: { status: row.status },
      after: { status },
    });
    return u;
  });
  if (status !== 'active') await logoutEverywhere(deps, tenantId, id);
  return toOperator(deps, updated);
}

export async function listRoles(deps: Pick<Deps, 'db'>, tenantId: string): Promise<TRole[]> {
  const builtin = Object.entries(BUILTIN_ROLES).map(([id, r]) => ({
    id,
    name: r.name,
    builtin: true,
    permissions: [...r.permissions],
  }));
  const custom = (await repo.listCustomRoles(deps.db, tenantId)).map((r) => ({
    id: r.id,
    name: r.name,
    builtin: false,
    permissions: [...permissionsOf(r.id, r.permissions)],
  }));
  return [...builtin, ...custom];
}

export async function createRole(
  deps: Pick<Deps, 'db'>,
  tenantId: string,
  input: { name: string; permissions: Permission[] },
  actorId: string | null,
): Promise<TRole> {
  return withTransaction(deps.db, async (trx) => {
    const row = await repo.insertCustomRole(trx, { tenant_id: tenantId, id: newId('rol'), ...input });
    if (!row) throw new AppError('CONFLICT', `A role named ${input.name} exists already.`, { field: 'name' });
    await recordChange({ db: trx }, tenantId, { actorId, roleId: row.id, change: 'role_created', after: input });
    return { id: row.id, name: row.name, builtin: false, permissions: input.permissions };
  });
}

export async function updateRole(
  deps: Pick<Deps, 'db' | 'clock'>,
  tenantId: string,
  id: string,
  input: { name?: string; permissions?: Permission[] },
  actorId: string | null,
): Promise<TRole> {
  if (isBuiltinRole(id)) throw new AppError('CONFLICT', 'Built-in roles cannot be changed: create a custom role.', { role: id });
  return withTransaction(deps.db, async (trx) => {
    const before = await repo.findCustomRole(trx, tenantId, id);
    if (!before) throw new AppError('NOT_FOUND', `No role ${id}.`, { role: id });
    const row = (await repo.updateCustomRole(trx, tenantId, id, input, deps.clock.now()))!;
    await recordChange({ db: trx }, tenantId, {
      actorId,
      roleId: id,
      change: 'role_changed',
      before: { name: before.name, permissions: before.permissions },
      after: { name: row.name, permissions: row.permissions },
    });
    return { id: row.id, name: row.name, builtin: false, permissions: [...permissionsOf(row.id, row.permissions)] };
  });
}

export async function deleteRole(deps: Pick<Deps, 'db'>, tenantId: string, id: string, actorId: string | null): Promise<void> {
  await withTransaction(deps.db, async (trx) => {
    const holders = await repo.operatorsWithRole(trx, tenantId, id);
    if (holders > 0)
      throw new AppError('CONFLICT', `${holders} operator(s) have this role: give them another first.`, { holders });
    const row = await repo.deleteCustomRole(trx, tenantId, id);
    if (!row) throw new AppError('NOT_FOUND', `No role ${id}.`, { role: id });
    await recordChange({ db: trx }, tenantId, {
      actorId,
      roleId: id,
      change: 'role_deleted',
      before: { name: row.name, permissions: row.permissions },
    });
  });
}

export async function listAccessChanges(deps: Pick<Deps, 'db'>, tenantId: string | null, page: TPageQuery) {
  const rows = await repo.listAccessChanges(deps.db, tenantId, page.cursor, page.limit + 1);
  return pageOf(rows, page.limit, (r) => ({
    id: r.id,
    at: r.at.toISOString(),
    actorId: r.actor_id,
    operatorId: r.operator_id,
    roleId: r.role_id,
    change: r.change,
    before: r.before ?? null,
    after: r.after ?? null,
  }));
}

/** The quarterly access review: every operator × permission with its last use (null: never used). */
export async function accessReview(deps: D, tenantId: string) {
  const [operators, roles, uses] = await Promise.all([
    repo.listOperators(deps.db, tenantId),
    listRoles(deps, tenantId),
    repo.permissionUses(deps.db, tenantId),
  ]);
  const lastUse = new Map(uses.map((u) => [`${u.operator_id} ${u.permission}`, u.last_used_at.toISOString()]));
  return operators.flatMap((o) => {
    const dto = toOperator(deps, o);
    const permissions = roles.find((r) => r.id === o.role)?.permissions ?? [];
    return permissions.map((permission) => ({
      operatorId: o.id,
      email: dto.email,
      name: dto.name,
      role: o.role,
      status: o.status,
      storeIds: o.store_ids,
      permission,
      lastUsedAt: lastUse.get(`${o.id} ${permission}`) ?? null,
    }));
  });
}

/** Creates an active operator with a password directly: the demo seed and the platform bootstrap only. */
export async function createOperatorDirectly(
  deps: D,
  tenantId: string | null,
  input: { email: string; name: string; role: string; password: string },
): Promise<OperatorRow> {
  const pii = piiFor(deps.masterKey);
  const email = input.email.trim().toLowerCase();
  return repo.insertOperator(deps.db, {
    id: newId('opr'),
    tenant_id: tenantId,
    email_hash: emailHash(deps.masterKey, email),
    email_sealed: pii.seal(email),
    name_sealed: pii.seal(input.name),
    phone_sealed: null,
    role: input.role,
    store_ids: null,
    password_hash: await hashPassword(input.password),
  });
}

/**
 * Enrols a new TOTP secret, confirmed, for an operator made by createOperatorDirectly (the demo
 * seed): the secret is for the person to add to an authenticator app.
 */
export async function enrolTotpDirectly(
  deps: D,
  operator: Pick<OperatorRow, 'id' | 'tenant_id'>,
  label: { account: string; brand: string },
): Promise<{ secret: string; uri: string }> {
  const secret = newTotpSecret();
  await withTransaction(deps.db, async (trx) => {
    await repo.putTotpSecret(trx, operator.tenant_id, operator.id, piiFor(deps.masterKey).seal(secret));
    // Step 1 (1970) confirms it without using up the code of the current step.
    if (!(await repo.takeTotpStep(trx, operator.id, 1, deps.clock.now(), true))) throw new Error('TOTP enrolment not confirmed');
  });
  return { secret, uri: totpUri(secret, label.account, label.brand) };
}

/** The console page where an invitation is accepted. */
export const invitationUrl = (baseUrl: string, token: string) => `${baseUrl}/login#invitation=${token}`;

/** The brand's name, for the authenticator app's label and the console header. */
export const tenantName = async (deps: Pick<Deps, 'db'>, tenantId: string) => (await getTenant(deps, tenantId)).name;

/** Invites a tenant's first owner (the platform does, right after creating the tenant). */
export async function inviteOwner(deps: D, tenantId: string, input: { email: string; name: string }, actorId: string | null) {
  await getTenant(deps, tenantId); // NOT_FOUND for an unknown tenant
  return invite(deps, tenantId, { ...input, role: 'owner' }, actorId);
}

export async function setPolicy(deps: D, tenantId: string, idleMinutes: number, actorId: string | null) {
  await withTransaction(deps.db, async (trx) => {
    const before = await repo.setIdleMinutes(trx, tenantId, idleMinutes);
    await recordChange({ db: trx }, tenantId, {
      actorId,
      change: 'policy_changed',
      before: { idleMinutes: before },
      after: { idleMinutes },
    });
  });
  return { idleMinutes };
}
