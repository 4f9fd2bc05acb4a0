import { ConfigError, type Config } from './config.ts';
import { sandboxIdentityProvider } from './modules/identity/index.ts';
import { sandboxSocialProvider } from './modules/members/index.ts';
import { sandboxPayments } from './modules/prepaid/index.ts';
import type { Deps, Providers } from './platform/deps.ts';

// The one place a provider is chosen: config.ts has already refused a sandbox where it is not
// allowed and a real provider without its settings; this builds what was chosen, once, for Deps.

/** Thrown for a provider whose adapter is not part of this build. */
const notInThisBuild = (what: string): never => {
  throw new ConfigError(`${what}: adapter not available in this build.`);
};

export function createProviders(config: Config, deps: Pick<Deps, 'db' | 'masterKey' | 'clock'>): Providers {
  const p = config.providers;
  const social: Providers['social'] = {};
  for (const name of p.social) {
    switch (name) {
      case 'sandbox':
        social.sandbox = sandboxSocialProvider(deps);
        break;
      case 'kakao':
        social.kakao = notInThisBuild('SOCIAL_PROVIDERS=kakao');
        break;
      case 'naver':
        social.naver = notInThisBuild('SOCIAL_PROVIDERS=naver');
        break;
    }
  }
  return {
    identity: p.identity === 'sandbox' ? sandboxIdentityProvider(deps) : notInThisBuild('IDENTITY_PROVIDER=portone'),
    social,
    payment: p.payment === 'sandbox' ? sandboxPayments : notInThisBuild('PAYMENT_PROVIDER=portone'),
  };
}
