import type { ReviewCycle } from './grades.tables.ts';

// Which grade purchases earn, and when a review is due: no database needed.

export type Level = { code: string; rank: number; minOrders: number; minAmount: number; windowDays: number };
export type DayActivity = { day: string; orders: number; amount: number };

const DAY = 86_400_000;
const dayNumber = (iso: string) => Math.floor(Date.parse(`${iso}T00:00:00Z`) / DAY);

/**
 * The highest level whose conditions the purchases meet, each level counting its own window of days
 * up to and including today. The lowest level needs nothing: every member has at least it.
 */
export function qualifiedLevel<L extends Level>(levels: readonly L[], activity: readonly DayActivity[], today: string): L {
  const byRank = [...levels].sort((a, b) => b.rank - a.rank);
  const t = dayNumber(today);
  for (const level of byRank) {
    let orders = 0;
    let amount = 0;
    for (const a of activity) {
      const age = t - dayNumber(a.day);
      if (age >= 0 && age < level.windowDays) {
        orders += a.orders;
        amount += a.amount;
      }
    }
    if (orders >= level.minOrders && amount >= level.minAmount) return level;
  }
  return byRank.at(-1)!;
}

/** Whether a review is due: once per day, month or quarter (calendar, in the tenant's days). */
export function reviewDue(cycle: ReviewCycle, lastReviewDay: string | null, today: string): boolean {
  if (!lastReviewDay) return true;
  if (cycle === 'daily') return lastReviewDay < today;
  const period = (d: string) =>
    cycle === 'monthly' ? d.slice(0, 7) : `${d.slice(0, 4)}Q${Math.floor((Number(d.slice(5, 7)) - 1) / 3)}`;
  return period(lastReviewDay) !== period(today);
}
