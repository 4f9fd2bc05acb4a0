import { escapeHtml } from '../../platform/http.ts';
import { CARRIERS } from './identity.rules.ts';
import { SANDBOX_OUTCOMES, SANDBOX_PEOPLE } from './identity.sandbox.ts';
import type { IdentityVerificationRow } from './identity.tables.ts';

// The sandbox provider's page, in Korean and English. Plain HTML, no script: it must work in any
// browser a tester has, and in a test that only posts the form.

const PURPOSE_LABEL: Record<string, string> = {
  signup: '회원가입 Sign-up',
  find_id: '아이디 찾기 Find ID',
  reset_password: '비밀번호 재설정 Reset password',
  change_phone: '휴대폰 번호 변경 Change phone',
  age_check: '연령 확인 Age check',
  promotion_entry: '이벤트 응모 Promotion entry',
  reactivate: '휴면 해제 Reactivate a dormant account',
};

const OUTCOME_LABEL: Record<string, string> = {
  success: '인증 성공 Success',
  PHONE_NOT_OWN_NAME: '본인 명의가 아닌 휴대폰 (가족 명의) Phone in another person’s name',
  CORPORATE_PHONE: '법인 명의 휴대폰 Corporate phone',
  PREPAID_PHONE: '선불 휴대폰 Prepaid phone',
  VERIFICATION_CANCELLED: '사용자가 취소 Cancelled by the person',
  VERIFICATION_TIMED_OUT: '시간 초과 Timed out',
  PROVIDER_ERROR: '인증기관 오류 Provider error',
};

const STYLE = `body{font:15px/1.5 system-ui,'Apple SD Gothic Neo','Malgun Gothic',sans-serif;max-width:640px;margin:2rem auto;padding:0 1rem;color:#1d2433}
h1{font-size:1.3rem}fieldset{border:1px solid #d5d9e2;border-radius:8px;margin:1rem 0;padding:.5rem 1rem}
label{display:block;margin:.3rem 0}.note{background:#fff6db;border-radius:8px;padding:.6rem 1rem}.error{background:#fde2e2;border-radius:8px;padding:.6rem 1rem}
input[type=text],input[type=date],select{padding:.3rem;min-width:14rem}button{font-size:1rem;padding:.5rem 1.5rem;border-radius:8px;border:0;background:#2f5bea;color:#fff}`;

const TITLE = 'Moa 본인확인 샌드박스';
const HEADING = '<h1>본인확인 샌드박스 · Identity verification sandbox</h1>';

function pageHtml(body: string): string {
  return `<!doctype html><html lang="ko"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${TITLE}</title><style>${STYLE}</style></head><body>${body}</body></html>`;
}

export function sandboxFormHtml(v: IdentityVerificationRow, tenantName: string, error?: string): string {
  const people = SANDBOX_PEOPLE.map(
    (p, i) =>
      `<label><input type="radio" name="person" value="${p.key}"${i === 0 ? ' checked' : ''}> ${escapeHtml(p.name)} · ${p.birthDate} · ${p.gender === 'male' ? '남 M' : '여 F'} · ${p.nationality === 'domestic' ? '내국인' : '외국인 foreign'} · ${p.carrier}</label>`,
  ).join('');
  const outcomes = SANDBOX_OUTCOMES.map(
    (o, i) =>
      `<label><input type="radio" name="outcome" value="${o}"${i === 0 ? ' checked' : ''}> ${escapeHtml(OUTCOME_LABEL[o]!)}</label>`,
  ).join('');
  const carriers = CARRIERS.map((c) => `<option>${c}</option>`).join('');
  return pageHtml(
    `${HEADING}
<p class="note">테스트용 인증 화면입니다. 실제 본인확인은 이루어지지 않습니다.<br>A test provider: nobody is really verified here.</p>
${error ? `<p class="error">${escapeHtml(error)}</p>` : ''}
<p><b>${escapeHtml(tenantName)}</b> · ${escapeHtml(PURPOSE_LABEL[v.purpose] ?? v.purpose)} · ${v.method === 'ipin' ? '아이핀 i-PIN' : '휴대폰 Phone'} · ${v.mode === 'preview' ? '미리보기 preview' : '실제 live'}</p>
<form method="post">
<fieldset><legend>테스트 인물 · Test person</legend>${people}
<label><input type="radio" name="person" value="new"> 새 테스트 인물 · A new test person (CI, DI and phone number are issued at random):</label>
<label>이름 Name <input type="text" name="name" maxlength="50"></label>
<label>생년월일 Birth date <input type="date" name="birthDate"></label>
<label>성별 Gender <select name="gender"><option value="male">남 Male</option><option value="female">여 Female</option></select></label>
<label>내외국인 Nationality <select name="nationality"><option value="domestic">내국인 Domestic</option><option value="foreign">외국인 Foreign</option></select></label>
<label>통신사 Carrier <select name="carrier">${carriers}</select></label>
</fieldset>
<fieldset><legend>결과 · Outcome</legend>${outcomes}</fieldset>
<button type="submit">확인 · Continue</button>
</form>`,
  );
}

/** The page when the request cannot be used (unknown, used, expired). */
export const sandboxErrorHtml = (message: string) => pageHtml(`${HEADING}<p class="error">${escapeHtml(message)}</p>`);
