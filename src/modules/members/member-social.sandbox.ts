import type { Deps } from '../../platform/deps.ts';
import { escapeHtml } from '../../platform/http.ts';
import { AppError, fieldError } from '../../platform/errors.ts';
import { issueSandboxCode, SANDBOX_SOCIAL_ACCOUNTS, type SocialAccount, type SocialProviderName } from './member-social.provider.ts';
import * as socialRepo from './member-social.repository.ts';

// The sandbox OAuth provider's side: its authorize page and what the tester's choice does.

const LABEL: Record<SocialProviderName, string> = { naver: '네이버 Naver', kakao: '카카오 Kakao', payco: '페이코 PAYCO' };

export type AuthorizeQuery = { state: string; redirect_uri: string };

/** The state must be a live one with this redirect URI: the sandbox is never an open redirector. */
export async function checkAuthorize(deps: Pick<Deps, 'db' | 'clock'>, provider: SocialProviderName, q: AuthorizeQuery) {
  if (!(await socialRepo.findOpenState(deps.db, q.state, provider, q.redirect_uri, deps.clock.now()))) {
    throw new AppError('SOCIAL_STATE_INVALID', 'This sign-in request is unknown, expired or already used.');
  }
}

export function authorizePageHtml(provider: SocialProviderName, q: AuthorizeQuery, error?: string): string {
  const accounts = SANDBOX_SOCIAL_ACCOUNTS.map(
    (a, i) => `<label><input type="radio" name="account" value="${a.key}"${i === 0 ? ' checked' : ''}> ${escapeHtml(a.name)} · ${a.email}${a.emailVerified ? ' (verified)' : ''}</label>`,
  ).join('');
  return `<!doctype html><html lang="ko"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Moa SNS 로그인 샌드박스</title><style>body{font:15px/1.5 system-ui,sans-serif;max-width:560px;margin:2rem auto;padding:0 1rem}
fieldset{border:1px solid #d5d9e2;border-radius:8px;margin:1rem 0}label{display:block;margin:.3rem 0}.error{background:#fde2e2;padding:.5rem 1rem;border-radius:8px}
button{font-size:1rem;padding:.5rem 1.2rem;border-radius:8px;border:0;margin-right:.5rem}</style></head><body>
<h1>${LABEL[provider]} 로그인 샌드박스 · sandbox</h1>
<p>테스트용 화면입니다. A test provider: no real account is used.</p>
${error ? `<p class="error">${escapeHtml(error)}</p>` : ''}
<form method="post">
<input type="hidden" name="state" value="${escapeHtml(q.state)}"><input type="hidden" name="redirect_uri" value="${escapeHtml(q.redirect_uri)}">
<fieldset><legend>테스트 계정 · Test account</legend>${accounts}
<label><input type="radio" name="account" value="custom"> 직접 입력 · Type one:</label>
<label>ID <input type="text" name="id" maxlength="40"></label>
<label>이름 Name <input type="text" name="name" maxlength="50"></label>
<label>E-mail <input type="text" name="email" maxlength="100"></label>
</fieldset>
<button type="submit" name="decision" value="approve">동의하고 계속 · Approve</button>
<button type="submit" name="decision" value="deny">취소 · Cancel</button>
</form></body></html>`;
}

export type AuthorizeSubmission = AuthorizeQuery & { decision?: string; account?: string; id?: string; name?: string; email?: string };

/** Approve: a code for the chosen account; deny: error=access_denied. Returns where the browser goes. */
export async function submitAuthorize(deps: Pick<Deps, 'db' | 'clock' | 'masterKey'>, provider: SocialProviderName, s: AuthorizeSubmission): Promise<string> {
  await checkAuthorize(deps, provider, s);
  const back = new URL(s.redirect_uri);
  back.searchParams.set('state', s.state);
  if (s.decision !== 'approve') {
    back.searchParams.set('error', 'access_denied');
    return back.toString();
  }
  let account: SocialAccount;
  const chosen = SANDBOX_SOCIAL_ACCOUNTS.find((a) => a.key === s.account);
  if (chosen) {
    account = { providerUserId: `${provider}-${chosen.id}`, name: chosen.name, email: chosen.email, emailVerified: chosen.emailVerified };
  } else {
    if (!s.id || !/^[A-Za-z0-9_-]{1,40}$/.test(s.id)) throw fieldError('id', '1-40 letters, digits, _ or -');
    if (!s.name?.trim()) throw fieldError('name', 'required');
    account = { providerUserId: `${provider}-${s.id}`, name: s.name.trim(), email: s.email?.trim() || null, emailVerified: false };
  }
  back.searchParams.set('code', await issueSandboxCode(deps, provider, account));
  return back.toString();
}

/** The page when the request cannot be used (unknown, used or expired state). */
export const socialErrorHtml = (message: string) =>
  `<!doctype html><html lang="ko"><head><meta charset="utf-8"><title>Moa SNS 로그인 샌드박스</title></head><body><p>${escapeHtml(message)}</p></body></html>`;
