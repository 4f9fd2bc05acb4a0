import type { Insertable } from 'kysely';
import type { Db } from '../../platform/db.ts';
import type { OperatorPasskeyTable, OperatorWebauthnChallengeTable } from './operators.tables.ts';

// SQL of operators' passkeys and their WebAuthn challenges. Operator rows are found by their
// platform-wide ids (the session or the credential names the operator); row-level security holds
// tenants apart all the same.

export const listPasskeys = (db: Db, operatorId: string) =>
  db.selectFrom('operator_passkey').selectAll().where('operator_id', '=', operatorId).orderBy('created_at').execute();

export const findPasskeyByCredential = (db: Db, credentialId: string) =>
  db.selectFrom('operator_passkey').selectAll().where('credential_id', '=', credentialId).executeTakeFirst();

/** undefined when the credential is registered already (to this operator or another). */
export const insertPasskey = (db: Db, row: Insertable<OperatorPasskeyTable>) =>
  db
    .insertInto('operator_passkey')
    .values(row)
    .onConflict((oc) => oc.column('credential_id').doNothing())
    .returningAll()
    .executeTakeFirst();

export const deletePasskey = (db: Db, operatorId: string, id: string) =>
  db
    .deleteFrom('operator_passkey')
    .where('operator_id', '=', operatorId)
    .where('id', '=', id)
    .returning(['id', 'name'])
    .executeTakeFirst();

/**
 * Accepts an assertion's signature counter: one conditional statement, so of two assertions with
 * the same counter (a cloned authenticator, or a race) one wins. An authenticator that keeps no
 * counter reports 0 every time and stays at 0.
 */
export async function advanceSignCount(db: Db, id: string, counter: number, now: Date): Promise<boolean> {
  const row = await db
    .updateTable('operator_passkey')
    .set({ sign_count: counter, last_used_at: now })
    .where('id', '=', id)
    .where('sign_count', counter === 0 ? '=' : '<', counter)
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

/** Stores a binding's challenge, replacing its previous one; expired challenges of others go too. */
export async function putChallenge(db: Db, row: OperatorWebauthnChallengeTable, now: Date): Promise<void> {
  await db.deleteFrom('operator_webauthn_challenge').where('expires_at', '<=', now).execute();
  const { binding_hash: _, ...rest } = row;
  await db
    .insertInto('operator_webauthn_challenge')
    .values(row)
    .onConflict((oc) => oc.column('binding_hash').doUpdateSet(rest))
    .execute();
}

/** Takes a binding's challenge: whoever deletes it uses it, once. */
export const takeChallenge = (db: Db, bindingHash: Buffer) =>
  db.deleteFrom('operator_webauthn_challenge').where('binding_hash', '=', bindingHash).returningAll().executeTakeFirst();
