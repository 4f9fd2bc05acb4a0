import { type Insertable, type Selectable, sql } from 'kysely';
import { addDays, isIsoDate, localDate, zonedMidnight } from '../../platform/clock.ts';
import { readCsv } from '../../platform/csv.ts';
import { type Db, withTransaction } from '../../platform/db.ts';
import { AppError, isAppError } from '../../platform/errors.ts';
import { enqueueEvent } from '../../platform/events.ts';
import { newId } from '../../platform/ids.ts';
import { isKoreanMobile, normalizePhone, piiFor } from '../../platform/pii.ts';
import { ageOn } from '../identity/index.ts';
import { getTenant } from '../tenants/index.ts';
import * as repo from './members.repository.ts';
import { LOGIN_ID, normalizeLoginId } from './members.rules.ts';
import { consentRowsOf, type MembersDeps, type Profile, profileIndexes } from './members.service.ts';
import type { Consents, MemberImportTable, MemberTable } from './members.tables.ts';

// Member import from CSV (a brand moving its members to Moa). The file is streamed; rows are
// committed in chunks, each together with the import's checkpoint, so an interrupted import run
// again with the same id resumes after the last committed chunk and never imports a row twice.
// Every rejected row is kept with its row number, code and message.

export const IMPORT_COLUMNS = [
  'login_id',
  'name',
  'phone',
  'birth_date',
  'email',
  'grade',
  'consent_terms',
  'consent_privacy',
  'consent_marketing_sms',
  'consent_marketing_email',
  'consent_marketing_push',
  'joined_at',
  'points',
] as const;
const REQUIRED = ['login_id', 'name', 'phone'] as const;
const CHUNK = 1_000;

export type ImportSummary = {
  id: string;
  status: 'running' | 'done';
  fileName: string | null;
  rowsDone: number;
  imported: number;
  rejected: number;
  startedAt: string;
  finishedAt: string | null;
};

const toSummary = (r: Selectable<MemberImportTable>): ImportSummary => ({
  id: r.id,
  status: r.status,
  fileName: r.file_name,
  rowsDone: Number(r.rows_done),
  imported: Number(r.imported),
  rejected: Number(r.rejected),
  startedAt: r.started_at.toISOString(),
  finishedAt: r.finished_at?.toISOString() ?? null,
});

type Reject = { row: number; code: string; message: string };
type OpeningLot = { amount: number; expiresAt: string | null };
type Candidate = { row: number; member: Insertable<MemberTable>; lots: OpeningLot[] };
const MAX_LOTS = 50;

/**
 * The `points` column: opening point lots, `amount@YYYY-MM-DD` separated by `;` (e.g.
 * `1000@2027-03-31;500@2027-06-30`). A lot is usable through its date (it expires when the next day
 * begins in the tenant's time zone); a lot without a date expires by the point policy.
 */
function openingLots(raw: string, now: Date, timeZone: string): OpeningLot[] | string {
  const lots: OpeningLot[] = [];
  for (const part of raw
    .split(';')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const m = /^(\d{1,10})(?:@(\d{4}-\d{2}-\d{2}))?$/.exec(part);
    if (!m || Number(m[1]) <= 0 || (m[2] && !isIsoDate(m[2]))) return `points: "${part}" is not amount@YYYY-MM-DD`;
    const expiresAt = m[2] ? zonedMidnight(addDays(m[2], 1), timeZone) : null;
    if (expiresAt && expiresAt <= now) return `points: the lot of ${m[1]} expired on ${m[2]}`;
    lots.push({ amount: Number(m[1]), expiresAt: expiresAt?.toISOString() ?? null });
  }
  return lots.length > MAX_LOTS ? `points: at most ${MAX_LOTS} lots` : lots;
}

const yes = (v: string | undefined) => /^(y|yes|true|1)$/i.test((v ?? '').trim());

