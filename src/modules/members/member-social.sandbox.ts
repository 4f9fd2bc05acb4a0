import { createHash } from 'node:crypto';
import type { Deps } from '../../platform/deps.ts';
import { AppError, fieldError } from '../../platform/errors.ts';
import { escapeHtml } from '../../platform/http.ts';
import { randomToken } from '../../platform/ids.ts';
import { piiFor } from '../../platform/pii.ts';
import type { SocialAccount, SocialProvider } from './member-social.provider.ts';
import * as socialRepo from './member-social.repository.ts';

// The sandbox OAuth provider (SOCIAL_PROVIDERS=sandbox): its authorize page, served by Moa at
// /sandbox/oauth/authorize only while it is configured, and its codes. Like a real provider it
// issues the account's subject itself: a tester picks a fixed test account or asks for a new one
// (a subject the server generates). No subject is ever taken from the form.

const CODE_TTL_MS = 10 * 60_000;

/** The sandbox provider's fixed test accounts: anyone can be them, so they stand for nobody real. */
export const SANDBOX_SOCIAL_ACCOUNTS = [
  { key: 'hong', providerUserId: 'sandbox-10001', name: '홍길동', email: 'gildong@example.com', emailVerified: true },
  { key: 'kim', providerUserId: 'sandbox-10002', name: '김민지', email: 'minji@example.com', emailVerified: false },
] as const;

/** A code binds the account to the one state it was issued for (single-use through that state). */
type SandboxCode = { account: SocialAccount; stateHash: string; expiresAt: number };
const stateHash = (state: string) => createHash('sha256').update(state).digest('base64url').slice(0, 22);

/**
 * The sandbox provider. Its codes are sealed, not stored: the state they are bound to is ours and
 * single-use, and nothing here touches the database, so an exchange made inside a transaction
 * (linking is idempotent) never waits on a second connection.
 */
export function sandboxSocialProvider(deps: Pick<Deps, 'masterKey' | 'clock'>): SocialProvider {
  return {
    name: 'sandbox',
    authorizeUrl: async (state, redirectUri) =>
      `/sandbox/oauth/authorize?${new URLSearchParams({ response_type: 'code', state, redirect_uri: redirectUri })}`,
    async exchange({ code, state }) {
      let opened: SandboxCode;
      try {
        opened = piiFor(deps.masterKey).open<SandboxCode>(code);
      } catch {
        throw new AppError('SOCIAL_CODE_INVALID', 'The authorization code is unknown, used or expired.');
      }
      if (opened.stateHash !== stateHash(state) || opened.expiresAt <= deps.clock.now().getTime()) {
        throw new AppError('SOCIAL_CODE_INVALID', 'The authorization code is unknown, used or expired.');
      }
      return opened.account;
    },
  };
}

export type AuthorizeQuery = { state: string; redirect_uri: string };

/** The state must be a live one with this redirect URI: the sandbox is never an open redirector. */
export async function checkAuthorize(deps: Pick<Deps, 'db' | 'clock'>, q: AuthorizeQuery) {
  if (!(await socialRepo.findOpenState(deps.db, q.state, 'sandbox', q.redirect_uri, deps.clock.now()))) {
    throw new AppError('SOCIAL_STATE_INVALID', 'This sign-in request is unknown, expired or already used.');
  }
}

export function authorizePageHtml(q: AuthorizeQuery, error?: string): string {
  const accounts = SANDBOX_SOCIAL_ACCOUNTS.map(
    (a, i) =>
      `<label><input type="radio" name="account" value="${a.key}"${i === 0 ? ' checked' : ''}> ${escapeHtml(a.name)} · ${a.email}${a.emailVerified ? ' (verified)' : ''}</label>`,
  ).join('');
  return `<!doctype html><html lang="ko"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Moa SNS 로그인 샌드박스</title><style>body{font:15px/1.5 system-ui,sans-serif;max-width:560px;margin:2rem auto;padding:0 1rem}
fieldset{border:1px solid #d5d9e2;border-radius:8px;margin:1rem 0}label{display:block;margin:.3rem 0}.error{background:#fde2e2;padding:.5rem 1rem;border-radius:8px}
button{font-size:1rem;padding:.5rem 1.2rem;border-radius:8px;border:0;margin-right:.5rem}</style></head><body>
<h1>SNS 로그인 샌드박스 · sandbox</h1>
<p>테스트용 화면입니다. A test provider: no real account is used.</p>
${error ? `<p class="error">${escapeHtml(error)}</p>` : ''}
<form method="post">
<input type="hidden" name="state" value="${escapeHtml(q.state)}"><input type="hidden" name="redirect_uri" value="${escapeHtml(q.redirect_uri)}">
<fieldset><legend>테스트 계정 · Test account</legend>${accounts}
<label><input type="radio" name="account" value="new"> 새 테스트 계정 · A new test account (its ID is issued by the provider)</label>
<label>이름 Name <input type="text" name="name" maxlength="50"></label>
</fieldset>
<button type="submit" name="decision" value="approve">동의하고 계속 · Approve</button>
<button type="submit" name="decision" value="deny">취소 · Cancel</button>
</form></body></html>`;
}

export type AuthorizeSubmission = AuthorizeQuery & { decision?: string; account?: string; name?: string };

/** Approve: a code for the chosen (or a new) account; deny: error=access_denied. Returns where the browser goes. */
export async function submitAuthorize(deps: Pick<Deps, 'db' | 'clock' | 'masterKey'>, s: AuthorizeSubmission): Promise<string> {
  await checkAuthorize(deps, s);
  const back = new URL(s.redirect_uri);
  back.searchParams.set('state', s.state);
  if (s.decision !== 'approve') {
    back.searchParams.set('error', 'access_denied');
    return back.toString();
  }
  let account: SocialAccount;
  const chosen = SANDBOX_SOCIAL_ACCOUNTS.find((a) => a.key === s.account);
  if (chosen) {
    const { key: _key, ...fixed } = chosen;
    account = fixed;
  } else if (s.account === 'new') {
    const name = s.name?.trim() || '테스트 사용자';
    if (name.length > 50) throw fieldError('name', 'at most 50 characters');
    account = { providerUserId: `sandbox-${randomToken(20)}`, name, email: null, emailVerified: false };
  } else {
    throw fieldError('account', `one of ${SANDBOX_SOCIAL_ACCOUNTS.map((a) => a.key).join(', ')}, or new`);
  }
  const code: SandboxCode = { account, stateHash: stateHash(s.state), expiresAt: deps.clock.now().getTime() + CODE_TTL_MS };
  back.searchParams.set('code', piiFor(deps.masterKey).seal(code));
  return back.toString();
}

/** The page when the request cannot be used (unknown, used or expired state). */
export const socialErrorHtml = (message: string) =>
  `<!doctype html><html lang="ko"><head><meta charset="utf-8"><title>Moa SNS 로그인 샌드박스</title></head><body><p>${escapeHtml(message)}</p></body></html>`;
