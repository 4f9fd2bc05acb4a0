import { sql } from 'kysely';
import { readCsv } from '../../platform/csv.ts';
import { type Tx, withTransaction } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { AppError, isAppError } from '../../platform/errors.ts';
import { enqueueEvent } from '../../platform/events.ts';
import { newId } from '../../platform/ids.ts';
import { getTenant } from '../tenants/index.ts';
import { validityOf } from './coupons.rules.ts';
import { ZCouponRules } from './coupons.schemas.ts';

// Bulk issue to a list of members (1,000,000 is a benchmark figure). The list is streamed and
// handled 1,000 members at a time, set-based: one statement finds the active members, one upsert
// raises each one's counter under the per-member limit, one update takes the chunk's share of the
// first-come total under the definition's row lock, one insert writes the coupons. Each chunk
// commits with the checkpoint, so a run interrupted and started again with the same id resumes
// after the last committed chunk and issues nobody twice.

type BulkDeps = Pick<Deps, 'db' | 'clock'>;
const CHUNK = 1_000;

export type BulkSummary = {
  id: string;
  definitionId: string;
  status: 'running' | 'done';
  rowsDone: number;
  issued: number;
  rejected: Record<string, number>;
  startedAt: string;
  finishedAt: string | null;
};

async function summary(db: BulkDeps['db'], tenantId: string, id: string): Promise<BulkSummary> {
  const r = await db
    .selectFrom('coupon_bulk_issue')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst();
  if (!r) throw new AppError('NOT_FOUND', `No bulk issue ${id}.`);
  return {
    id: r.id,
    definitionId: r.definition_id,
    status: r.status,
    rowsDone: Number(r.rows_done),
    issued: Number(r.issued),
    rejected: r.rejected as Record<string, number>,
    startedAt: r.started_at.toISOString(),
    finishedAt: r.finished_at?.toISOString() ?? null,
  };
}

export const getBulkIssue = (deps: Pick<Deps, 'db'>, tenantId: string, id: string) => summary(deps.db, tenantId, id);

/** One chunk, all or nothing with its checkpoint: returns how many were issued and why the rest were not. */
async function issueChunk(
  trx: Tx,
  tenantId: string,
  bulkId: string,
  definitionId: string,
  memberIds: string[],
  validity: { from: Date; until: Date },
) {
  const rejected: Record<string, number> = {};
  const reject = (code: string, n: number) => {
    if (n > 0) rejected[code] = (rejected[code] ?? 0) + n;
  };
  const unique = [...new Set(memberIds)];
  reject('DUPLICATE_IN_LIST', memberIds.length - unique.length);
  const active = new Set(
    (
      await trx
        .selectFrom('member')
        .select('id')
        .where('tenant_id', '=', tenantId)
        .where('id', 'in', unique)
        .where('status', '=', 'active')
        .execute()
    ).map((r) => r.id),
  );
  const candidates = unique.filter((id) => active.has(id));
  reject('MEMBER_NOT_ACTIVE', unique.length - candidates.length);
  const def = await trx
    .selectFrom('coupon_definition')
    .select(['issued', 'total_quantity', 'per_member_limit'])
    .where('tenant_id', '=', tenantId)
    .where('id', '=', definitionId)
    .forUpdate()
    .executeTakeFirstOrThrow();
  const room = def.total_quantity === null ? Infinity : def.total_quantity - def.issued;
  // Under the per-member limit, in list order, until the first-come total is reached.
  const granted: string[] = [];
  for (let at = 0; at < candidates.length && granted.length < room; ) {
    const take = candidates.slice(at, at + Math.min(candidates.length - at, room - granted.length));
    at += take.length;
    const passed = await sql<{ member_id: string }>`
      insert into coupon_member (tenant_id, definition_id, member_id, issued)
      select ${tenantId}, ${definitionId}, m, 1 from unnest(${take}::text[]) as m
      on conflict (tenant_id, definition_id, member_id) do update set issued = coupon_member.issued + 1
      where coupon_member.issued < ${def.per_member_limit}
      returning member_id`.execute(trx);
    const ok = new Set(passed.rows.map((r) => r.member_id));
    reject('COUPON_MEMBER_LIMIT', take.length - ok.size);
    granted.push(...take.filter((id) => ok.has(id)));
  }
  reject('COUPON_EXHAUSTED', candidates.length - granted.length - (rejected.COUPON_MEMBER_LIMIT ?? 0));
  if (granted.length) {
    await trx
      .updateTable('coupon_definition')
      .set((eb) => ({ issued: eb('issued', '+', granted.length) }))
      .where('tenant_id', '=', tenantId)
      .where('id', '=', definitionId)
      .execute();
    await trx
      .insertInto('coupon')
      .values(
        granted.map((memberId) => ({
          tenant_id: tenantId,
          id: newId('cpn'),
          definition_id: definitionId,
          member_id: memberId,
          valid_from: validity.from,
          valid_until: validity.until,
          source: 'bulk' as const,
          source_ref: `bulk.${bulkId}.${memberId}`,
          use_id: null,
          used_at: null,
        })),
      )
      .execute();
  }
  return { issued: granted.length, rejected };
}

