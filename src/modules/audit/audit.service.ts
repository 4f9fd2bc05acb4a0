import type { Db } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { AppError, type FieldError } from '../../platform/errors.ts';
import { getTenant } from '../tenants/index.ts';
import * as repo from './audit.repository.ts';
import {
  aboveUsual,
  csvField,
  localTime,
  MIN_REASON_LENGTH,
  MIN_RETENTION_MONTHS,
  median,
  monthlyEquivalent,
  monthPeriods,
  needsReason,
  REASON_ACTIONS,
  reasonLongEnough,
} from './audit.rules.ts';
import {
  type TAccessEntry,
  type TAccessLogEntry,
  type TAccessLogQuery,
  type TMonthlyReport,
  type TRecordedAccess,
  type TVerifyResult,
  ZAccessEntry,
} from './audit.schemas.ts';
import type { AccessLogRow } from './audit.tables.ts';

// The personal-data access log: recorded by the code that shows, changes, exports or deletes
// personal data, searched and reviewed by the brand, verified by anyone who can read it.

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const GENESIS = Buffer.alloc(32);
// Embedded PGlite runs one statement at a time: chunks short enough for requests to get between them.
const VERIFY_CHUNK = 10_000;
const PURGE_BATCH = 10_000;
const REPORT_LIST_LIMIT = 500;

export const toAccessLogEntry = (r: AccessLogRow): TAccessLogEntry => ({
  seq: r.seq,
  at: r.at.toISOString(),
  operatorId: r.operator_id,
  ip: r.ip,
  action: r.action,
  memberIds: r.member_ids,
  subjectCount: r.subject_count,
  query: r.query,
  fields: r.fields,
  reason: r.reason,
  requestId: r.request_id,
  prevHash: hex(r.prev_hash),
  hash: hex(r.hash),
});

/**
 * Records one access to personal data: one statement, so it joins the caller's transaction when
 * `db` is one (the row then commits with what it records). The tenant's next seq stays locked until
 * that transaction ends: call it last. An unmask, export or download without a reason of at least
 * 5 characters is ACCESS_REASON_REQUIRED (400) and writes nothing.
 */
export async function recordAccess(db: Db, tenantId: string, entry: TAccessEntry): Promise<TRecordedAccess> {
  const parsed = ZAccessEntry.safeParse(entry);
  if (!parsed.success) {
    const errors: FieldError[] = parsed.error.issues.map((i) => ({
      field: i.path.join('.') || 'entry',
      message: i.message,
      code: i.code,
    }));
    throw new AppError(
      'VALIDATION_FAILED',
      `The access entry is invalid: ${errors[0]!.field}: ${errors[0]!.message}`,
      undefined,
      errors,
    );
  }
  const e = parsed.data;
  if (needsReason(e.action) && !reasonLongEnough(e.reason)) {
    throw new AppError(
      'ACCESS_REASON_REQUIRED',
      `An access of kind ${e.action} needs a reason of at least ${MIN_REASON_LENGTH} characters.`,
      { action: e.action, minLength: MIN_REASON_LENGTH, actionsNeedingReason: REASON_ACTIONS },
      [{ field: 'reason', message: `at least ${MIN_REASON_LENGTH} characters`, code: 'too_small' }],
    );
  }
  if (e.memberIds.length === 0 && e.query === undefined)
    throw new AppError('VALIDATION_FAILED', 'An access names its members, or the query that selected them.', undefined, [
      { field: 'memberIds', message: 'name the members, or give the query', code: 'invalid' },
    ]);
  if (e.action === 'export' && e.query === undefined)
    throw new AppError('VALIDATION_FAILED', 'An export gives its query.', undefined, [
      { field: 'query', message: 'an export gives the query that selected its rows', code: 'invalid' },
    ]);
  const subjectCount = e.subjectCount ?? e.memberIds.length;
  if (subjectCount < e.memberIds.length)
    throw new AppError('VALIDATION_FAILED', 'subjectCount is below the number of member ids.', undefined, [
      { field: 'subjectCount', message: 'at least the number of member ids', code: 'too_small' },
    ]);
  const row = await repo.append(db, tenantId, {
    operatorId: e.operatorId,
    ip: e.ip,
    action: e.action,
    memberIds: e.memberIds,
    subjectCount,
    query: e.query ?? null,
    fields: e.fields,
    reason: e.reason === undefined || e.reason === '' ? null : e.reason,
    requestId: e.requestId ?? null,
  });
  return { seq: row.seq, at: row.at.toISOString(), hash: hex(row.hash) };
}

