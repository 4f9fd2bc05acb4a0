import { createTransport } from 'nodemailer';
import type { MailProvider } from './messages.provider.ts';

// MAIL_PROVIDER=smtp: nodemailer towards SMTP_URL (smtp://user:pass@host:587, smtps://…:465;
// STARTTLS whenever the relay offers it). The timeouts stay well inside the outbox lease (60 s),
// so a slow relay fails this delivery and the retry starts afresh instead of overlapping it.

export type SmtpOptions = { url: string; from: string };

export function smtpMail(options: SmtpOptions): MailProvider {
  const transport = createTransport({
    url: options.url,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
  });
  const domain = /@([^>\s]+)>?\s*$/.exec(options.from)?.[1] ?? 'moa.localhost';
  return {
    name: 'smtp',
    async send(m) {
      await transport.sendMail({
        from: options.from,
        to: m.to,
        subject: m.subject,
        text: m.text,
        // A repeated delivery carries the same Message-ID, which mail systems recognise.
        ...(m.key ? { messageId: `<${m.key.replace(/[^\w.-]/g, '.')}@${domain}>` } : {}),
      });
    },
  };
}
