import { z } from 'zod';

// Cursor pages for list routes: `?limit=&cursor=`, answered as `{ items, nextCursor }`. The cursor
// is the last item's id: ids are time-ordered (ids.ts), so a list ordered by id pages by one
// indexed comparison (`id > cursor` oldest first, `id < cursor` newest first) and a row written
// meanwhile neither repeats nor skips an item.

export const ZPageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50).meta({ description: 'Items per page, 1–200 (50).' }),
  cursor: z
    .string()
    .regex(/^[a-z]{2,6}_[0-9a-z]{26}$/, 'the nextCursor of the previous page')
    .optional()
    .meta({ description: 'The previous page’s `nextCursor`.' }),
});
export type TPageQuery = z.infer<typeof ZPageQuery>;

/** The answer of a list route: a page of items and the cursor of the next one. */
export const ZPageOf = <T extends z.ZodType>(item: T) =>
  z.object({
    items: z.array(item),
    nextCursor: z.string().nullable().meta({ description: 'Pass as `cursor` for the next page; null at the end.' }),
  });

/** Rows fetched with `limit + 1` (one more says a next page exists) → the page's rows and its nextCursor. */
export function cut<R extends { id: string }>(rows: R[], limit: number): { rows: R[]; nextCursor: string | null } {
  const page = rows.slice(0, limit);
  return { rows: page, nextCursor: rows.length > limit ? page.at(-1)!.id : null };
}

/** The same, each row made an item. */
export function pageOf<R extends { id: string }, T>(rows: R[], limit: number, map: (r: R) => T) {
  const { rows: page, nextCursor } = cut(rows, limit);
  return { items: page.map(map), nextCursor };
}
