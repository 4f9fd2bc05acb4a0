import { addDays, zonedMidnight } from '../../platform/clock.ts';
import type { AccessAction } from './audit.tables.ts';

// Pure rules of the access log: which accesses need a reason, the report's periods and flags.

/** Unmasking, exports and downloads say why (the safety standard: a download's reason is confirmed). */
export const REASON_ACTIONS: readonly AccessAction[] = ['unmask', 'export', 'download'];
export const MIN_REASON_LENGTH = 5;
/** The law's floor for a platform of this size (Art. 8①: 2 years above 50,000 people). */
export const MIN_RETENTION_MONTHS = 24;
/** Night: from 22:00 to 07:00 in the tenant's time zone. */
export const NIGHT_FROM_HOUR = 22;
export const NIGHT_TO_HOUR = 7;
/** Flag an operator whose month is above this many times their usual month. */
export const FLAG_FACTOR = 3;
const BASELINE_WINDOWS = 3;
const WINDOW_DAYS = 30;

export const needsReason = (action: AccessAction): boolean => REASON_ACTIONS.includes(action);
export const reasonLongEnough = (reason: string | undefined): boolean => (reason ?? '').trim().length >= MIN_REASON_LENGTH;

export function median(values: number[]): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Above FLAG_FACTOR × the median; with a zero median any access at all is a new pattern. */
export const aboveUsual = (count: number, usual: number): boolean => count > FLAG_FACTOR * usual;

export type Period = { from: Date; to: Date };

/**
 * A month in a time zone, and its baseline: the three 30-day periods before it (90 days), each to
 * be scaled to the month's length (a monthly equivalent).
 */
export function monthPeriods(month: string, timeZone: string): { month: Period; days: number; baseline: Period[] } {
  const first = `${month}-01`;
  const [y, m] = month.split('-').map(Number) as [number, number];
  const next = m === 12 ? `${y + 1}-01-01` : `${y}-${String(m + 1).padStart(2, '0')}-01`;
  const days = Math.round((Date.parse(`${next}T00:00:00Z`) - Date.parse(`${first}T00:00:00Z`)) / 86_400_000);
  const baseline = Array.from({ length: BASELINE_WINDOWS }, (_, i) => {
    const back = (BASELINE_WINDOWS - i) * WINDOW_DAYS;
    return {
      from: zonedMidnight(addDays(first, -back), timeZone),
      to: zonedMidnight(addDays(first, -back + WINDOW_DAYS), timeZone),
    };
  });
  return { month: { from: zonedMidnight(first, timeZone), to: zonedMidnight(next, timeZone) }, days, baseline };
}

/** A baseline window's count as a month of `days` days. */
export const monthlyEquivalent = (count: number, days: number): number => Math.round(((count * days) / WINDOW_DAYS) * 100) / 100;

const localFormats = new Map<string, Intl.DateTimeFormat>();

/** 'YYYY-MM-DD HH:mm' in the time zone. */
export function localTime(at: Date, timeZone: string): string {
  let f = localFormats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
    });
    localFormats.set(timeZone, f);
  }
  const p = Object.fromEntries(f.formatToParts(at).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`;
}

/**
 * One CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break. Text that a
 * spreadsheet would run as a formula (=, +, -, @ first) is prefixed with an apostrophe.
 */
export function csvField(value: string | number | null): string {
  if (value === null) return '';
  let s = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
