// The operator login page (GET /login) in a real browser (Debian's chromium through playwright-core):
// an invitation → password → TOTP enrolment (the code computed here from the key the page shows)
// → recovery codes → sign-out → password + TOTP → a passkey registered on a CDP virtual
// authenticator → sign-out → password + passkey → a passkey alone → English after the switch.
// Korean by default. Screenshots of each step go to a temporary folder removed afterwards, or to
// MOA_SCREENSHOTS (kept) to look at them.
//
// The page is opened at http://localhost: loopback is a secure context, so Chromium keeps the
// `__Host-` Secure cookie over plain HTTP there (http://127.0.0.1 too), and WebAuthn needs a
// domain as its relying party id, which an IP address is not.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { bearer, newTenant, OPERATOR_PASSWORD, signedInOperator, testApp } from '../../../test/helpers.ts';
import type { Clock } from '../../platform/clock.ts';
import type { Deps } from '../../platform/deps.ts';
import { PERMISSIONS } from '../../platform/request-context.ts';
import { mailboxFor, registerMessageHandlers, sandboxMessagesTo } from '../messages/index.ts';
import { totpCode } from './operator-totp.rules.ts';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);

// The server's clock: TOTP accepts each 30-second step once, so the test moves time on instead of waiting.
let now = new Date();
const clock: Clock = { now: () => new Date(now) };
const nextStep = () => {
  now = new Date(now.getTime() + 30_000);
};

const keep = process.env.MOA_SCREENSHOTS;
const shots = keep ?? mkdtempSync(join(tmpdir(), 'moa-login-'));
let app: FastifyInstance;
let deps: Deps;
let browser: Browser;
let base: string;