/** One CSV row → a member row, or why not (checked here, before the database). */
function candidate(
  deps: MembersDeps,
  tenantId: string,
  context: { minAge: number; now: Date; today: string; timeZone: string },
  row: number,
  get: (c: string) => string | undefined,
): Candidate | Reject {
  const { minAge, now, today } = context;
  const reject = (code: string, message: string): Reject => ({ row, code, message });
  const loginId = normalizeLoginId(get('login_id') ?? '');
  if (!LOGIN_ID.test(loginId))
    return reject('INVALID_LOGIN_ID', 'login_id: 4-20 characters, a letter first, then letters, digits, _ . -');
  const name = (get('name') ?? '').trim();
  if (name.length < 1 || name.length > 50) return reject('INVALID_NAME', 'name: 1-50 characters');
  const phone = normalizePhone(get('phone') ?? '');
  if (!isKoreanMobile(phone)) return reject('INVALID_PHONE', 'phone: a Korean mobile number');
  const birthDate = (get('birth_date') ?? '').trim() || null;
  if (birthDate && !isIsoDate(birthDate)) return reject('INVALID_DATE', 'birth_date: YYYY-MM-DD');
  if (birthDate && ageOn(birthDate, today) < minAge) return reject('UNDER_AGE', `younger than ${minAge}`);
  const email = (get('email') ?? '').trim() || null;
  if (email && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) return reject('INVALID_EMAIL', 'email: not an e-mail address');
  if (!yes(get('consent_terms')) || !yes(get('consent_privacy')))
    return reject('CONSENT_REQUIRED', 'consent_terms and consent_privacy must be Y');
  const joinedRaw = (get('joined_at') ?? '').trim();
  const joinedAt = joinedRaw ? new Date(joinedRaw) : now;
  if (Number.isNaN(joinedAt.getTime()) || joinedAt > now) return reject('INVALID_DATE', 'joined_at: a past date or date-time');
  const grade = (get('grade') ?? '').trim() || null;
  if (grade && grade.length > 30) return reject('INVALID_GRADE', 'grade: at most 30 characters');
  const lots = openingLots(get('points') ?? '', now, context.timeZone);
  if (typeof lots === 'string') return reject('INVALID_POINTS', lots);

  const at = joinedAt.toISOString();
  const consents: Consents = {
    terms: at,
    privacy: at,
    age14: at,
    marketing: {
      sms: yes(get('consent_marketing_sms')) ? at : null,
      email: yes(get('consent_marketing_email')) ? at : null,
      push: yes(get('consent_marketing_push')) ? at : null,
    },
  };
  const profile: Profile = { name, phone, email, birthDate, gender: null, nationality: null, carrier: null };
  return {
    row,
    lots,
    member: {
      tenant_id: tenantId,
      id: newId('mbr'),
      login_id: loginId,
      // No password comes over: the member sets one through a verified password reset.
      password_hash: null,
      profile_sealed: piiFor(deps.masterKey).seal(profile),
      ci_hash: null,
      ...profileIndexes(deps, tenantId, profile),
      verification_id: null,
      grade,
      consents,
      joined_at: joinedAt,
      last_active_at: now,
      dormancy_noticed_at: null,
      dormant_at: null,
      withdrawn_at: null,
      purged_at: null,
      locked_until: null,
    },
  };
}

