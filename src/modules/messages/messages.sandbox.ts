import { asSystem } from '../../platform/db-context.ts';
import type { Deps } from '../../platform/deps.ts';
import { newId } from '../../platform/ids.ts';
import { piiFor } from '../../platform/pii.ts';
import type { MailProvider, MessageChannel, MessageProvider } from './messages.provider.ts';

// The sandboxes: instead of sending, they record what would have gone out (sandbox_message,
// sandbox_mail), sealed, for tests and for the sandbox pages (/sandbox/messages, /sandbox/mailbox)
// where a tester reads a code or a link. A repeated delivery of one outbox row is recorded once.
// They are never configured with DATABASE_URL unless MOA_ALLOW_SANDBOX=true (config.ts).

type D = Pick<Deps, 'db' | 'masterKey' | 'clock'>;

/** The recipients' keyed hashes are scoped here: the pages look messages up by phone or address. */
const SANDBOX_SCOPE = '_sandbox';
const phoneKey = (deps: Pick<Deps, 'masterKey'>, to: string) => piiFor(deps.masterKey).hash(SANDBOX_SCOPE, 'phone', to);
const mailKey = (deps: Pick<Deps, 'masterKey'>, to: string) =>
  piiFor(deps.masterKey).hash(SANDBOX_SCOPE, 'email', to.trim().toLowerCase());

// The recorder stands in for a vendor outside the database: it writes as the platform's machinery
// (moa_system), whichever tenant's delivery calls it, including the platform's own (tenant null).

/** MESSAGE_PROVIDER=sandbox: SMS and AlimTalk recorded, not sent. */
export function sandboxMessages(deps: D): MessageProvider {
  return {
    name: 'sandbox',
    channels: ['sms', 'alimtalk'],
    async send(m) {
      await asSystem(() =>
        deps.db
          .insertInto('sandbox_message')
          .values({
            id: m.key ?? newId('msg'),
            tenant_id: m.tenantId,
            channel: m.channel,
            recipient_hash: phoneKey(deps, m.to),
            message_sealed: piiFor(deps.masterKey).seal({ to: m.to, template: m.template, text: m.text }),
            created_at: deps.clock.now(),
          })
          .onConflict((oc) => oc.column('id').doNothing())
          .execute(),
      );
    },
  };
}

/** MESSAGE_PROVIDER=none: no channel; senders refuse before anything is queued. */
export const noMessages: MessageProvider = {
  name: 'none',
  channels: [],
  async send() {
    throw new Error('messages are off (MESSAGE_PROVIDER=none)');
  },
};

/** MAIL_PROVIDER=mailbox: e-mail recorded in sandbox_mail, not sent. */
export function sandboxMailbox(deps: D, from: string): MailProvider {
  return {
    name: 'mailbox',
    async send(m) {
      await asSystem(() =>
        deps.db
          .insertInto('sandbox_mail')
          .values({
            id: m.key ?? newId('eml'),
            tenant_id: m.tenantId,
            recipient_hash: mailKey(deps, m.to),
            mail_sealed: piiFor(deps.masterKey).seal({ to: m.to, from, subject: m.subject, text: m.text }),
            created_at: deps.clock.now(),
          })
          .onConflict((oc) => oc.column('id').doNothing())
          .execute(),
      );
    },
  };
}

export type RecordedMessage = {
  id: string;
  tenantId: string | null;
  channel: MessageChannel;
  to: string;
  template: string;
  text: string;
  at: Date;
};
export type RecordedMail = {
  id: string;
  tenantId: string | null;
  to: string;
  from: string;
  subject: string;
  text: string;
  at: Date;
};

/** What the message sandbox recorded for a phone number, newest first. */
export async function sandboxMessagesTo(
  deps: Pick<Deps, 'db' | 'masterKey'>,
  to: string,
  limit = 20,
): Promise<RecordedMessage[]> {
  const rows = await deps.db
    .selectFrom('sandbox_message')
    .selectAll()
    .where('recipient_hash', '=', phoneKey(deps, to.replace(/\D/g, '')))
    .orderBy('seq', 'desc')
    .limit(limit)
    .execute();
  const pii = piiFor(deps.masterKey);
  return rows.map((r) => ({
    id: r.id,
    tenantId: r.tenant_id,
    channel: r.channel as MessageChannel,
    ...pii.open<{ to: string; template: string; text: string }>(r.message_sealed),
    at: r.created_at,
  }));
}

/** What the sandbox mailbox holds for an address, newest first. */
export async function mailboxFor(deps: Pick<Deps, 'db' | 'masterKey'>, address: string, limit = 20): Promise<RecordedMail[]> {
  const rows = await deps.db
    .selectFrom('sandbox_mail')
    .selectAll()
    .where('recipient_hash', '=', mailKey(deps, address))
    .orderBy('seq', 'desc')
    .limit(limit)
    .execute();
  const pii = piiFor(deps.masterKey);
  return rows.map((r) => ({
    id: r.id,
    tenantId: r.tenant_id,
    ...pii.open<{ to: string; from: string; subject: string; text: string }>(r.mail_sealed),
    at: r.created_at,
  }));
}
