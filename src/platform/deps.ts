import type { Logger } from 'pino';
import type { Config, SocialProviderName } from '../config.ts';
// The providers' interfaces, by type only (files with no imports back here: no cycle).
import type { IdentityProvider } from '../modules/identity/identity.provider.ts';
import type { SocialProvider } from '../modules/members/member-social.provider.ts';
import type { MailProvider, MessageProvider } from '../modules/messages/messages.provider.ts';
import type { PaymentProvider } from '../modules/prepaid/prepaid.provider.ts';
import type { Clock } from './clock.ts';
import type { Db } from './db.ts';
import type { OutboxWorker } from './outbox.ts';

/**
 * Everything a service may need, built once in main.ts (or a test) and passed down explicitly.
 * A service that runs inside another's transaction gets `{ ...deps, db: trx }`.
 */
export type Deps = {
  config: Config;
  db: Db;
  log: Logger;
  clock: Clock;
  outbox: OutboxWorker;
  /** Encrypts personal data at rest (MOA_MASTER_KEY, or the generated key of an embedded install). */
  masterKey: Buffer;
  /** The external providers, chosen by configuration and built once (src/providers.ts). */
  providers: Providers;
};

export type Providers = {
  /** IDENTITY_PROVIDER */
  identity: IdentityProvider;
  /** SOCIAL_PROVIDERS, by name; a name that is absent is not enabled. */
  social: Partial<Record<SocialProviderName, SocialProvider>>;
  /** PAYMENT_PROVIDER */
  payment: PaymentProvider;
  /** MESSAGE_PROVIDER: SMS and AlimTalk (`channels` is empty when they are off). */
  messages: MessageProvider;
  /** MAIL_PROVIDER: SMTP, or the sandbox mailbox. */
  mail: MailProvider;
};