/** Commits one chunk: the members, the rejects (the database's too) and the checkpoint, or none of it. */
async function commitChunk(
  db: Db,
  tenantId: string,
  importId: string,
  expectRowsDone: number,
  lastRow: number,
  ok: Candidate[],
  rejects: Reject[],
  create?: (trx: Db) => Promise<unknown>,
) {
  await withTransaction(db, async (trx) => {
    await create?.(trx);
    const imp = await trx
      .selectFrom('member_import')
      .select('rows_done')
      .where('tenant_id', '=', tenantId)
      .where('id', '=', importId)
      .forUpdate()
      .executeTakeFirstOrThrow();
    if (Number(imp.rows_done) !== expectRowsDone)
      throw new AppError('CONFLICT', 'This import is being run by another process.', { importId });
    let inserted = new Set<string>();
    if (ok.length) {
      const rows = await trx
        .insertInto('member')
        .values(ok.map((c) => c.member))
        .onConflict((oc) => oc.doNothing())
        .returning('id')
        .execute();
      inserted = new Set(rows.map((r) => r.id));
      // The consents the brand collected come over as the first rows of each member's history.
      await repo.appendConsentsOfMany(
        trx,
        tenantId,
        ok
          .filter((c) => inserted.has(c.member.id as string))
          .flatMap((c) =>
            consentRowsOf(c.member.consents as Consents, c.member.joined_at as Date, 'import').map((r) => ({
              ...r,
              member_id: c.member.id as string,
            })),
          ),
      );
    }
    const lost = ok.filter((c) => !inserted.has(c.member.id as string));
    if (lost.length) {
      // Which rule each row broke: its login ID is taken, or the same name + phone is a member already.
      const taken = new Set(
        (
          await trx
            .selectFrom('member')
            .select('login_id')
            .where('tenant_id', '=', tenantId)
            .where(
              'login_id',
              'in',
              lost.map((c) => c.member.login_id as string),
            )
            .execute()
        ).map((r) => r.login_id),
      );
      for (const c of lost) {
        rejects.push(
          taken.has(c.member.login_id as string)
            ? { row: c.row, code: 'LOGIN_ID_TAKEN', message: `login_id ${c.member.login_id} is taken` }
            : { row: c.row, code: 'ALREADY_MEMBER', message: 'a member with this name and phone exists' },
        );
      }
    }
    // Opening point lots become the points module's business once the member exists.
    for (const c of ok) {
      if (!c.lots.length || !inserted.has(c.member.id as string)) continue;
      await enqueueEvent(trx, tenantId, {
        topic: 'member.points_imported',
        payload: { memberId: c.member.id as string, importId, row: c.row, lots: c.lots },
      });
    }
    if (rejects.length) {
      await trx
        .insertInto('member_import_reject')
        .values(
          rejects.map((r) => ({ tenant_id: tenantId, import_id: importId, row_no: r.row, code: r.code, message: r.message })),
        )
        .execute();
    }
    await trx
      .updateTable('member_import')
      .set((eb) => ({
        rows_done: lastRow,
        imported: eb('imported', '+', inserted.size),
        rejected: eb('rejected', '+', rejects.length),
        updated_at: sql<Date>`now()`,
      }))
      .where('tenant_id', '=', tenantId)
      .where('id', '=', importId)
      .execute();
  });
}

/**
 * Imports members from a CSV stream (header row first; columns in IMPORT_COLUMNS, any order;
 * login_id, name and phone required; `points` carries opening point lots). Run again with the same id after an interruption, it skips
 * what was committed; run after it finished, it returns the summary.
 */