/** By operator, member, action and period, newest first; the cursor is the last seq of a page. */
export async function searchAccessLog(
  deps: Pick<Deps, 'db'>,
  tenantId: string,
  q: TAccessLogQuery,
): Promise<{ items: TAccessLogEntry[]; nextCursor: string | null }> {
  const rows = await repo.search(
    deps.db,
    tenantId,
    {
      operatorId: q.operatorId,
      memberId: q.memberId,
      action: q.action,
      from: q.from === undefined ? undefined : new Date(q.from),
      to: q.to === undefined ? undefined : new Date(q.to),
      before: q.cursor === undefined ? undefined : Number(q.cursor),
    },
    q.limit + 1,
  );
  const items = rows.slice(0, q.limit).map(toAccessLogEntry);
  return { items, nextCursor: rows.length > q.limit ? String(items.at(-1)!.seq) : null };
}

/**
 * Recomputes the tenant's chain from the retention anchor to the head, in chunks: OK, or the first
 * seq where it breaks (an edited row, a deleted one, rows reordered or cut off the end).
 */
export async function verifyAccessLog(deps: Pick<Deps, 'db'>, tenantId: string): Promise<TVerifyResult> {
  const head = await repo.chain(deps.db, tenantId);
  const anchorSeq = head?.purged_seq ?? 0;
  const anchorHash = head ? Buffer.from(head.purged_hash) : GENESIS;
  const headSeq = head?.last_seq ?? 0;
  const headHash = head ? Buffer.from(head.last_hash) : GENESIS;
  const result: TVerifyResult = {
    tenantId,
    ok: true,
    rows: 0,
    firstSeq: null,
    lastSeq: null,
    head: { seq: headSeq, hash: headHash.toString('hex') },
    anchor:
      head && head.purged_seq > 0
        ? { seq: anchorSeq, hash: anchorHash.toString('hex'), at: head.purged_at?.toISOString() ?? null }
        : null,
    broken: null,
  };
  const broke = (seq: number, problem: NonNullable<TVerifyResult['broken']>['problem'], detail: string) => ({
    ...result,
    ok: false,
    broken: { seq, problem, detail },
  });

  let afterSeq = anchorSeq;
  let afterHash: Uint8Array = anchorHash;
  for (;;) {
    const c = await repo.checkChunk(deps.db, tenantId, afterSeq, afterHash, VERIFY_CHUNK);
    if (c.n === 0) break;
    result.rows += c.n;
    result.firstSeq ??= c.first_seq;
    result.lastSeq = c.last_seq;
    // The first break of any kind, in seq order; at one seq a missing predecessor explains the rest.
    const candidates = [
      c.missing === null ? null : ([c.missing, 'missing', `seq ${c.missing} is missing (a row was deleted)`] as const),
      c.edited === null ? null : ([c.edited, 'edited', `seq ${c.edited} does not match its hash (the row was changed)`] as const),
      c.link === null
        ? null
        : ([c.link, 'link', `seq ${c.link} does not follow the row before it (rows replaced or reordered)`] as const),
    ].filter((x) => x !== null);
    if (candidates.length) {
      const [seq, problem, detail] = candidates.sort((a, b) => a[0] - b[0])[0]!;
      return broke(seq, problem, detail);
    }
    afterSeq = c.last_seq!;
    afterHash = c.last_hash!;
    if (c.n < VERIFY_CHUNK) break;
  }
  if (afterSeq > headSeq) return broke(headSeq + 1, 'extra', `rows after the head (seq ${headSeq}) were added outside the log`);
  if (afterSeq < headSeq)
    return broke(afterSeq + 1, 'missing', `seq ${afterSeq + 1} to ${headSeq} are missing (rows deleted from the end)`);
  if (!Buffer.from(afterHash).equals(headHash))
    return broke(headSeq, 'head', `seq ${headSeq} is not the recorded head (the last row or the head was replaced)`);
  return result;
}

/** Every tenant's log (or one tenant's), one result each. */
export async function verifyAccessLogs(deps: Pick<Deps, 'db'>, tenantId?: string): Promise<TVerifyResult[]> {
  const tenants = tenantId === undefined ? await repo.tenantsWithLog(deps.db) : [tenantId];
  const out: TVerifyResult[] = [];
  for (const t of tenants) out.push(await verifyAccessLog(deps, t));
  return out;
}

/** The configured retention, never below the law's 2 years. */
export const retentionMonths = (deps: Pick<Deps, 'config'>): number =>
  Math.max(MIN_RETENTION_MONTHS, deps.config.accessLogRetentionMonths);

/**
 * The retention job (audit.retention): removes each tenant's rows older than the retention, oldest
 * first, in batches, after verifying them; the anchor keeps the chain verifiable. A tenant whose
 * old rows do not verify keeps them (the evidence) and fails the run once the others are done.
 */
