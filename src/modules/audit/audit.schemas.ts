import { z } from 'zod';
import { ZInstant, ZInstantWithOffset } from '../../platform/http-schemas.ts';
import { ACCESS_ACTIONS } from './audit.tables.ts';

/** The personal fields an access names (extend the list when a module shows a new one). */
export const PERSONAL_FIELDS = [
  'name',
  'phone',
  'email',
  'birthDate',
  'gender',
  'nationality',
  'carrier',
  'ci',
  'di',
  'address',
  'loginId',
  'cardNumber',
  'bankAccount',
] as const;

export const ZAccessAction = z.enum(ACCESS_ACTIONS).meta({
  id: 'AccessAction',
  description:
    'view: a screen showing unmasked personal data; unmask: a masked value revealed on request; change: personal data edited; export: a file of personal data made; download: such a file fetched; delete: personal data deleted.',
  example: 'unmask',
});
export const ZOperatorId = z
  .string()
  .regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'must be an operator id (1-64 letters, digits, _ . : -)')
  .meta({
    description: 'The person who accessed the data (an operator of the console).',
    example: 'opr_01JD3Z6Q8K4N2M7P5R9T1V3W5X',
  });
const ZMemberId = z.string().min(1).max(64);

/** What recordAccess takes (the console's operators and members code). */
export const ZAccessEntry = z.object({
  operatorId: ZOperatorId,
  ip: z.union([z.ipv4(), z.ipv6()]),
  action: ZAccessAction,
  /** The members whose data was shown or changed (a list view: each one shown unmasked). */
  memberIds: z.array(ZMemberId).max(1000).default([]),
  /** How many people's data: defaults to the member ids' count; an export gives its row count. */
  subjectCount: z.number().int().min(0).max(2_000_000_000).optional(),
  /** The selection of an export or download (filters, never personal data itself). */
  query: z.record(z.string(), z.unknown()).optional(),
  fields: z.array(z.enum(PERSONAL_FIELDS)).min(1).max(50),
  reason: z.string().trim().max(500).optional(),
  requestId: z.string().min(1).max(100).optional(),
});
export type TAccessEntry = z.input<typeof ZAccessEntry>;

export type TRecordedAccess = { seq: number; at: string; hash: string };

export const ZAccessLogEntry = z
  .object({
    seq: z.number().int().meta({ description: 'Position in the tenant’s log: 1, 2, 3, … with no gaps; also the cursor.' }),
    at: ZInstant.meta({ description: 'When, by the database’s clock (UTC).', example: '2026-11-14T14:41:07.512Z' }),
    operatorId: ZOperatorId,
    ip: z.string().meta({ example: '203.0.113.7' }),
    action: ZAccessAction,
    memberIds: z.array(z.string()).meta({ example: ['mbr_01JD3Z6Q8K4N2M7P5R9T1V3W5X'] }),
    subjectCount: z.number().int().meta({ description: 'How many people’s data: the member ids, or the rows of an export.' }),
    query: z
      .record(z.string(), z.unknown())
      .nullable()
      .meta({ description: 'The selection of an export or download.', example: { grade: 'GOLD', joinedFrom: '2026-01-01' } }),
    fields: z.array(z.string()).meta({ example: ['name', 'phone'] }),
    reason: z.string().nullable().meta({ example: '배송 주소 확인 요청 (문의 #1234)' }),
    requestId: z.string().nullable().meta({ example: 'req-8f3a2c' }),
    prevHash: z.string().meta({ description: 'SHA-256 of the previous row (hex); the anchor’s hash for the first kept row.' }),
    hash: z.string().meta({ description: 'SHA-256(prevHash ‖ canonical row), hex.' }),
  })
  .meta({ id: 'AccessLogEntry' });
export type TAccessLogEntry = z.infer<typeof ZAccessLogEntry>;

