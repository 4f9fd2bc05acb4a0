import type { Deps } from '../../platform/deps.ts';
import { enqueueEvent } from '../../platform/events.ts';
import { piiFor } from '../../platform/pii.ts';
import { PLATFORM_SCOPE } from '../../platform/request-context.ts';
import type { MessageChannel, OutgoingMail, OutgoingMessage } from './messages.provider.ts';

// Sending is a side effect: the caller records it in its own transaction (the outbox), and the
// worker hands it to the configured provider after commit, at least once, with the outbox row as
// the provider's idempotency key. The recipient and the text (a sign-in code, a recovery link) are
// sealed in the outbox row, never stored in the clear. The platform's own messages (tenant null)
// are queued under the platform scope.

const MESSAGE_TOPIC = 'messages.send';
const MAIL_TOPIC = 'mail.send';

type Sealed<T> = { tenantId: string | null; sealed: string } & T;

/** Queues an SMS or AlimTalk message in the caller's transaction (deps.db). */
export async function enqueueMessage(deps: Pick<Deps, 'db' | 'masterKey'>, m: Omit<OutgoingMessage, 'key'>): Promise<void> {
  await enqueueEvent(deps.db, m.tenantId ?? PLATFORM_SCOPE, {
    topic: MESSAGE_TOPIC,
    payload: {
      tenantId: m.tenantId,
      channel: m.channel,
      sealed: piiFor(deps.masterKey).seal({ to: m.to, template: m.template, text: m.text }),
    },
  });
}

/** Queues an e-mail in the caller's transaction (deps.db). */
export async function enqueueMail(deps: Pick<Deps, 'db' | 'masterKey'>, m: Omit<OutgoingMail, 'key'>): Promise<void> {
  await enqueueEvent(deps.db, m.tenantId ?? PLATFORM_SCOPE, {
    topic: MAIL_TOPIC,
    payload: { tenantId: m.tenantId, sealed: piiFor(deps.masterKey).seal({ to: m.to, subject: m.subject, text: m.text }) },
  });
}

/** The outbox handlers that deliver queued messages and mail through the configured providers. */
export function registerMessageHandlers(deps: Pick<Deps, 'outbox' | 'providers' | 'masterKey'>): void {
  const pii = piiFor(deps.masterKey);
  deps.outbox.register(MESSAGE_TOPIC, 'messages.deliver', async (row) => {
    const p = row.payload as Sealed<{ channel: MessageChannel }>;
    const body = pii.open<{ to: string; template: string; text: string }>(p.sealed);
    await deps.providers.messages.send({ tenantId: p.tenantId, channel: p.channel, ...body, key: `${row.tenantId}.${row.id}` });
  });
  deps.outbox.register(MAIL_TOPIC, 'mail.deliver', async (row) => {
    const p = row.payload as Sealed<object>;
    const body = pii.open<{ to: string; subject: string; text: string }>(p.sealed);
    await deps.providers.mail.send({ tenantId: p.tenantId, ...body, key: `${row.tenantId}.${row.id}` });
  });
}
