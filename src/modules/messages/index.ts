// Public API of the messages module: the ports through which the product sends SMS, AlimTalk and
// e-mail, their sandboxes, the SMTP adapter, and the outbox topics that deliver after commit.
// The messaging module (campaigns, consent) is to build on these.

export type {
  MailProvider,
  MessageChannel,
  MessageProvider,
  OutgoingMail,
  OutgoingMessage,
} from './messages.provider.ts';
export { sandboxMessageRoutes } from './messages.routes.ts';
export {
  mailboxFor,
  noMessages,
  type RecordedMail,
  type RecordedMessage,
  sandboxMailbox,
  sandboxMessages,
  sandboxMessagesTo,
} from './messages.sandbox.ts';
export { enqueueMail, enqueueMessage, registerMessageHandlers } from './messages.service.ts';
export { type SmtpOptions, smtpMail } from './messages.smtp.ts';
export type { MessagesTables } from './messages.tables.ts';

/** The columns of this module that hold sealed personal data (for key rotation). */
export const MESSAGES_SEALED_COLUMNS = [
  { table: 'sandbox_message', keys: ['id'], column: 'message_sealed', domain: 'pii' },
  { table: 'sandbox_mail', keys: ['id'], column: 'mail_sealed', domain: 'pii' },
] as const;
