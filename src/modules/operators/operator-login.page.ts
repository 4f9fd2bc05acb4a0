import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyPluginAsync } from 'fastify';
import { escapeHtml } from '../../platform/http.ts';
import { LOGIN_TEXT, type LoginTextKey } from './operator-login.i18n.ts';

// GET /login: a minimal operator sign-in page served by the server (the console replaces it):
// e-mail and password, a second factor (TOTP, a code by SMS/AlimTalk, recovery code or passkey),
// emergency e-mail recovery (the link comes back as /login#recovery=<token>), a signed-in page
// (passkeys, phone, recovery codes), and the invitation at /login#invitation=<token> (password,
// TOTP enrolment, recovery codes). One HTML
// document, no build step: its script (operator-login.page.js) and style (operator-login.page.css)
// are inline and allowed by their hashes alone; it talks to /auth only, as the console will.
// Korean first, English on a switch; the words are in operator-login.i18n.ts.

const read = (file: string) => readFileSync(new URL(file, import.meta.url), 'utf8');
const SCRIPT = read('./operator-login.page.js');
const STYLE = read('./operator-login.page.css');
const hashOf = (s: string) => `'sha256-${createHash('sha256').update(s).digest('base64')}'`;

/** Scripts and styles by hash only, requests to this origin only, no frames, no forms posting anywhere. */
export const LOGIN_PAGE_CSP = [
  "default-src 'none'",
  `script-src ${hashOf(SCRIPT)}`,
  `style-src ${hashOf(STYLE)}`,
  // The TOTP QR code and the icon are SVG data: URLs (images: they cannot run script).
  'img-src data:',
  "connect-src 'self'",
  "form-action 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join('; ');

const LOGO = `<svg width="30" height="30" viewBox="0 0 36 36" aria-hidden="true"><circle cx="18" cy="18" r="16" fill="#ff6b35"/><circle cx="18" cy="18" r="7" fill="#fff"/></svg>`;
const KEY = `<svg width="18" height="18" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><circle cx="8" cy="15" r="4"/><path d="M10.8 12.2 20 3m-3 3 3 3m-6 0 2 2"/></svg>`;

// Elements with data-t are written empty here and filled in Korean below (and by the script on a switch).
const BODY = `<main class="shell">
<header class="top">
  <div class="brand">${LOGO}<span data-t="app.title"></span></div>
  <button id="lang" class="lang" type="button" data-t="lang.switch"></button>
</header>
<section class="card">
  <p id="msg" class="msg" role="alert" hidden></p>
  <p id="view-loading" class="view lead" data-t="common.loading"></p>

  <form id="view-login" class="view" hidden novalidate>
    <h1 data-t="login.title"></h1>
    <p class="lead" data-t="login.lead"></p>
    <label class="field"><span data-t="login.email"></span><input id="login-email" type="email" autocomplete="username" required></label>
    <label class="field"><span data-t="login.password"></span><input id="login-password" type="password" autocomplete="current-password" required></label>
    <button class="primary" type="submit" data-t="login.submit"></button>
    <div class="divider"><span data-t="common.or"></span></div>
    <button id="login-passkey" class="secondary" type="button">${KEY}<span data-t="login.passkey"></span></button>
    <p class="help" data-t="login.help"></p>
  </form>

  <form id="view-factor" class="view" hidden novalidate>
    <h1 id="factor-title"></h1>
    <p id="factor-lead" class="lead"></p>
    <div class="tabs" role="tablist">
      <button id="tab-totp" type="button" role="tab" aria-selected="true" data-t="factor.tab.totp"></button>
      <button id="tab-phone" type="button" role="tab" aria-selected="false" data-t="factor.tab.phone" hidden></button>
      <button id="tab-recovery" type="button" role="tab" aria-selected="false" data-t="factor.tab.recovery"></button>
    </div>
    <div id="factor-send" class="actions" hidden>
      <button id="factor-send-sms" class="secondary" type="button"></button>
      <button id="factor-send-alimtalk" class="secondary" type="button" data-t="factor.sendAlimtalk" hidden></button>
    </div>
    <label class="field"><span id="factor-label"></span><input id="factor-code" class="code" type="text" autocomplete="one-time-code" inputmode="numeric" maxlength="6" required></label>
    <button class="primary" type="submit" data-t="factor.submit"></button>
    <div class="divider"><span data-t="common.or"></span></div>
    <button id="factor-passkey" class="secondary" type="button">${KEY}<span data-t="factor.passkey"></span></button>
    <button id="factor-email-recovery" class="link" type="button" data-t="factor.emailRecovery"></button>
    <button id="factor-back" class="link" type="button"></button>
  </form>

  <form id="view-invite" class="view" hidden novalidate>
    <h1 data-t="invite.title"></h1>
    <p id="invite-lead" class="lead"></p>
    <label class="field"><span data-t="invite.email"></span><input id="invite-email" type="email" autocomplete="username" readonly></label>
    <label class="field"><span data-t="invite.password"></span><input id="invite-password" type="password" autocomplete="new-password" required></label>
    <label class="field"><span data-t="invite.confirm"></span><input id="invite-confirm" type="password" autocomplete="new-password" required></label>
    <p class="hint" data-t="invite.hint"></p>
    <button class="primary" type="submit" data-t="invite.submit"></button>
    <p id="invite-expires" class="help"></p>
  </form>

  <form id="view-enrol" class="view" hidden novalidate>
    <h1 data-t="enrol.title"></h1>
    <p class="lead" data-t="enrol.lead"></p>
    <ol class="steps">
      <li><span data-t="enrol.step1"></span>
        <img id="enrol-qr" class="qr" width="184" height="184" alt="">
        <p class="manual" data-t="enrol.manual"></p>
        <code id="enrol-secret" class="secret"></code>
      </li>
      <li><label class="field"><span data-t="enrol.step2"></span><input id="enrol-code" class="code" type="text" autocomplete="one-time-code" inputmode="numeric" maxlength="6" required></label></li>
    </ol>
    <button class="primary" type="submit" data-t="enrol.submit"></button>
  </form>

  <div id="view-codes" class="view" hidden>
    <h1 data-t="codes.title"></h1>
    <p class="lead" data-t="codes.lead"></p>
    <ol id="codes-list" class="codes"></ol>
    <button id="codes-copy" class="secondary" type="button" data-t="codes.copy"></button>
    <label class="check"><input id="codes-saved" type="checkbox"><span data-t="codes.saved"></span></label>
    <button id="codes-continue" class="primary" type="button" disabled data-t="common.continue"></button>
  </div>

  <div id="view-home" class="view" hidden>
    <h1 id="home-title"></h1>
    <p class="lead" data-t="home.lead"></p>
    <dl class="who">
      <dt data-t="home.email"></dt><dd id="home-email"></dd>
      <dt data-t="home.brand"></dt><dd id="home-brand"></dd>
      <dt data-t="home.role"></dt><dd id="home-role"></dd>
    </dl>
    <h2 data-t="home.permissions"></h2>
    <ul id="home-permissions" class="chips"></ul>
    <h2 data-t="home.security"></h2>
    <p id="home-recovery" class="status"></p>
    <p class="caption" data-t="home.phone"></p>
    <p id="home-phone" class="status"></p>
    <div class="actions">
      <button id="home-phone-edit" class="secondary" type="button"></button>
      <button id="home-phone-remove" class="secondary" type="button" data-t="home.phoneRemove" hidden></button>
    </div>
    <div id="home-phone-form" class="phone-form" hidden>
      <label class="field"><span data-t="home.phoneNumber"></span><input id="phone-number" type="tel" autocomplete="tel" inputmode="tel" maxlength="20"></label>
      <button id="phone-send" class="secondary" type="button" data-t="home.phoneSend"></button>
      <label class="field"><span data-t="home.phoneCode"></span><input id="phone-code" class="code" type="text" autocomplete="one-time-code" inputmode="numeric" maxlength="6"></label>
      <button id="phone-confirm" class="primary" type="button" data-t="home.phoneConfirm"></button>
    </div>
    <p class="caption" data-t="home.passkeys"></p>
    <ul id="home-passkeys" class="passkeys"></ul>
    <p id="home-no-passkeys" class="empty" data-t="home.noPasskeys"></p>
    <div class="actions">
      <button id="home-register" class="secondary" type="button">${KEY}<span data-t="home.registerPasskey"></span></button>
      <button id="home-regenerate" class="secondary" type="button" data-t="home.regenerate"></button>
    </div>
    <div class="actions end">
      <button id="home-logout" class="secondary" type="button" data-t="home.logout"></button>
      <button id="home-logout-everywhere" class="secondary danger" type="button" data-t="home.logoutEverywhere"></button>
    </div>
  </div>
</section>
<footer>Moa · <span data-t="app.footer"></span></footer>
</main>`;

const ko = LOGIN_TEXT.ko as Record<string, string>;
function inKorean(html: string): string {
  return html.replace(/(<(\w+)[^>]*\sdata-t="([^"]+)"[^>]*>)(<\/\2>)/g, (_, open: string, _tag, key: string, close: string) => {
    if (!(key in ko)) throw new Error(`operator-login.page.ts: no text for ${key}`);
    return `${open}${escapeHtml(ko[key]!)}${close}`;
  });
}

// The words travel as JSON in a data block (not a script: the CSP's hash covers the code only).
const TEXT_JSON = JSON.stringify(LOGIN_TEXT).replace(/</g, '\\u003c');

export const LOGIN_PAGE_HTML = `<!doctype html>
<html lang="ko">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<link rel="icon" href="data:image/svg+xml,${encodeURIComponent(LOGO.replace('<svg ', '<svg xmlns="http://www.w3.org/2000/svg" '))}">
<title>${escapeHtml(LOGIN_TEXT.ko['app.pageTitle' satisfies LoginTextKey])}</title>
<style>${STYLE}</style>
</head>
<body>
${inKorean(BODY)}
<script type="application/json" id="login-text">${TEXT_JSON}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;

/** GET /login (HTML, not in the API document). */
export const operatorLoginPage: FastifyPluginAsync = async (app) => {
  app.get('/login', { schema: { hide: true } }, async (_req, reply) =>
    reply
      .header('content-security-policy', LOGIN_PAGE_CSP)
      .header('cache-control', 'no-store')
      .type('text/html; charset=utf-8')
      .send(LOGIN_PAGE_HTML),
  );
};