export async function purgeAccessLogs(
  deps: Pick<Deps, 'db' | 'config' | 'log'>,
  options: { tenantId?: string } = {},
): Promise<{ purged: number; tenants: number }> {
  const months = retentionMonths(deps);
  let purged = 0;
  const failed: string[] = [];
  const tenants = await repo.tenantsDueForPurge(deps.db, months, options.tenantId);
  for (const t of tenants) {
    try {
      for (;;) {
        const n = await repo.purge(deps.db, t, months, PURGE_BATCH);
        purged += n;
        if (n < PURGE_BATCH) break;
      }
    } catch (err) {
      deps.log.error({ err, tenantId: t }, 'access log retention: the rows to purge do not verify; nothing of theirs removed');
      failed.push(t);
    }
  }
  if (failed.length) throw new Error(`access log retention: the chain of ${failed.join(', ')} is broken (moa audit verify)`);
  return { purged, tenants: tenants.length };
}

/**
 * The monthly review (Art. 8②): per operator the month's unmasked views and exports against their
 * usual month (the median of the three 30-day periods before it, as monthly equivalents; flagged
 * above 3×), every download, and every access between 22:00 and 07:00 in the tenant's time zone.
 */
export async function monthlyReport(deps: Pick<Deps, 'db'>, tenantId: string, month: string): Promise<TMonthlyReport> {
  const tenant = await getTenant(deps, tenantId);
  const tz = tenant.timeZone;
  const p = monthPeriods(month, tz);
  const counts = await repo.operatorCounts(deps.db, tenantId, p.month, p.baseline, tz);
  const metric = (count: number, windows: number[]) => {
    const baseline = windows.map((n) => monthlyEquivalent(n, p.days));
    const usual = median(baseline);
    return { count, baseline, median: usual, flagged: aboveUsual(count, usual) };
  };
  const operators = counts.map((c) => {
    const unmasked = metric(c.unmasked, c.unmasked_b);
    const exports = metric(c.exports, c.exports_b);
    return {
      operatorId: c.operator_id,
      unmasked,
      exports,
      downloads: c.downloads,
      changes: c.changes,
      deletes: c.deletes,
      subjects: Number(c.subjects),
      nightAccesses: c.night,
      flagged: unmasked.flagged || exports.flagged,
    };
  });
  const listed = async (which: { action: 'download' } | { nightIn: string }) => {
    const { total, rows } = await repo.monthRows(deps.db, tenantId, p.month, which, REPORT_LIST_LIMIT);
    return {
      total,
      items: rows.map((r) => ({ ...toAccessLogEntry(r), localTime: localTime(r.at, tz) })),
      truncated: total > rows.length,
    };
  };
  const head = await repo.chain(deps.db, tenantId);
  return {
    tenantId,
    month,
    timeZone: tz,
    from: p.month.from.toISOString(),
    to: p.month.to.toISOString(),
    operators,
    downloads: await listed({ action: 'download' }),
    nightAccess: await listed({ nightIn: tz }),
    head: { seq: head?.last_seq ?? 0, hash: hex(head?.last_hash ?? GENESIS) },
  };
}

export const CSV_COLUMNS = [
  'seq',
  'at',
  'operator_id',
  'ip',
  'action',
  'member_ids',
  'subject_count',
  'query',
  'fields',
  'reason',
  'request_id',
  'prev_hash',
  'hash',
] as const;

/** The tenant's log (or a period of it) as CSV lines, oldest first, with a UTF-8 BOM for spreadsheets. */
export async function* accessLogCsv(
  deps: Pick<Deps, 'db'>,
  tenantId: string,
  range: { from?: Date | undefined; to?: Date | undefined } = {},
): AsyncGenerator<string> {
  yield `\uFEFF${CSV_COLUMNS.join(',')}\r\n`;
  let after = 0;
  for (;;) {
    const rows = await repo.pageForward(deps.db, tenantId, range, after, 5_000);
    if (rows.length === 0) return;
    yield rows
      .map((r) => {
        const e = toAccessLogEntry(r);
        return `${[
          e.seq,
          e.at,
          e.operatorId,
          e.ip,
          e.action,
          e.memberIds.join(' '),
          e.subjectCount,
          e.query === null ? null : JSON.stringify(e.query),
          e.fields.join(' '),
          e.reason,
          e.requestId,
          e.prevHash,
          e.hash,
        ]
          .map(csvField)
          .join(',')}\r\n`;
      })
      .join('');
    after = rows.at(-1)!.seq;
  }
}