export const ZAccessLogQuery = z
  .object({
    operatorId: ZOperatorId.optional(),
    memberId: ZMemberId.optional().meta({ description: 'Rows naming this member (exports name a query, not members).' }),
    action: ZAccessAction.optional(),
    from: ZInstantWithOffset.optional().meta({
      description: 'From this instant (inclusive).',
      example: '2026-11-01T00:00:00+09:00',
    }),
    to: ZInstantWithOffset.optional().meta({
      description: 'Until this instant (exclusive).',
      example: '2026-12-01T00:00:00+09:00',
    }),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    cursor: z
      .string()
      .regex(/^\d{1,18}$/)
      .optional()
      .meta({ description: 'The nextCursor of the previous page.' }),
  })
  .refine((q) => !q.from || !q.to || Date.parse(q.from) < Date.parse(q.to), { message: 'from must be before to', path: ['to'] });
export type TAccessLogQuery = z.infer<typeof ZAccessLogQuery>;

export const ZAccessLogPage = z.object({
  items: z.array(ZAccessLogEntry),
  nextCursor: z.string().nullable().meta({ description: 'Pass as `cursor` for the next (older) page; null at the end.' }),
});

export const VERIFY_PROBLEMS = ['edited', 'missing', 'link', 'head', 'extra'] as const;
export const ZVerifyResult = z
  .object({
    tenantId: z.string(),
    ok: z.boolean(),
    rows: z.number().int().meta({ description: 'Rows checked (the kept ones).' }),
    firstSeq: z.number().int().nullable(),
    lastSeq: z.number().int().nullable(),
    head: z
      .object({ seq: z.number().int(), hash: z.string() })
      .meta({ description: 'The tenant’s last seq and hash. Kept outside the database, it also exposes a rewritten chain.' }),
    anchor: z
      .object({ seq: z.number().int(), hash: z.string(), at: ZInstant.nullable() })
      .nullable()
      .meta({ description: 'The retention anchor: the last purged row, from which the kept rows chain on.' }),
    broken: z
      .object({
        seq: z.number().int(),
        problem: z.enum(VERIFY_PROBLEMS).meta({
          description:
            'edited: the row’s hash does not match its content; missing: the seq is absent (a deleted row); link: its prev_hash is not the previous row’s hash (rows replaced or reordered); head: the last row is not the recorded head (rows deleted from the end); extra: rows past the head.',
        }),
        detail: z.string(),
      })
      .nullable()
      .meta({ description: 'The first place the chain breaks; null when ok.' }),
  })
  .meta({ id: 'AccessLogVerification' });
export type TVerifyResult = z.infer<typeof ZVerifyResult>;

export const ZMonth = z
  .string()
  .regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'must be a month written YYYY-MM')
  .meta({ example: '2026-11' });

const ZMetric = z.object({
  count: z.number().int(),
  baseline: z
    .array(z.number())
    .meta({ description: 'The three 30-day periods before the month, oldest first, each scaled to the month’s length.' }),
  median: z.number().meta({ description: 'The median of the baseline.' }),
  flagged: z.boolean().meta({ description: 'count > 3 × median (a count above zero against a zero median too).' }),
});
const ZListed = z.object({
  total: z.number().int(),
  items: z.array(ZAccessLogEntry.extend({ localTime: z.string().meta({ example: '2026-11-14 23:41' }) })),
  truncated: z.boolean().meta({ description: 'More rows than listed (the first 500 are).' }),
});
export const ZMonthlyReport = z
  .object({
    tenantId: z.string(),
    month: ZMonth,
    timeZone: z.string().meta({ example: 'Asia/Seoul' }),
    from: ZInstant,
    to: ZInstant,
    operators: z.array(
      z.object({
        operatorId: z.string(),
        unmasked: ZMetric.meta({ description: 'Views of unmasked data (actions view and unmask).' }),
        exports: ZMetric,
        downloads: z.number().int(),
        changes: z.number().int(),
        deletes: z.number().int(),
        subjects: z.number().int().meta({ description: 'People’s data accessed, summed over the month’s rows.' }),
        nightAccesses: z.number().int(),
        flagged: z.boolean(),
      }),
    ),
    downloads: ZListed.meta({ description: 'Every download of the month: the reason of each must be confirmed (Art. 8②).' }),
    nightAccess: ZListed.meta({ description: 'Every access between 22:00 and 07:00 in the tenant’s time zone.' }),
    head: z.object({ seq: z.number().int(), hash: z.string() }).meta({ description: 'The log’s head when the report was made.' }),
  })
  .meta({ id: 'AccessLogMonthlyReport' });
export type TMonthlyReport = z.infer<typeof ZMonthlyReport>;
