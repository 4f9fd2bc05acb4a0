import { type RawBuilder, sql } from 'kysely';
import type { Db } from '../../platform/db.ts';
import { NIGHT_FROM_HOUR, NIGHT_TO_HOUR } from './audit.rules.ts';
import type { AccessAction, AccessLogChainRow, AccessLogRow } from './audit.tables.ts';

// SQL only. Rows are appended and purged by the database functions of migrations/0028_access_log.sql
// (the application roles may only read the tables); the chain is checked here, set-based.

export type NewAccess = {
  operatorId: string;
  ip: string;
  action: AccessAction;
  memberIds: string[];
  subjectCount: number;
  query: Record<string, unknown> | null;
  fields: string[];
  reason: string | null;
  requestId: string | null;
};

/** One round trip: seq, hash and the head row are computed and locked by moa_access_log_append. */
export async function append(db: Db, tenantId: string, e: NewAccess): Promise<{ seq: number; at: Date; hash: Uint8Array }> {
  const { rows } = await sql<{ seq: number; at: Date; hash: Uint8Array }>`
    select seq, at, hash from moa_access_log_append(${tenantId}, ${e.operatorId}, ${e.ip}::inet, ${e.action},
      ${e.memberIds}::text[], ${e.subjectCount}::int, ${e.query === null ? null : JSON.stringify(e.query)}::jsonb,
      ${e.fields}::text[], ${e.reason}, ${e.requestId})`.execute(db);
  return rows[0]!;
}

export async function chain(db: Db, tenantId: string): Promise<AccessLogChainRow | undefined> {
  return db.selectFrom('access_log_chain').selectAll().where('tenant_id', '=', tenantId).executeTakeFirst();
}

/** Tenants that have a log (a head row or any row). */
export async function tenantsWithLog(db: Db, tenantId?: string): Promise<string[]> {
  const rows = await db
    .selectFrom('tenant as t')
    .select('t.id')
    .where((eb) =>
      eb.or([
        eb.exists(eb.selectFrom('access_log_chain as c').select('c.tenant_id').whereRef('c.tenant_id', '=', 't.id')),
        eb.exists(eb.selectFrom('access_log as l').select('l.seq').whereRef('l.tenant_id', '=', 't.id')),
      ]),
    )
    .$if(tenantId !== undefined, (q) => q.where('t.id', '=', tenantId!))
    .orderBy('t.id')
    .execute();
  return rows.map((r) => r.id);
}

type Range = { from?: Date | undefined; to?: Date | undefined };

/**
 * The conditions of a period. seq order is time order (the append never goes back in time), so the
 * period is also a seq range, found through the (tenant_id, at, seq) index: every search then walks
 * an index in seq order and stops after one page.
 */
function inPeriod(tenantId: string, { from, to }: Range, seq: string, at: string): RawBuilder<boolean>[] {
  const out: RawBuilder<boolean>[] = [];
  if (from)
    out.push(
      sql<boolean>`${sql.ref(at)} >= ${from}`,
      sql<boolean>`${sql.ref(seq)} >= coalesce((select b.seq from access_log b where b.tenant_id = ${tenantId}
        and b.at >= ${from} order by b.at, b.seq limit 1), 9223372036854775807)`,
    );
  if (to)
    out.push(
      sql<boolean>`${sql.ref(at)} < ${to}`,
      sql<boolean>`${sql.ref(seq)} <= coalesce((select b.seq from access_log b where b.tenant_id = ${tenantId}
        and b.at < ${to} order by b.at desc, b.seq desc limit 1), 0)`,
    );
  return out;
}

export type SearchFilter = Range & {
  operatorId?: string | undefined;
  memberId?: string | undefined;
  action?: AccessAction | undefined;
  /** Rows before this seq (the keyset cursor). */
  before?: number | undefined;
};

