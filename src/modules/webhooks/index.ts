// Public API of the webhooks module: the only file other modules and the platform import.

export { webhookRoutes } from './webhooks.routes.ts';
export { isPublicAddress, MAX_ATTEMPTS, RETRY_DELAYS_S, signature } from './webhooks.rules.ts';
export type { TEndpoint, TEndpointWithSecret } from './webhooks.schemas.ts';
export {
  /** Creates an endpoint; its secret is returned once. */
  createEndpoint,
  /** Claims and delivers due messages (the `webhooks.deliver` job). */
  deliverDue,
  /** The outbox handler that turns public events into messages. */
  fanOut,
  /** The retention job: finished messages and attempts older than 30 days. */
  purgeWebhookHistory,
  /** Registers the fan-out handler for every public event. */
  registerWebhookHandlers,
  /** The `webhooks.deliver` job: delivers while full batches are due. */
  runWebhookDeliveries,
} from './webhooks.service.ts';
export type { WebhooksTables } from './webhooks.tables.ts';

import type { SealedColumn } from '../../platform/pii-keys.ts';

/** Endpoint secrets, sealed like personal data (re-sealed by `moa keys rotate`). */
export const WEBHOOKS_SEALED_COLUMNS: readonly SealedColumn[] = [
  { table: 'webhook_endpoint', keys: ['tenant_id', 'id'], column: 'secret_sealed', domain: 'pii' },
  { table: 'webhook_endpoint', keys: ['tenant_id', 'id'], column: 'previous_secret_sealed', domain: 'pii' },
];
