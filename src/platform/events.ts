import { z } from 'zod';
import type { Db } from './db.ts';
import { enqueueOutbox } from './outbox.ts';

// The event catalogue: every outbox topic, its payload schema and version, in one place. Modules
// write events only through enqueueEvent, so a wrong payload is a type error at compile time and
// a validation error at run time (before anything is written). An entry with `webhook` is offered
// to the brand's endpoints under that public `<noun>.<verb>` name (modules/webhooks, and the
// `webhooks` section of /openapi.json); the others are internal. A change that is not additive
// bumps `version` (the webhook body carries it) or becomes a new event.

const id = z.string().min(1).max(200);
const amount = z.number().int();
const instant = z.string().meta({ format: 'date-time' });

type EventSpec = {
  version: number;
  summary: string;
  schema: z.ZodType<Record<string, unknown>>;
  /** The public name webhooks use; absent: internal only. */
  webhook?: string;
  /** The payload field that orders deliveries per member (webhooks are delivered in commit order per member). */
  memberField?: string;
};

const spec = <S extends z.ZodType<Record<string, unknown>>>(s: Omit<EventSpec, 'schema'> & { schema: S }) => s;

export const EVENTS = {
  // members
  'member.joined': spec({
    version: 1,
    webhook: 'member.joined',
    memberField: 'memberId',
    summary: 'A member signed up (verified or not).',
    schema: z.strictObject({ memberId: id, verified: z.boolean() }),
  }),
  'member.dormant': spec({
    version: 1,
    webhook: 'member.dormant',
    memberField: 'memberId',
    summary: 'A member became dormant (휴면): their personal data moved to the dormant store.',
    schema: z.strictObject({ memberId: id }),
  }),
  'member.withdrawn': spec({
    version: 1,
    webhook: 'member.withdrawn',
    memberField: 'memberId',
    summary: 'A member withdrew (탈퇴).',
    schema: z.strictObject({ memberId: id, reason: z.string().nullable() }),
  }),
  'member.grade_changed': spec({
    version: 1,
    webhook: 'member.grade_changed',
    memberField: 'memberId',
    summary: 'A member moved to another grade (review, manual change or sign-up).',
    schema: z.strictObject({ memberId: id, from: z.string().nullable(), to: z.string(), source: z.string() }),
  }),
  'member.password_reset': spec({
    version: 1,
    summary: 'A member reset their password.',
    schema: z.strictObject({ memberId: id }),
  }),
  'member.password_changed': spec({
    version: 1,
    summary: 'A member changed their password with the current one (their other sessions ended).',
    schema: z.strictObject({ memberId: id }),
  }),
  'member.dormancy_notice': spec({
    version: 1,
    summary: 'A member is told they will become dormant.',
    schema: z.strictObject({ memberId: id, dormantOn: z.string() }),
  }),
  'member.reactivated': spec({ version: 1, summary: 'A dormant member came back.', schema: z.strictObject({ memberId: id }) }),
  'member.points_imported': spec({
    version: 1,
    summary: 'An imported member’s opening point lots, for the points module.',
    schema: z.strictObject({
      memberId: id,
      importId: id,
      row: z.number().int(),
      lots: z.array(z.strictObject({ amount, expiresAt: instant.nullable() })),
    }),
  }),
  'members.imported': spec({
    version: 1,
    summary: 'A member import finished.',
    schema: z.strictObject({ importId: id, imported: z.number().int(), rejected: z.number().int() }),
  }),
  // points
  'points.earned': spec({
    version: 1,
    webhook: 'points.earned',
    memberField: 'memberId',
    summary: 'Points were earned or granted.',
    schema: z.strictObject({ memberId: id, operationId: id, amount, kind: z.string(), expiresAt: instant.nullable() }),
  }),
  'points.used': spec({
    version: 1,
    webhook: 'points.used',
    memberField: 'memberId',
    summary: 'Points were used on an order.',
    schema: z.strictObject({ memberId: id, operationId: id, amount }),
  }),
  'points.cancelled': spec({
    version: 1,
    summary: 'An earning, a grant or a use was cancelled (amount signed: negative takes points back).',
    schema: z.strictObject({ memberId: id, operationId: id, originalId: id, amount }),
  }),
  'points.expiring': spec({
    version: 1,
    webhook: 'points.expiring_soon',
    memberField: 'memberId',
    summary: 'Some of a member’s points expire soon (the notice period of the policy).',
    schema: z.strictObject({ memberId: id, amount, firstExpiry: z.string() }),
  }),
  'points.expired': spec({
    version: 1,
    webhook: 'points.expired',
    memberField: 'memberId',
    summary: 'Points expired (catalogued; not emitted yet: lot expiry is posted in ledger batches).',
    schema: z.strictObject({ memberId: id, amount }),
  }),
  // prepaid
  'prepaid.charged': spec({
    version: 1,
    webhook: 'prepaid.charged',
    memberField: 'memberId',
    summary: 'A prepaid card was charged.',
    schema: z.strictObject({
      cardId: id,
      memberId: id.nullable(),
      operationId: id,
      amount,
      promotions: z.array(
        z.strictObject({
          promotionId: id,
          name: z.string(),
          points: z.number().int().nullable(),
          couponDefinitionId: z.string().nullable(),
        }),
      ),
    }),
  }),
  'prepaid.used': spec({
    version: 1,
    webhook: 'prepaid.used',
    memberField: 'memberId',
    summary: 'Prepaid balance was used.',
    schema: z.strictObject({ cardId: id, memberId: id.nullable(), operationId: id, amount }),
  }),
  'prepaid.refund_requested': spec({
    version: 1,
    webhook: 'prepaid.refunded',
    memberField: 'memberId',
    summary: 'A card’s remaining balance was refunded to the member (the fee kept).',
    schema: z.strictObject({ operationId: id, cardId: id, memberId: id, amount, fee: amount }),
  }),
  'prepaid.auto_charge_failed': spec({
    version: 1,
    webhook: 'prepaid.auto_charge_failed',
    memberField: 'memberId',
    summary: 'An auto-charge failed and will be retried at nextAttemptAt.',
    schema: z.strictObject({
      cardId: id,
      memberId: id,
      chargeId: id,
      amount,
      failures: z.number().int(),
      code: z.string(),
      message: z.string(),
      nextAttemptAt: instant.nullable(),
    }),
  }),
  'prepaid.auto_charge_disabled': spec({
    version: 1,
    summary: 'An auto-charge turned itself off after repeated failures.',
    schema: z.strictObject({
      cardId: id,
      memberId: id,
      chargeId: id,
      amount,
      failures: z.number().int(),
      code: z.string(),
      message: z.string(),
      nextAttemptAt: instant.nullable(),
    }),
  }),
  'prepaid.auto_charge_due': spec({
    version: 1,
    summary: 'A card’s auto-charge is due.',
    schema: z.strictObject({ cardId: id }),
  }),
  'prepaid.payment_refund': spec({
    version: 1,
    summary: 'A cancelled charge’s payment is to be refunded by the payment provider.',
    schema: z.strictObject({ operationId: id, paymentId: z.string().nullable(), amount }),
  }),
  'prepaid.gift_received': spec({
    version: 1,
    summary: 'A member received prepaid value or a card from another.',
    schema: z.strictObject({ toMemberId: id, fromMemberId: id, cardId: id, operationId: id, amount: amount.optional() }),
  }),
  // coupons
  'coupons.issued': spec({
    version: 1,
    webhook: 'coupon.issued',
    memberField: 'memberId',
    summary: 'A coupon was issued to a member.',
    schema: z.strictObject({ couponId: id, definitionId: id, memberId: id, source: z.string(), validUntil: instant }),
  }),
  'coupons.used': spec({
    version: 1,
    webhook: 'coupon.redeemed',
    memberField: 'memberId',
    summary: 'A coupon was redeemed on an order.',
    schema: z.strictObject({ couponId: id, memberId: id, useId: id, orderId: id, discount: amount }),
  }),
  'coupons.expired': spec({
    version: 1,
    webhook: 'coupon.expired',
    memberField: 'memberId',
    summary: 'A coupon reached the end of its validity unused (reported by a sweep every 5 minutes).',
    schema: z.strictObject({ couponId: id, memberId: id, validUntil: instant }),
  }),
  'coupons.use_cancelled': spec({
    version: 1,
    summary: 'A coupon redemption was cancelled.',
    schema: z.strictObject({ couponId: id, memberId: id, useId: id }),
  }),
  'coupons.gift_received': spec({
    version: 1,
    summary: 'A member received a coupon from another.',
    schema: z.strictObject({ couponId: id, fromMemberId: id, toMemberId: id }),
  }),
  'coupons.bulk_issued': spec({
    version: 1,
    summary: 'A bulk issue finished.',
    schema: z.strictObject({ bulkId: id, definitionId: id, issued: z.number().int() }),
  }),
  'coupons.issue_requested': spec({
    version: 1,
    summary: 'Another module asks the coupon module to issue a reward coupon.',
    schema: z.strictObject({ definitionId: id, memberId: id, source: z.string(), reference: id }),
  }),
  'coupons.revoke_requested': spec({
    version: 1,
    summary: 'Another module asks the coupon module to take a reward coupon back.',
    schema: z.strictObject({ definitionId: id, memberId: id, source: z.string(), reference: id }),
  }),
  // stamps
  'stamps.board_completed': spec({
    version: 1,
    webhook: 'stamp_board.completed',
    memberField: 'memberId',
    summary: 'A member completed a stamp board (its reward is granted).',
    schema: z.strictObject({
      cardId: id,
      memberId: id,
      board: z.number().int(),
      reward: z.union([
        z.strictObject({ type: z.literal('points'), points: amount }),
        z.strictObject({ type: z.literal('coupon'), couponDefinitionId: z.string(), name: z.string() }),
      ]),
    }),
  }),
  // checkout
  'checkout.committed': spec({
    version: 1,
    webhook: 'checkout.committed',
    memberField: 'memberId',
    summary: 'A checkout was committed: coupons, points and prepaid applied, earnings made.',
    schema: z.strictObject({
      checkoutId: id,
      memberId: id,
      orderAmount: amount,
      discount: amount,
      paidAmount: amount,
      firstOrder: z.boolean(),
    }),
  }),
  'checkout.cancelled': spec({
    version: 1,
    webhook: 'checkout.cancelled',
    memberField: 'memberId',
    summary: 'A checkout was cancelled, whole or by lines.',
    schema: z.strictObject({
      checkoutId: id,
      memberId: id,
      cancelId: id,
      full: z.boolean(),
      amount,
      paidRefund: amount,
    }),
  }),
  // tenants
  'tenant.created': spec({
    version: 1,
    summary: 'A tenant was created.',
    schema: z.strictObject({ tenantId: id, name: z.string() }),
  }),
  'tenant.updated': spec({
    version: 1,
    summary: 'A tenant’s settings changed.',
    schema: z.strictObject({ tenantId: id, changes: z.record(z.string(), z.unknown()) }),
  }),
  'tenant.status_changed': spec({
    version: 1,
    summary: 'A tenant was suspended, closed or reactivated.',
    schema: z.strictObject({ tenantId: id, status: z.string() }),
  }),
  'api_key.created': spec({
    version: 1,
    summary: 'An API key was created.',
    schema: z.strictObject({ tenantId: id, keyId: id, scope: z.string(), storeId: id.nullable().optional() }),
  }),
  'api_key.revoked': spec({
    version: 1,
    summary: 'An API key was revoked.',
    schema: z.strictObject({ tenantId: id, keyId: id }),
  }),
  // messages
  'messages.send': spec({
    version: 1,
    summary: 'An SMS or AlimTalk to send (sealed).',
    schema: z.strictObject({ tenantId: id.nullable().optional(), channel: z.string(), sealed: z.string() }),
  }),
  'mail.send': spec({
    version: 1,
    summary: 'An e-mail to send (sealed).',
    schema: z.strictObject({ tenantId: id.nullable().optional(), sealed: z.string() }),
  }),
  // webhooks
  'webhook.test': spec({
    version: 1,
    webhook: 'webhook.test',
    summary: 'A test event, sent to one endpoint on request (POST /v1/webhooks/endpoints/{id}/test).',
    schema: z.strictObject({ endpointId: id, message: z.string() }),
  }),
  'webhook_endpoint.disabled': spec({
    version: 1,
    summary: 'A webhook endpoint was disabled after failing continuously (or answering 410).',
    schema: z.strictObject({ endpointId: id, url: z.string(), reason: z.string() }),
  }),
} as const;