/** Newest first, keyset on seq: down the member index when a member is named, else down the log's. */
export async function search(db: Db, tenantId: string, f: SearchFilter, limit: number): Promise<AccessLogRow[]> {
  if (f.memberId !== undefined) {
    let q = db
      .selectFrom('access_log_member as m')
      .innerJoin('access_log as l', (j) => j.onRef('l.tenant_id', '=', 'm.tenant_id').onRef('l.seq', '=', 'm.seq'))
      .selectAll('l')
      .where('m.tenant_id', '=', tenantId)
      .where('m.member_id', '=', f.memberId);
    if (f.operatorId !== undefined) q = q.where('l.operator_id', '=', f.operatorId);
    if (f.action !== undefined) q = q.where('l.action', '=', f.action);
    if (f.before !== undefined) q = q.where('m.seq', '<', f.before);
    for (const c of inPeriod(tenantId, f, 'm.seq', 'l.at')) q = q.where(c);
    return q.orderBy('m.seq', 'desc').limit(limit).execute();
  }
  let q = db.selectFrom('access_log').selectAll().where('tenant_id', '=', tenantId);
  if (f.operatorId !== undefined) q = q.where('operator_id', '=', f.operatorId);
  if (f.action !== undefined) q = q.where('action', '=', f.action);
  if (f.before !== undefined) q = q.where('seq', '<', f.before);
  for (const c of inPeriod(tenantId, f, 'seq', 'at')) q = q.where(c);
  return q.orderBy('seq', 'desc').limit(limit).execute();
}

/** Oldest first from a seq on (the CSV export). */
export async function pageForward(db: Db, tenantId: string, range: Range, after: number, limit: number): Promise<AccessLogRow[]> {
  let q = db.selectFrom('access_log').selectAll().where('tenant_id', '=', tenantId).where('seq', '>', after);
  for (const c of inPeriod(tenantId, range, 'seq', 'at')) q = q.where(c);
  return q.orderBy('seq').limit(limit).execute();
}

export type ChunkCheck = {
  n: number;
  first_seq: number | null;
  last_seq: number | null;
  last_hash: Uint8Array | null;
  missing: number | null;
  edited: number | null;
  link: number | null;
};

/**
 * Checks up to `limit` rows after `afterSeq`, set-based: each row's hash against its content, its
 * prev_hash against the row before (the previous chunk's last, or the anchor), its seq against the
 * one before plus 1. Gives the first seq of each kind of break.
 */
export async function checkChunk(
  db: Db,
  tenantId: string,
  afterSeq: number,
  afterHash: Uint8Array,
  limit: number,
): Promise<ChunkCheck> {
  const { rows } = await sql<ChunkCheck>`
    with r as (
      select l.seq, l.hash, l.prev_hash,
        moa_access_log_hash(l.prev_hash, moa_access_log_canonical(l.tenant_id, l.seq, l.at, l.operator_id, l.ip, l.action,
          l.member_ids, l.subject_count, l.query, l.fields, l.reason, l.request_id)) as computed,
        lag(l.seq, 1, ${afterSeq}::bigint) over (order by l.seq) as before_seq,
        lag(l.hash, 1, ${Buffer.from(afterHash)}::bytea) over (order by l.seq) as before_hash
      from access_log l
      where l.tenant_id = ${tenantId} and l.seq > ${afterSeq}
      order by l.seq
      limit ${limit}
    )
    select count(*)::int as n,
      min(seq) as first_seq,
      max(seq) as last_seq,
      (select r2.hash from r r2 order by r2.seq desc limit 1) as last_hash,
      min(before_seq + 1) filter (where seq <> before_seq + 1) as missing,
      min(seq) filter (where computed <> hash) as edited,
      min(seq) filter (where prev_hash <> before_hash) as link
    from r`.execute(db);
  return rows[0]!;
}

