// The message and mail ports: what the product sends to a phone (SMS, KakaoTalk AlimTalk) and to
// an e-mail address. Types only: the platform's Deps names them. The sandbox recorders are in
// messages.sandbox.ts, the SMTP adapter in messages.smtp.ts; src/providers.ts picks one of each
// from the configuration. Callers send through the outbox (messages.service.ts), never inside a
// transaction.

export type MessageChannel = 'sms' | 'alimtalk';

export type OutgoingMessage = {
  /** null: the platform's own (a platform operator's sign-in code). */
  tenantId: string | null;
  channel: MessageChannel;
  /** A Korean mobile number, digits only (01012345678). */
  to: string;
  /** The template's key: for AlimTalk the reviewed template the text was filled from. */
  template: string;
  text: string;
  /** The same for every delivery of one message (the outbox row): a provider sends it once. */
  key?: string;
};

export type MessageProvider = {
  /** 'sandbox', 'none', later a vendor's name. */
  readonly name: string;
  /** The channels it can send; empty: messages are off. */
  readonly channels: readonly MessageChannel[];
  send(message: OutgoingMessage): Promise<void>;
};

export type OutgoingMail = {
  tenantId: string | null;
  to: string;
  subject: string;
  text: string;
  /** The same for every delivery of one mail (the outbox row); becomes its Message-ID. */
  key?: string;
};

export type MailProvider = {
  /** 'smtp' or 'mailbox' (the sandbox). */
  readonly name: string;
  send(mail: OutgoingMail): Promise<void>;
};
