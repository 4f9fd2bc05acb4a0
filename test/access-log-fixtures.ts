// Access-log history for tests: rows at chosen times, written through the owner-only function the
// application's append wraps (moa_access_log_write), so seq, hashes and the head stay right.
import { sql } from 'kysely';
import type { Db } from '../src/platform/db.ts';
import { asOwner } from '../src/platform/db-context.ts';

export type PastAccess = {
  operatorId?: string;
  ip?: string;
  action?: 'view' | 'unmask' | 'change' | 'export' | 'download' | 'delete';
  memberIds?: string[];
  subjectCount?: number;
  query?: Record<string, unknown> | null;
  fields?: string[];
  reason?: string | null;
};

/** One row at `at` (never before the tenant's last row: write history oldest first). */
export async function writeAccessAt(db: Db, tenantId: string, at: Date, a: PastAccess = {}): Promise<number> {
  const memberIds = a.memberIds ?? (a.query ? [] : ['mbr_fixture']);
  const { rows } = await asOwner(() =>
    sql<{ seq: number }>`select seq from moa_access_log_write(${at}, ${tenantId}, ${a.operatorId ?? 'opr_fixture'},
      ${a.ip ?? '192.0.2.1'}::inet, ${a.action ?? 'view'}, ${memberIds}::text[], ${a.subjectCount ?? memberIds.length}::int,
      ${a.query ? JSON.stringify(a.query) : null}::jsonb, ${a.fields ?? ['name']}::text[],
      ${a.reason ?? (['unmask', 'export', 'download'].includes(a.action ?? 'view') ? 'fixture reason' : null)}, null)`.execute(
      db,
    ),
  );
  return rows[0]!.seq;
}

/** Changes the log behind the application's back, as the tables' owner (a superuser in tests) could. */
export const asTableOwner = <T>(fn: () => Promise<T>): Promise<T> => asOwner(fn);