/** The retention job's purge of one tenant (moa_system only): rows removed. */
export async function purge(db: Db, tenantId: string, keepMonths: number, limit: number): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    select moa_access_log_purge(${tenantId}, make_interval(months => ${keepMonths}::int), ${limit}::int) as n`.execute(db);
  return Number(rows[0]!.n);
}

/** Tenants whose oldest kept row is older than the retention (never less than 2 years). */
export async function tenantsDueForPurge(db: Db, keepMonths: number, tenantId?: string): Promise<string[]> {
  const { rows } = await sql<{ tenant_id: string }>`
    select c.tenant_id from access_log_chain c
    where ${tenantId === undefined ? sql`true` : sql`c.tenant_id = ${tenantId}`}
      and c.purged_seq < c.last_seq and exists (
      select from access_log l where l.tenant_id = c.tenant_id and l.seq = c.purged_seq + 1
        and l.at < now() - greatest(make_interval(months => ${keepMonths}::int), interval '2 years'))
    order by c.tenant_id`.execute(db);
  return rows.map((r) => r.tenant_id);
}

export type OperatorCounts = {
  operator_id: string;
  unmasked: number;
  exports: number;
  downloads: number;
  changes: number;
  deletes: number;
  subjects: number;
  night: number;
  unmasked_b: number[];
  exports_b: number[];
};

/** Between 22:00 and 07:00 in the time zone (audit.rules.ts NIGHT_FROM_HOUR, NIGHT_TO_HOUR). */
const nightHour = (tz: string, at: string) =>
  sql<boolean>`(extract(hour from ${sql.ref(at)} at time zone ${tz}) >= ${NIGHT_FROM_HOUR}
    or extract(hour from ${sql.ref(at)} at time zone ${tz}) < ${NIGHT_TO_HOUR})`;

/** Per operator active in the month: its counts, and those of each baseline period. */
export async function operatorCounts(
  db: Db,
  tenantId: string,
  month: { from: Date; to: Date },
  baseline: { from: Date; to: Date }[],
  timeZone: string,
): Promise<OperatorCounts[]> {
  const inMonth = sql`l.at >= ${month.from} and l.at < ${month.to}`;
  const per = (b: { from: Date; to: Date }, actions: string[]) =>
    sql`count(*) filter (where l.at >= ${b.from} and l.at < ${b.to} and l.action in (${sql.join(actions)}))::int`;
  const { rows } = await sql<OperatorCounts>`
    select l.operator_id,
      count(*) filter (where ${inMonth} and l.action in ('view', 'unmask'))::int as unmasked,
      count(*) filter (where ${inMonth} and l.action = 'export')::int as exports,
      count(*) filter (where ${inMonth} and l.action = 'download')::int as downloads,
      count(*) filter (where ${inMonth} and l.action = 'change')::int as changes,
      count(*) filter (where ${inMonth} and l.action = 'delete')::int as deletes,
      coalesce(sum(l.subject_count) filter (where ${inMonth}), 0)::bigint as subjects,
      count(*) filter (where ${inMonth} and ${nightHour(timeZone, 'l.at')})::int as night,
      array[${sql.join(baseline.map((b) => per(b, ['view', 'unmask'])))}] as unmasked_b,
      array[${sql.join(baseline.map((b) => per(b, ['export'])))}] as exports_b
    from access_log l
    where l.tenant_id = ${tenantId} and l.at >= ${baseline[0]!.from} and l.at < ${month.to}
    group by l.operator_id
    having count(*) filter (where ${inMonth}) > 0
    order by l.operator_id`.execute(db);
  return rows;
}

/** The month's downloads, or its night accesses: the first `limit` rows and how many there are. */
export async function monthRows(
  db: Db,
  tenantId: string,
  month: { from: Date; to: Date },
  which: { action: 'download' } | { nightIn: string },
  limit: number,
): Promise<{ total: number; rows: AccessLogRow[] }> {
  let base = db.selectFrom('access_log').where('tenant_id', '=', tenantId);
  for (const c of inPeriod(tenantId, month, 'seq', 'at')) base = base.where(c);
  const filtered = 'action' in which ? base.where('action', '=', which.action) : base.where(nightHour(which.nightIn, 'at'));
  const [rows, count] = await Promise.all([
    filtered.selectAll().orderBy('seq').limit(limit).execute(),
    filtered.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
  ]);
  return { total: Number(count.n), rows };
}