before(async () => {
  if (!hasChromium) return;
  mkdirSync(shots, { recursive: true });
  ({ app, deps } = await testApp({ clock }));
  registerMessageHandlers(deps);
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://localhost:${new URL(address).port}`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});
after(async () => {
  await browser?.close();
  await app?.close();
  if (!keep) rmSync(shots, { recursive: true, force: true });
});

const PASSWORD = '초록 우산 들고 한강 걷기 2026';

let step = 0;
async function shot(page: Page, name: string) {
  await page.screenshot({ path: join(shots, `${String(++step).padStart(2, '0')}-${name}.png`), fullPage: true });
}
const visible = (page: Page, view: string) => page.locator(`#view-${view}`).waitFor({ state: 'visible', timeout: 15_000 });
const text = async (page: Page, selector: string) => ((await page.textContent(selector)) ?? '').trim();

async function signInWithPassword(page: Page, email: string) {
  await visible(page, 'login');
  await page.fill('#login-email', email);
  await page.fill('#login-password', PASSWORD);
  await page.click('#view-login button[type=submit]');
  await visible(page, 'factor');
}

async function virtualAuthenticator(context: BrowserContext, page: Page) {
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return {
    credentials: async () => (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials,
  };
}

test('the login page: invitation, TOTP enrolment, recovery codes, password + TOTP, a passkey registered and used, Korean then English', {
  skip: hasChromium ? false : `needs ${CHROMIUM} (apt-get install chromium)`,
  timeout: 180_000,
}, async () => {
  const t = await newTenant(deps, '모아 커피');
  const email = `browser.${Date.now().toString(36)}@moacafe.kr`;
  const invited = await app.inject({
    method: 'POST',
    url: '/v1/operators/invitations',
    headers: bearer(t.keys.server),
    payload: { email, name: '김민지', role: 'owner' },
  });
  assert.equal(invited.statusCode, 201, invited.body);

  const context = await browser.newContext({ viewport: { width: 1024, height: 820 } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(e.message));
  const requested: string[] = [];
  page.on('request', (r) => requested.push(r.url()));
  const authenticator = await virtualAuthenticator(context, page);

  // The invitation link: Korean by default.
  const response = await page.goto(`${base}/login#invitation=${invited.json().token}`);
  const csp = response!.headers()['content-security-policy']!;
  assert.match(csp, /default-src 'none'; script-src 'sha256-[^']+'; style-src 'sha256-[^']+'/);
  await visible(page, 'invite');
  assert.equal(await page.getAttribute('html', 'lang'), 'ko');
  assert.equal(await text(page, '#view-invite h1'), '초대 수락');
  assert.match(await text(page, '#invite-lead'), /김민지님, Moa 콘솔에 ‘대표 관리자’ 역할로 초대되었습니다/);
  assert.equal(await page.inputValue('#invite-email'), email);
  await shot(page, 'invitation');

  // A leaked password is refused with the reason, in Korean.
  await page.fill('#invite-password', 'password123');
  await page.fill('#invite-confirm', 'password123');
  await page.click('#view-invite button[type=submit]');
  await page.locator('#msg').getByText('유출된 비밀번호').waitFor();
  await shot(page, 'invitation-refused');
  await page.fill('#invite-password', PASSWORD);
  await page.fill('#invite-confirm', PASSWORD);
  await page.click('#view-invite button[type=submit]');

  // TOTP enrolment: the QR code and the key; the code computed from the key the page shows.
  await visible(page, 'enrol');
  assert.equal(new URL(page.url()).hash, '', 'the used token leaves the address bar');
  assert.equal(await page.locator('#msg').isHidden(), true, 'the earlier refusal is gone');
  const qr = await page.getAttribute('#enrol-qr', 'src');
  assert.match(qr ?? '', /^data:image\/svg\+xml/);
  assert.ok(
    await page
      .locator('#enrol-qr')
      .evaluate((img) => (img as unknown as { complete: boolean; naturalWidth: number }).naturalWidth > 0),
  );
  const secret = (await text(page, '#enrol-secret')).replace(/\s/g, '');
  assert.match(secret, /^[A-Z2-7]{32}$/);
  await shot(page, 'totp-enrolment');
  await page.fill('#enrol-code', totpCode(secret, now));
  await page.click('#view-enrol button[type=submit]');

  // Ten recovery codes, once; continuing needs the box ticked.
  await visible(page, 'codes');
  const codes = await page.locator('#codes-list li').allTextContents();
  assert.equal(codes.length, 10);
  for (const c of codes) assert.match(c, /^[0-9a-f]{5}-[0-9a-f]{5}$/);
  assert.equal(await page.isDisabled('#codes-continue'), true);
  await shot(page, 'recovery-codes');
  await page.check('#codes-saved');
  await page.click('#codes-continue');

  // Signed in: who, the brand, the role and its permissions.
  await visible(page, 'home');
  assert.equal(await text(page, '#home-title'), '김민지님, 환영합니다');
  assert.equal(await text(page, '#home-email'), email);
  assert.equal(await text(page, '#home-brand'), '모아 커피');
  assert.equal(await text(page, '#home-role'), '대표 관리자');
  const permissions = await page.locator('#home-permissions li').allTextContents();
  assert.equal(permissions.length, PERMISSIONS.length, 'the owner has every permission');
  assert.ok(permissions.includes('운영자 관리') && permissions.includes('개인정보 열람'));
  assert.equal(await text(page, '#home-recovery'), '남은 복구 코드 10개');
  assert.equal(await page.locator('#home-no-passkeys').isVisible(), true);
  await shot(page, 'signed-in');

  await page.click('#home-logout');
  await visible(page, 'login');
  assert.equal(await text(page, '#msg'), '로그아웃했습니다.');
  assert.equal(await page.inputValue('#login-email'), email, 'the e-mail is kept for the next sign-in');
  await shot(page, 'signed-out');

  // A wrong password, then password + TOTP.
  await page.fill('#login-email', email);
  await page.fill('#login-password', 'not my password at all');
  await page.click('#view-login button[type=submit]');
  await page.locator('#msg').getByText('이메일 또는 비밀번호가 올바르지 않습니다.').waitFor();
  await shot(page, 'wrong-password');
  await signInWithPassword(page, email);
  assert.equal(await text(page, '#factor-title'), '2단계 인증');
  await shot(page, 'second-factor');
  nextStep();
  await page.fill('#factor-code', totpCode(secret, now));
  await page.click('#view-factor button[type=submit]');
  await visible(page, 'home');

  // A passkey, on the virtual authenticator.
  await page.click('#home-register');
  await page.locator('#msg').getByText('패스키를 등록했습니다').waitFor();
  assert.equal(await page.locator('#home-passkeys li').count(), 1);
  assert.match(await text(page, '#home-passkeys .name'), /^Chrome · Linux$/);
  const [credential] = await authenticator.credentials();
  assert.ok(credential?.isResidentCredential, 'discoverable');
  await shot(page, 'passkey-registered');

  // Password + passkey.
  await page.click('#home-logout');
  await signInWithPassword(page, email);
  await page.click('#factor-passkey');
  await visible(page, 'home');
  // CDP gives the credential id in base64; the server keeps base64url.
  const credentialId = Buffer.from(credential.credentialId, 'base64').toString('base64url');
  const counter = async () =>
    Number(
      (
        await sql<{ n: number }>`select sign_count as n from operator_passkey where credential_id = ${credentialId}`.execute(
          deps.db,
        )
      ).rows[0]?.n,
    );
  const afterSecondFactor = await counter();
  assert.ok(afterSecondFactor >= 1, `the counter is kept (${afterSecondFactor})`);
  assert.match(await text(page, '#home-passkeys .meta'), /최근 사용 \d{4}/);
  await shot(page, 'signed-in-with-passkey');

  // A passkey alone (it verified its user: both factors).
  await page.click('#home-logout');
  await visible(page, 'login');
  await page.click('#login-passkey');
  await visible(page, 'home');
  assert.ok((await counter()) > afterSecondFactor, 'the counter went up again');

  // Sixteen minutes on, new recovery codes need a step-up first: the passkey gives it.
  const afterSignIn = await counter();
  now = new Date(now.getTime() + 16 * 60_000);
  await page.click('#home-regenerate');
  await visible(page, 'factor');
  assert.equal(await text(page, '#factor-title'), '본인 확인');
  assert.equal(await text(page, '#factor-back'), '취소');
  await shot(page, 'step-up');
  await page.click('#factor-passkey');
  await visible(page, 'codes');
  assert.ok((await counter()) > afterSignIn, 'the step-up used the passkey');
  const renewed = await page.locator('#codes-list li').allTextContents();
  assert.equal(renewed.length, 10);
  assert.notDeepEqual(renewed, codes);
  await page.check('#codes-saved');
  await page.click('#codes-continue');
  await visible(page, 'home');

  // English after the switch, kept across a reload.
  await page.click('#lang');
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  assert.equal(await text(page, '#home-title'), 'Welcome, 김민지');
  assert.equal(await text(page, '#home-role'), 'Owner');
  assert.ok((await page.locator('#home-permissions li').allTextContents()).includes('Manage operators'));
  assert.equal(await text(page, '#home-logout'), 'Sign out');
  assert.equal(await text(page, '#lang'), '한국어');
  await shot(page, 'signed-in-english');
  await page.reload();
  await visible(page, 'home');
  assert.equal(await text(page, '#home-recovery'), '10 recovery codes left');

  await page.click('#home-logout-everywhere');
  await visible(page, 'login');
  assert.equal(await text(page, '#msg'), 'You are signed out on every device.');
  assert.equal(await text(page, '#view-login h1'), 'Sign in');
  await shot(page, 'signed-out-english');
  await signInWithPassword(page, email);
  assert.equal(await text(page, '#factor-title'), 'Two-step verification');
  await page.click('#tab-recovery');
  assert.match(await text(page, '#factor-lead'), /recovery codes you saved/);
  await page.fill('#factor-code', renewed[0]!);
  await page.click('#view-factor button[type=submit]');
  await visible(page, 'home');
  assert.equal(await text(page, '#home-recovery'), '9 recovery codes left');
  await page.click('#lang');
  assert.equal(await text(page, '#home-recovery'), '남은 복구 코드 9개');
  // A phone's width: one column, nothing cut off.
  await page.setViewportSize({ width: 390, height: 844 });
  assert.ok(await page.locator('html').evaluate((html) => html.scrollWidth <= 390), 'no sideways scrolling');
  await shot(page, 'signed-in-phone');

  const origin = new URL(base).origin;
  assert.deepEqual(
    requested.filter((u) => !u.startsWith(origin) && !u.startsWith('data:')),
    [],
    'every request goes to this server',
  );
  // The wrong password (401), the leaked one (422) and the step-up asked for (403): the browser logs
  // those answers; nothing else.
  assert.deepEqual(
    problems.filter((p) => !/status of (401|403|422)/.test(p)),
    [],
    'no script error and no CSP violation',
  );
  await context.close();

  // The invitation link once more, in another browser: it says why it cannot be used.
  const other = await browser.newContext();
  const again = await other.newPage();
  await again.goto(`${base}/login#invitation=${invited.json().token}`);
  await visible(again, 'login');
  assert.equal(await text(again, '#msg'), '이미 수락한 초대입니다. 로그인하세요.');
  assert.equal(new URL(again.url()).hash, '');
  await shot(again, 'invitation-used');
  await other.close();
});

test('the login page without the authenticator app: a phone registered, a code by SMS, then emergency recovery by e-mail', {
  skip: hasChromium ? false : `needs ${CHROMIUM} (apt-get install chromium)`,
  timeout: 180_000,
}, async () => {
  const t = await newTenant(deps, '모아 베이커리');
  const owner = await signedInOperator(app, t, 'owner', now);
  await signedInOperator(app, t, 'admin', now); // told of the recovery
  const deliver = async () => {
    while ((await deps.outbox.runOnce()) > 0);
  };
  const smsCode = async (to: string) => {
    await deliver();
    const [m] = await sandboxMessagesTo(deps, to, 1);
    assert.ok(m, `a text to ${to}`);
    return /\b(\d{6})\b/.exec(m.text)![1]!;
  };

  const context = await browser.newContext({ viewport: { width: 1024, height: 900 } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(e.message));
  await page.goto(`${base}/login`);
  await visible(page, 'login');
  await page.fill('#login-email', owner.email);
  await page.fill('#login-password', OPERATOR_PASSWORD);
  await page.click('#view-login button[type=submit]');
  await visible(page, 'factor');
  assert.equal(await page.locator('#tab-phone').isHidden(), true, 'no phone yet: no text-code tab');
  nextStep();
  await page.fill('#factor-code', totpCode(owner.secret, now));
  await page.click('#view-factor button[type=submit]');
  await visible(page, 'home');
  assert.equal(await text(page, '#home-phone'), '등록된 휴대폰이 없습니다');

  // A phone for codes: a code to the new number confirms it.
  const mobile = `010${String(Date.now() % 1e8).padStart(8, '0')}`;
  await page.click('#home-phone-edit');
  await page.fill('#phone-number', `${mobile.slice(0, 3)}-${mobile.slice(3, 7)}-${mobile.slice(7)}`);
  await page.click('#phone-send');
  await page.locator('#msg').getByText('문자를 보냈습니다').waitFor();
  await page.fill('#phone-code', await smsCode(mobile));
  await shot(page, 'phone-code-entered');
  await page.click('#phone-confirm');
  await page.locator('#msg').getByText('등록했습니다').waitFor();
  const masked = `010-****-${mobile.slice(7)}`;
  assert.equal(await text(page, '#home-phone'), masked);
  assert.equal(await page.locator('#home-phone-form').isHidden(), true);
  await shot(page, 'phone-registered');

  // Signing in with a code by SMS instead of the app; a second code must wait 60 seconds.
  await page.click('#home-logout');
  await visible(page, 'login');
  await page.fill('#login-password', OPERATOR_PASSWORD);
  await page.click('#view-login button[type=submit]');
  await visible(page, 'factor');
  await page.click('#tab-phone');
  assert.match(await text(page, '#factor-lead'), new RegExp(`등록된 휴대폰 ${masked.replace(/\*/g, '\\*')}`));
  await page.click('#factor-send-sms');
  await page.locator('#msg').getByText(`${masked}(으)로 문자를 보냈습니다`).waitFor();
  assert.match(await text(page, '#factor-send-sms'), /^\d+초 후 다시 보내기$/);
  assert.equal(await page.isDisabled('#factor-send-sms'), true);
  await shot(page, 'sms-code-sent');
  await page.fill('#factor-code', await smsCode(mobile));
  await page.click('#view-factor button[type=submit]');
  await visible(page, 'home');

  // Neither phone nor app at hand: a single-use link to the registered e-mail.
  await page.click('#home-logout');
  await visible(page, 'login');
  await page.fill('#login-password', OPERATOR_PASSWORD);
  await page.click('#view-login button[type=submit]');
  await visible(page, 'factor');
  await page.click('#factor-email-recovery');
  await page.locator('#msg').getByText('비상 복구 링크를').waitFor();
  assert.match(await text(page, '#msg'), /^비상 복구 링크를 op\*+@moacafe\.kr\(으\)로 보냈습니다/);
  await shot(page, 'recovery-link-sent');
  await deliver();
  const [mail] = await mailboxFor(deps, owner.email, 1);
  const link = /(http:\/\/\S+\/login#recovery=oer_[\w-]+)/.exec(mail!.text)![1]!;
  assert.equal(new URL(link).origin, base.replace('localhost', new URL(link).hostname));

  // The link, opened in the same browser: every factor is gone, a new app is enrolled.
  await page.goto(`${base}/login${new URL(link).hash}`);
  await visible(page, 'enrol');
  assert.equal(new URL(page.url()).hash, '', 'the used token leaves the address bar');
  assert.match(await text(page, '#msg'), /비상 복구가 완료되었습니다/);
  await shot(page, 'recovered-enrol');
  assert.deepEqual(problems, [], 'no script error');
  await context.close();
  // Once only: in another browser the link says why it cannot be used.
  const other = await browser.newContext();
  const again = await other.newPage();
  await again.goto(`${base}/login${new URL(link).hash}`);
  await visible(again, 'login');
  assert.match(await text(again, '#msg'), /이 복구 링크는 쓸 수 없습니다/);
  await shot(again, 'recovery-link-used');
  await other.close();
});