/**
 * Issues a definition's coupon to every member of a CSV list (a `member_id` column). Refusals are
 * counted by code (MEMBER_NOT_ACTIVE, COUPON_MEMBER_LIMIT, COUPON_EXHAUSTED, DUPLICATE_IN_LIST).
 * Run again with the same id after an interruption, it resumes; after it finished, it returns the
 * summary.
 */
export async function bulkIssue(
  deps: BulkDeps,
  tenantId: string,
  definitionId: string,
  bulkId: string,
  source: AsyncIterable<string | Buffer> | Iterable<string | Buffer>,
): Promise<BulkSummary> {
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(bulkId))
    throw new AppError('VALIDATION_FAILED', 'The bulk issue id must be 1-64 letters, digits, _ . -');
  const def = await deps.db
    .selectFrom('coupon_definition')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', definitionId)
    .executeTakeFirst();
  if (!def) throw new AppError('NOT_FOUND', `No coupon definition ${definitionId}.`);
  if (def.status !== 'active') throw new AppError('COUPON_NOT_ISSUING', `${def.name} is ${def.status}.`, { status: def.status });
  // The row is created with the first chunk (or the finish): a list refused before then writes nothing.
  const state = await summary(deps.db, tenantId, bulkId).catch((err) => {
    if (isAppError(err) && err.code === 'NOT_FOUND') return undefined;
    throw err;
  });
  if (state && state.definitionId !== definitionId)
    throw new AppError('CONFLICT', `Bulk issue ${bulkId} is for ${state.definitionId}.`);
  if (state?.status === 'done') return state;
  const rowsDone = state?.rowsDone ?? 0;
  const create = (trx: Tx) =>
    trx
      .insertInto('coupon_bulk_issue')
      .values({ tenant_id: tenantId, id: bulkId, definition_id: definitionId, finished_at: null })
      .onConflict((oc) => oc.columns(['tenant_id', 'id']).doNothing())
      .execute();
  const validity = validityOf(ZCouponRules.parse(def.rules), deps.clock.now(), (await getTenant(deps, tenantId)).timeZone);

  let column: number | undefined;
  let row = 0;
  let chunk: string[] = [];
  const flush = async (lastRow: number) => {
    const ids = chunk;
    chunk = [];
    await withTransaction(deps.db, async (trx) => {
      if (!state) await create(trx);
      const b = await trx
        .selectFrom('coupon_bulk_issue')
        .select(['definition_id', 'rows_done', 'rejected'])
        .where('tenant_id', '=', tenantId)
        .where('id', '=', bulkId)
        .forUpdate()
        .executeTakeFirstOrThrow();
      if (b.definition_id !== definitionId || Number(b.rows_done) !== lastRow - ids.length)
        throw new AppError('CONFLICT', 'This bulk issue is being run by another process.', { bulkId });
      const done = await issueChunk(trx, tenantId, bulkId, definitionId, ids, validity);
      const rejected = { ...(b.rejected as Record<string, number>) };
      for (const [code, n] of Object.entries(done.rejected)) rejected[code] = (rejected[code] ?? 0) + n;
      await trx
        .updateTable('coupon_bulk_issue')
        .set((eb) => ({ rows_done: lastRow, issued: eb('issued', '+', done.issued), rejected: JSON.stringify(rejected) }))
        .where('tenant_id', '=', tenantId)
        .where('id', '=', bulkId)
        .execute();
    });
  };
  for await (const fields of readCsv(source)) {
    if (column === undefined) {
      column = fields.findIndex((f) => f.trim().toLowerCase() === 'member_id');
      if (column < 0) throw new AppError('VALIDATION_FAILED', 'The CSV header needs a member_id column.');
      continue;
    }
    row++;
    if (row <= rowsDone) continue;
    chunk.push((fields[column] ?? '').trim());
    if (chunk.length >= CHUNK) await flush(row);
  }
  if (column === undefined) throw new AppError('VALIDATION_FAILED', 'The CSV is empty: a header row is needed.');
  if (chunk.length) await flush(row);

  await withTransaction(deps.db, async (trx) => {
    if (!state) await create(trx);
    const finished = await trx
      .updateTable('coupon_bulk_issue')
      .set({ status: 'done', finished_at: deps.clock.now() })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', bulkId)
      .where('status', '=', 'running')
      .returning(['issued'])
      .executeTakeFirst();
    if (finished)
      await enqueueEvent(trx, tenantId, {
        topic: 'coupons.bulk_issued',
        payload: { bulkId, definitionId, issued: Number(finished.issued) },
      });
  });
  return summary(deps.db, tenantId, bulkId);
}