export type EventTopic = keyof typeof EVENTS;
export type EventPayload<T extends EventTopic> = z.input<(typeof EVENTS)[T]['schema']>;

const entries = Object.entries(EVENTS) as [EventTopic, EventSpec][];

/** The events offered as webhooks: internal topic → public type. */
export const WEBHOOK_EVENTS: readonly { topic: EventTopic; type: string; spec: EventSpec }[] = entries
  .filter(([, s]) => s.webhook !== undefined)
  .map(([topic, s]) => ({ topic, type: s.webhook!, spec: s }));
export const WEBHOOK_EVENT_TYPES: readonly string[] = WEBHOOK_EVENTS.map((e) => e.type);
export const webhookEventOf = (topic: string) => WEBHOOK_EVENTS.find((e) => e.topic === topic);

export const isEventTopic = (topic: string): topic is EventTopic => Object.hasOwn(EVENTS, topic);

/**
 * Records a catalogued event in the caller's transaction (db), validated against its schema first:
 * a payload that does not match throws and writes nothing.
 */
export async function enqueueEvent<T extends EventTopic>(
  db: Db,
  tenantId: string,
  event: { topic: T; payload: EventPayload<T> },
): Promise<void> {
  const entry: EventSpec | undefined = EVENTS[event.topic];
  if (!entry) throw new Error(`unknown event topic ${event.topic}`);
  const parsed = entry.schema.safeParse(event.payload);
  if (!parsed.success) throw new Error(`event ${event.topic} v${entry.version}: invalid payload: ${parsed.error.message}`);
  await enqueueOutbox(db, tenantId, { topic: event.topic, payload: parsed.data });
}

