import { z } from 'zod';
import { WEBHOOK_EVENT_TYPES } from '../../platform/events.ts';
import { ZInstant } from '../../platform/http-schemas.ts';

export const ZEndpointId = z.string().regex(/^whe_[0-9a-z]{26}$/, 'a webhook endpoint id (whe_…)');

const ZEventType = z.enum(WEBHOOK_EVENT_TYPES as [string, ...string[]]);

export const ZEndpoint = z
  .object({
    id: z.string(),
    url: z.string(),
    description: z.string(),
    eventTypes: z.array(z.string()).nullable().meta({ description: 'The event types sent; null: every public type.' }),
    status: z.enum(['enabled', 'disabled']),
    disabledReason: z.string().nullable(),
    failingSince: ZInstant.nullable().meta({ description: 'Since when every attempt failed; null when the last one succeeded.' }),
    secretRotatedUntil: ZInstant.nullable().meta({ description: 'The previous secret signs too until then (after a rotation).' }),
    createdAt: ZInstant,
    updatedAt: ZInstant,
  })
  .meta({ id: 'WebhookEndpoint' });
export type TEndpoint = z.infer<typeof ZEndpoint>;

export const ZEndpointWithSecret = ZEndpoint.extend({
  secret: z.string().meta({ description: 'The signing secret (whsec_…): shown in this response only.' }),
}).meta({ id: 'WebhookEndpointWithSecret' });
export type TEndpointWithSecret = z.infer<typeof ZEndpointWithSecret>;

const ZUrl = z.string().trim().min(8).max(2000);
const ZEventTypes = z
  .array(ZEventType)
  .min(1)
  .max(WEBHOOK_EVENT_TYPES.length)
  .nullable()
  .meta({ description: 'Event types to receive; null or absent: every public type.' });

export const ZCreateEndpoint = z.object({
  url: ZUrl,
  eventTypes: ZEventTypes.optional(),
  description: z.string().trim().max(200).default(''),
});
export type TCreateEndpoint = z.infer<typeof ZCreateEndpoint>;

export const ZUpdateEndpoint = z
  .object({ url: ZUrl, eventTypes: ZEventTypes, description: z.string().trim().max(200) })
  .partial()
  .refine((v) => Object.keys(v).length > 0, 'send at least one field to change');
export type TUpdateEndpoint = z.infer<typeof ZUpdateEndpoint>;

export const ZAttempt = z
  .object({
    webhookId: z.string().meta({ description: 'The message’s webhook-id header (evt_…).' }),
    type: z.string(),
    attempt: z.number().int(),
    attemptedAt: ZInstant,
    responseStatus: z.number().int().nullable().meta({ description: 'null: no HTTP answer (see error).' }),
    error: z.string().nullable(),
    latencyMs: z.number().int(),
    responseExcerpt: z.string().meta({ description: 'The first 1 KB of the response body.' }),
    messageStatus: z.enum(['pending', 'delivered', 'failed']),
  })
  .meta({ id: 'WebhookAttempt' });
export type TAttempt = z.infer<typeof ZAttempt>;

export const ZAttemptsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z
    .string()
    .regex(/^\d{1,16}$/, 'the nextCursor of the previous page')
    .optional()
    .meta({ description: 'The previous page’s `nextCursor`.' }),
});
export const ZAttemptList = z.object({ items: z.array(ZAttempt), nextCursor: z.string().nullable() });

export const ZReplayRequest = z.union([
  z.strictObject({ webhookId: z.string().regex(/^evt_\d{1,19}$/) }),
  z.strictObject({
    since: ZInstant,
    until: ZInstant.optional(),
    failedOnly: z
      .boolean()
      .default(true)
      .meta({ description: 'Only messages that were given up (default); false: every one in the range.' }),
  }),
]);
export type TReplayRequest = z.infer<typeof ZReplayRequest>;
export const ZReplayResult = z.object({ replayed: z.number().int() });

export const ZEventTypeList = z.object({
  items: z.array(z.object({ type: z.string(), version: z.number().int(), summary: z.string() })),
});