export async function importMembers(
  deps: MembersDeps,
  tenantId: string,
  importId: string,
  source: AsyncIterable<string | Buffer> | Iterable<string | Buffer>,
  options: { fileName?: string } = {},
): Promise<ImportSummary> {
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(importId))
    throw new AppError('VALIDATION_FAILED', 'The import id must be 1-64 letters, digits, _ . -');
  // The row is created with the first chunk (or the finish): a file refused before then (no header,
  // a header without the required columns, bad CSV) writes nothing.
  const state = await getImport(deps, tenantId, importId).catch((err) => {
    if (isAppError(err) && err.code === 'NOT_FOUND') return undefined;
    throw err;
  });
  if (state?.status === 'done') return state;
  const create = state
    ? undefined
    : (trx: Db) =>
        trx
          .insertInto('member_import')
          .values({ tenant_id: tenantId, id: importId, file_name: options.fileName ?? null, finished_at: null })
          .onConflict((oc) => oc.columns(['tenant_id', 'id']).doNothing())
          .execute();

  const policy = await deps.db.selectFrom('member_policy').select('min_age').where('tenant_id', '=', tenantId).executeTakeFirst();
  const minAge = policy?.min_age ?? 14;
  const now = deps.clock.now();
  // Ages are counted in Korea; point lots expire in the tenant's time zone.
  const context = { minAge, now, today: localDate(now, 'Asia/Seoul'), timeZone: (await getTenant(deps, tenantId)).timeZone };
  let rowsDone = state?.rowsDone ?? 0;
  let index: Map<string, number> | undefined;
  let row = 0;
  let ok: Candidate[] = [];
  let rejects: Reject[] = [];
  // One chunk commits while the next is read and sealed; commits stay in order.
  let committing: Promise<void> = Promise.resolve();
  const flush = async () => {
    const [chunkOk, chunkRejects, from, to] = [ok, rejects, rowsDone, row];
    ok = [];
    rejects = [];
    rowsDone = row;
    await committing;
    committing = commitChunk(deps.db, tenantId, importId, from, to, chunkOk, chunkRejects, create);
    committing.catch(() => {}); // surfaced by the next await
  };

  try {
    for await (const fields of readCsv(source)) {
      if (!index) {
        index = new Map(fields.map((f, i) => [f.trim().toLowerCase(), i]));
        const missing = REQUIRED.filter((c) => !index!.has(c));
        if (missing.length)
          throw new AppError('VALIDATION_FAILED', `The CSV header lacks ${missing.join(', ')}.`, { expected: IMPORT_COLUMNS });
        continue;
      }
      row++;
      if (row <= rowsDone) continue;
      const c = candidate(deps, tenantId, context, row, (col) => {
        const i = index!.get(col);
        return i === undefined ? undefined : fields[i];
      });
      if ('member' in c) ok.push(c);
      else rejects.push(c);
      if (ok.length + rejects.length >= CHUNK) await flush();
    }
    if (!index) throw new AppError('VALIDATION_FAILED', 'The CSV is empty: a header row is needed.');
    if (ok.length + rejects.length > 0) await flush();
    await committing;
  } catch (err) {
    // The chunk in flight still lands (with its checkpoint) or not at all; either way a re-run resumes right.
    await committing.catch(() => {});
    throw err;
  }

  const done = await withTransaction(deps.db, async (trx) => {
    await create?.(trx);
    const finished = await trx
      .updateTable('member_import')
      .set({ status: 'done', finished_at: sql<Date>`now()`, updated_at: sql<Date>`now()` })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', importId)
      .where('status', '=', 'running')
      .returningAll()
      .executeTakeFirst();
    if (finished) {
      await enqueueEvent(trx, tenantId, {
        topic: 'members.imported',
        payload: { importId, imported: Number(finished.imported), rejected: Number(finished.rejected) },
      });
    }
    return finished;
  });
  return done ? toSummary(done) : getImport(deps, tenantId, importId);
}

export async function getImport(deps: Pick<MembersDeps, 'db'>, tenantId: string, importId: string): Promise<ImportSummary> {
  const row = await deps.db
    .selectFrom('member_import')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', importId)
    .executeTakeFirst();
  if (!row) throw new AppError('NOT_FOUND', `No import ${importId}.`);
  return toSummary(row);
}

/** The rejected rows, in row order, by cursor (the last row number seen). */
export async function importRejects(
  deps: Pick<MembersDeps, 'db'>,
  tenantId: string,
  importId: string,
  page: { limit: number; after?: number | undefined },
) {
  await getImport(deps, tenantId, importId);
  const rows = await deps.db
    .selectFrom('member_import_reject')
    .select(['row_no', 'code', 'message'])
    .where('tenant_id', '=', tenantId)
    .where('import_id', '=', importId)
    .where('row_no', '>', page.after ?? 0)
    .orderBy('row_no')
    .limit(page.limit + 1)
    .execute();
  const items = rows.slice(0, page.limit).map((r) => ({ row: Number(r.row_no), code: r.code, message: r.message }));
  return { items, nextCursor: rows.length > page.limit ? String(items.at(-1)!.row) : null };
}