/**
 * The OpenAPI 3.1 `webhooks` section: one operation per public event type, its request body the
 * Standard Webhooks envelope around the event's schema, with the signature headers.
 */
export function webhooksDocument(): Record<string, unknown> {
  const header = (description: string) => ({ required: true, schema: { type: 'string' }, description });
  return Object.fromEntries(
    WEBHOOK_EVENTS.map(({ type, spec: s }) => [
      type,
      {
        post: {
          summary: type,
          description: `${s.summary} Version ${s.version}.`,
          operationId: `webhook_${type.replace(/\W/g, '_')}`,
          tags: ['Webhooks'],
          'x-moa-event-version': s.version,
          parameters: [
            {
              in: 'header',
              name: 'webhook-id',
              ...header('The message id (evt_…): the same on every retry; deduplicate on it.'),
            },
            {
              in: 'header',
              name: 'webhook-timestamp',
              ...header('Unix seconds of this attempt; reject one more than 5 minutes off.'),
            },
            {
              in: 'header',
              name: 'webhook-signature',
              ...header('Space-separated `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, one per live secret.'),
            },
          ],
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['type', 'version', 'timestamp', 'data'],
                  additionalProperties: false,
                  properties: {
                    type: { const: type },
                    version: { const: s.version },
                    timestamp: { type: 'string', format: 'date-time', description: 'When the event happened (committed).' },
                    data: toJsonSchema(s.schema),
                  },
                },
              },
            },
          },
          responses: {
            '2XX': {
              description: 'Received. Anything else (3xx included) is retried on the schedule; 410 disables the endpoint.',
            },
          },
        },
      },
    ]),
  );
}

function toJsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input' }) as Record<string, unknown>;
  return rest;
}
