import { hkdfSync } from 'node:crypto';
import { type Config, ConfigError } from './config.ts';
import { portoneIdentityProvider, sandboxIdentityProvider } from './modules/identity/index.ts';
import { kakaoSocialProvider, naverSocialProvider, sandboxSocialProvider } from './modules/members/index.ts';
import { noMessages, sandboxMailbox, sandboxMessages, smtpMail } from './modules/messages/index.ts';
import { portonePayments, sandboxPayments } from './modules/prepaid/index.ts';
import type { Deps, Providers } from './platform/deps.ts';

// The one place a provider is chosen: config.ts has already refused a sandbox where it is not
// allowed and a real provider without its settings; this builds what was chosen, once, for Deps.

/** A setting config.ts has already required for the chosen provider (checked again for the types). */
const required = (value: string | undefined, name: string): string => {
  if (value === undefined) throw new ConfigError(`${name} is required by the configured provider.`);
  return value;
};

export function createProviders(config: Config, deps: Pick<Deps, 'db' | 'masterKey' | 'clock'>): Providers {
  const p = config.providers;
  const portone = () => ({
    apiSecret: required(p.portone.apiSecret, 'PORTONE_API_SECRET'),
    baseUrl: p.portone.apiBaseUrl,
    storeId: required(p.portone.storeId, 'PORTONE_STORE_ID'),
  });
  const social: Providers['social'] = {};
  for (const name of p.social) {
    switch (name) {
      case 'sandbox':
        social.sandbox = sandboxSocialProvider(deps);
        break;
      case 'kakao':
        social.kakao = kakaoSocialProvider({
          issuer: p.kakao.issuer,
          clientId: required(p.kakao.clientId, 'KAKAO_CLIENT_ID'),
          clientSecret: required(p.kakao.clientSecret, 'KAKAO_CLIENT_SECRET'),
          // PKCE verifiers and nonces are keyed hashes of the state under a key of their own.
          stateSecret: Buffer.from(hkdfSync('sha256', deps.masterKey, '', 'moa social oauth state', 32)),
        });
        break;
      case 'naver':
        social.naver = naverSocialProvider({
          clientId: required(p.naver.clientId, 'NAVER_CLIENT_ID'),
          clientSecret: required(p.naver.clientSecret, 'NAVER_CLIENT_SECRET'),
          authBaseUrl: p.naver.authBaseUrl,
          apiBaseUrl: p.naver.apiBaseUrl,
        });
        break;
    }
  }
  return {
    identity: p.identity === 'sandbox' ? sandboxIdentityProvider(deps) : portoneIdentityProvider(portone()),
    social,
    payment: p.payment === 'sandbox' ? sandboxPayments : portonePayments(portone()),
    messages: p.messages === 'sandbox' ? sandboxMessages(deps) : noMessages,
    mail:
      p.mail.provider === 'smtp'
        ? smtpMail({ url: required(p.mail.smtpUrl, 'SMTP_URL'), from: p.mail.from })
        : sandboxMailbox(deps, p.mail.from),
  };
}
