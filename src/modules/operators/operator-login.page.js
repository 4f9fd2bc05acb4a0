// The operator login page's behaviour (served inline by operator-login.page.ts; plain browser
// JavaScript, no build step). It speaks to /auth only. Every word comes from the #login-text
// dictionary, so the page switches between Korean and English without a reload. DOM nodes are
// made with textContent only (the CSP forbids HTML from strings).
(() => {
  const TEXT = JSON.parse(document.getElementById('login-text').textContent);
  const $ = (id) => document.getElementById(id);

  let lang = 'ko';
  try {
    if (localStorage.getItem('moa.lang') === 'en') lang = 'en';
  } catch {}
  const t = (key, vars = {}) => (TEXT[lang][key] ?? TEXT.ko[key] ?? key).replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ''));

  // What is on screen, so a language switch can write it again.
  let view = 'loading';
  let message = null;
  const redraw = {};

  function applyLanguage() {
    document.documentElement.lang = lang;
    document.title = t('app.pageTitle');
    for (const el of document.querySelectorAll('[data-t]')) el.textContent = t(el.dataset.t);
    $('lang').setAttribute('aria-label', t('lang.label'));
    if (message) say(message.key, message.vars, message.kind);
    redraw[view]?.();
  }
  $('lang').addEventListener('click', () => {
    lang = lang === 'ko' ? 'en' : 'ko';
    try {
      localStorage.setItem('moa.lang', lang);
    } catch {}
    applyLanguage();
  });

  function show(name) {
    view = name;
    for (const el of document.querySelectorAll('.view')) el.hidden = el.id !== `view-${name}`;
    redraw[name]?.();
    const inputs = [...$(`view-${name}`).querySelectorAll('input:not([readonly]):not([type=checkbox])')];
    (inputs.find((i) => !i.value) ?? inputs[0])?.focus();
  }

  function say(key, vars = {}, kind = 'error') {
    message = key ? { key, vars, kind } : null;
    const box = $('msg');
    box.hidden = !key;
    if (!key) return;
    box.className = `msg ${kind}`;
    box.textContent = t(key, vars);
  }
  const quiet = () => say(null);

  class ApiError extends Error {
    constructor(status, body) {
      super(body?.detail ?? `HTTP ${status}`);
      this.status = status;
      this.code = body?.code ?? (status === 0 ? 'NETWORK' : 'HTTP');
      this.details = body?.details ?? {};
    }
  }

  async function api(method, path, body) {
    let res;
    try {
      res = await fetch(path, {
        method,
        credentials: 'same-origin',
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new ApiError(0, null);
    }
    const data = res.status === 204 ? null : await res.json().catch(() => null);
    if (!res.ok) throw new ApiError(res.status, data);
    return data;
  }

  /** The words for a failure, by where it happened: the same code means different things on each screen. */
  function explain(err, where) {
    if (err instanceof DOMException || err?.name === 'NotAllowedError') {
      if (err.name === 'NotAllowedError' || err.name === 'AbortError') return ['msg.passkeyCancelled'];
      if (err.name === 'InvalidStateError') return ['errors.passkeyRegistered'];
      if (err.name === 'NotSupportedError') return ['msg.passkeyUnsupported'];
      return ['errors.passkey'];
    }
    const reason = err.details?.reason;
    switch (err.code) {
      case 'NETWORK':
        return ['errors.network'];
      case 'INVALID_CREDENTIALS':
        if (where === 'passkey') return [reason === 'counter' ? 'errors.passkeyCounter' : 'errors.passkey'];
        return [where === 'login' ? 'errors.login' : 'errors.code'];
      case 'RATE_LIMITED':
        return [where === 'send' ? 'errors.resendLater' : 'errors.rateLimited', { seconds: err.details.retryAfterSeconds ?? 60 }];
      case 'PASSWORD_REJECTED':
        return [`errors.password.${reason}`];
      case 'INVITATION_NOT_USABLE':
        return [`errors.invitation.${reason ?? 'unknown'}`];
      case 'PASSKEY_REJECTED':
        return [reason === 'registered' ? 'errors.passkeyRegistered' : 'errors.passkeyRejected'];
      case 'OPERATOR_SUSPENDED':
        return ['errors.suspended'];
      case 'TLS_REQUIRED':
        return ['errors.tls'];
      case 'CSRF_REJECTED':
        return ['errors.csrf'];
      case 'UNAUTHENTICATED':
        return ['msg.sessionEnded'];
      case 'RECOVERY_LINK_NOT_USABLE':
        return ['errors.recoveryLink'];
      case 'CONFLICT':
        if (err.details.channel) return ['errors.channelOff'];
        if (err.details.factor === 'phone') return ['errors.noPhone'];
        break;
      case 'NOT_FOUND':
        if (where === 'passkey') return ['errors.noPasskey'];
        break;
    }
    return ['errors.generic', { detail: err.message }];
  }

  /** Runs an action with its button busy; a failure is said on screen (a lost session goes back to sign-in). */
  async function run(button, where, fn) {
    if (button) button.disabled = true;
    try {
      await fn();
    } catch (err) {
      const [key, vars] = explain(err, where);
      if (err.code === 'UNAUTHENTICATED' && view !== 'login') login();
      say(key, vars);
    } finally {
      if (button) button.disabled = false;
    }
  }
  const onSubmit = (form, where, fn) =>
    $(form).addEventListener('submit', (e) => {
      e.preventDefault();
      run(e.submitter ?? $(form).querySelector('[type=submit]'), where, fn);
    });

  // --- WebAuthn: JSON with base64url (what the server speaks) <-> the browser's ArrayBuffers -----

  const toB64url = (buf) => {
    let s = '';
    for (const b of new Uint8Array(buf)) s += String.fromCharCode(b);
    return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  };
  const fromB64url = (str) => {
    const b64 = str.replace(/-/g, '+').replace(/_/g, '/');
    return Uint8Array.from(atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4)), (c) => c.charCodeAt(0)).buffer;
  };
  const descriptors = (list) => (list ?? []).map((c) => ({ ...c, id: fromB64url(c.id) }));
  const credentialJSON = (cred) => {
    const r = cred.response;
    const json = {
      id: cred.id,
      rawId: toB64url(cred.rawId),
      type: cred.type,
      clientExtensionResults: cred.getClientExtensionResults(),
      response: { clientDataJSON: toB64url(r.clientDataJSON) },
    };
    if (cred.authenticatorAttachment) json.authenticatorAttachment = cred.authenticatorAttachment;
    if (r.attestationObject) {
      json.response.attestationObject = toB64url(r.attestationObject);
      json.response.transports = r.getTransports?.() ?? [];
    } else {
      json.response.authenticatorData = toB64url(r.authenticatorData);
      json.response.signature = toB64url(r.signature);
      if (r.userHandle) json.response.userHandle = toB64url(r.userHandle);
    }
    return json;
  };
  function passkeysAvailable() {
    if (window.PublicKeyCredential && navigator.credentials) return true;
    say('msg.passkeyUnsupported');
    return false;
  }
  async function createPasskey(options) {
    const publicKey = {
      ...options,
      challenge: fromB64url(options.challenge),
      user: { ...options.user, id: fromB64url(options.user.id) },
      excludeCredentials: descriptors(options.excludeCredentials),
    };
    return credentialJSON(await navigator.credentials.create({ publicKey }));
  }
  async function usePasskey(options) {
    const publicKey = {
      ...options,
      challenge: fromB64url(options.challenge),
      allowCredentials: descriptors(options.allowCredentials),
    };
    return credentialJSON(await navigator.credentials.get({ publicKey }));
  }
  /** A label the operator will recognise the passkey by: the browser and the system. */
  function deviceName() {
    const ua = navigator.userAgent;
    const browser = /Edg\//.test(ua)
      ? 'Edge'
      : /Firefox\//.test(ua)
        ? 'Firefox'
        : /Chrome\//.test(ua)
          ? 'Chrome'
          : /Safari\//.test(ua)
            ? 'Safari'
            : 'Browser';
    const system = /Windows/.test(ua)
      ? 'Windows'
      : /Android/.test(ua)
        ? 'Android'
        : /iPhone|iPad/.test(ua)
          ? 'iOS'
          : /Mac OS X/.test(ua)
            ? 'macOS'
            : /Linux/.test(ua)
              ? 'Linux'
              : '';
    return system ? `${browser} · ${system}` : browser;
  }

  const when = (iso, time = true) =>
    iso
      ? new Intl.DateTimeFormat(lang === 'ko' ? 'ko-KR' : 'en-GB', {
          dateStyle: 'medium',
          ...(time ? { timeStyle: 'short' } : {}),
        }).format(new Date(iso))
      : t('home.never');
  const roleName = (role) => (TEXT.ko[`role.${role}`] ? t(`role.${role}`) : t('role.custom'));

  // --- screens -------------------------------------------------------------------------------------

  /** Where the session stands decides the screen. */
  async function resume() {
    let me;
    try {
      me = await api('GET', '/auth/session');
    } catch (err) {
      if (err.status !== 401) say(...explain(err, 'session'));
      return login();
    }
    if (me.stage === 'full') return home(me);
    if (me.stage === 'password') return factor('signin');
    return enrol();
  }

  function login() {
    $('login-password').value = '';
    show('login');
  }
  onSubmit('view-login', 'login', async () => {
    const email = $('login-email').value.trim();
    const password = $('login-password').value;
    if (!email || !password) return say('errors.login');
    const s = await api('POST', '/auth/login', { email, password });
    $('login-password').value = '';
    quiet();
    if (s.stage === 'enrol') return enrol();
    return factor('signin');
  });
  $('login-passkey').addEventListener('click', (e) =>
    run(e.currentTarget, 'passkey', async () => {
      if (!passkeysAvailable()) return;
      const options = await api('POST', '/auth/passkey-sign-in/options', {});
      await api('POST', '/auth/passkey-sign-in', await usePasskey(options));
      quiet();
      await resume();
    }),
  );

  // The second factor: after the password (signin), or again for a sensitive action (stepup).
  let factorMode = 'signin';
  let factorMethod = 'totp';
  let pending = null;
  // The registered phone (masked) and the channels codes can go by; a code's resend time.
  let phone = { phone: null, channels: [] };
  let resendAt = 0;
  let resendTimer = null;
  const sixDigits = () => factorMethod !== 'recovery_code';
  redraw.factor = () => {
    const lead =
      factorMethod === 'phone'
        ? t('factor.lead.phone', { phone: phone.phone })
        : t(factorMethod === 'totp' ? 'factor.lead.totp' : 'factor.lead.recovery');
    $('factor-title').textContent = t(factorMode === 'stepup' ? 'stepup.title' : 'factor.title');
    $('factor-lead').textContent = factorMode === 'stepup' ? `${t('stepup.lead')} ${lead}` : lead;
    $('factor-label').textContent = t(factorMethod === 'recovery_code' ? 'factor.recoveryCode' : 'factor.code');
    $('factor-back').textContent = t(factorMode === 'stepup' ? 'common.cancel' : 'factor.otherAccount');
    $('factor-email-recovery').hidden = factorMode === 'stepup';
    const canText = phone.phone !== null && phone.channels.length > 0;
    $('tab-phone').hidden = !canText;
    for (const [tab, method] of TABS) $(tab).setAttribute('aria-selected', String(factorMethod === method));
    $('factor-send').hidden = factorMethod !== 'phone';
    const wait = Math.ceil((resendAt - Date.now()) / 1000);
    $('factor-send-sms').textContent = wait > 0 ? t('factor.resendIn', { seconds: wait }) : t('factor.sendSms');
    $('factor-send-sms').disabled = wait > 0;
    $('factor-send-sms').hidden = !phone.channels.includes('sms');
    $('factor-send-alimtalk').hidden = !phone.channels.includes('alimtalk');
    $('factor-send-alimtalk').disabled = wait > 0;
    const code = $('factor-code');
    code.inputMode = sixDigits() ? 'numeric' : 'text';
    code.maxLength = sixDigits() ? 6 : 11;
    code.classList.toggle('code', sixDigits());
  };
  async function factor(mode, then = null) {
    factorMode = mode;
    pending = then;
    factorMethod = 'totp';
    $('factor-code').value = '';
    phone = await api('GET', '/auth/phone').catch(() => ({ phone: null, channels: [] }));
    show('factor');
  }
  const TABS = [
    ['tab-totp', 'totp'],
    ['tab-phone', 'phone'],
    ['tab-recovery', 'recovery_code'],
  ];
  for (const [tab, method] of TABS) {
    $(tab).addEventListener('click', () => {
      factorMethod = method;
      $('factor-code').value = '';
      redraw.factor();
      $('factor-code').focus();
    });
  }
  async function factorDone() {
    quiet();
    if (factorMode === 'stepup' && pending) {
      const action = pending;
      pending = null;
      await home();
      return action();
    }
    return resume();
  }
  onSubmit('view-factor', 'code', async () => {
    const code = $('factor-code').value.trim();
    if (!code) return;
    if (factorMethod === 'phone') await api('POST', '/auth/phone-code/verify', { code });
    else await api('POST', factorMode === 'stepup' ? '/auth/step-up' : '/auth/second-factor', { method: factorMethod, code });
    $('factor-code').value = '';
    await factorDone();
  });
  /** Counts down to when another code may be asked for (60 seconds), on the send button. */
  function waitToResend(seconds) {
    resendAt = Date.now() + seconds * 1000;
    clearInterval(resendTimer);
    resendTimer = setInterval(() => {
      if (Date.now() >= resendAt) clearInterval(resendTimer);
      if (view === 'factor') redraw.factor();
    }, 1000);
    redraw.factor();
  }
  for (const channel of ['sms', 'alimtalk']) {
    $(`factor-send-${channel}`).addEventListener('click', async (e) => {
      await run(e.currentTarget, 'send', async () => {
        const sent = await api('POST', '/auth/phone-code', { channel });
        say(`msg.codeSent.${channel}`, { phone: sent.to }, 'info');
        waitToResend(sent.resendAfterSeconds);
        $('factor-code').focus();
      });
      // run() gives the button back; the countdown decides.
      if (view === 'factor') redraw.factor();
    });
  }
  $('factor-email-recovery').addEventListener('click', (e) =>
    run(e.currentTarget, 'send', async () => {
      const sent = await api('POST', '/auth/recovery/email');
      say('msg.recoverySent', { email: sent.sentTo, time: when(sent.expiresAt) }, 'info');
    }),
  );
  $('factor-passkey').addEventListener('click', (e) =>
    run(e.currentTarget, 'passkey', async () => {
      if (!passkeysAvailable()) return;
      const options = await api('POST', '/auth/passkey/options');
      await api('POST', '/auth/passkey', await usePasskey(options));
      await factorDone();
    }),
  );
  $('factor-back').addEventListener('click', (e) =>
    run(e.currentTarget, 'session', async () => {
      quiet();
      if (factorMode === 'stepup') return home();
      await api('POST', '/auth/logout').catch(() => {});
      login();
    }),
  );

  // An invitation: /login#invitation=<token>.
  let invitation = null;
  redraw.invite = () => {
    if (!invitation) return;
    $('invite-lead').textContent = t('invite.lead', { name: invitation.name, role: roleName(invitation.role) });
    $('invite-expires').textContent = t('invite.expires', { date: when(invitation.expiresAt) });
  };
  async function invite(token) {
    try {
      invitation = { ...(await api('GET', `/auth/invitations/${encodeURIComponent(token)}`)), token };
    } catch (err) {
      history.replaceState(null, '', location.pathname);
      say(...explain(err, 'invite'));
      return resume();
    }
    $('invite-email').value = invitation.email;
    show('invite');
  }
  onSubmit('view-invite', 'invite', async () => {
    const password = $('invite-password').value;
    if (password !== $('invite-confirm').value) return say('invite.mismatch');
    await api('POST', `/auth/invitations/${encodeURIComponent(invitation.token)}/accept`, { password });
    $('invite-password').value = '';
    $('invite-confirm').value = '';
    // The token is used: a reload should not show it again.
    history.replaceState(null, '', location.pathname);
    quiet();
    await enrol();
  });

  async function enrol() {
    const e = await api('POST', '/auth/enrol/totp');
    $('enrol-qr').src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(e.qrSvg)}`;
    $('enrol-secret').textContent = e.secret.match(/.{1,4}/g).join(' ');
    $('enrol-code').value = '';
    show('enrol');
  }
  redraw.enrol = () => {
    $('enrol-qr').alt = t('enrol.qrAlt');
  };
  onSubmit('view-enrol', 'code', async () => {
    const r = await api('POST', '/auth/enrol/totp/confirm', { code: $('enrol-code').value.trim() });
    quiet();
    codes(r.recoveryCodes);
  });

  // Recovery codes, shown once: after enrolment, and after regenerating them.
  let shownCodes = [];
  function codes(list) {
    shownCodes = list;
    const ol = $('codes-list');
    ol.replaceChildren(
      ...list.map((c) => {
        const li = document.createElement('li');
        li.textContent = c;
        return li;
      }),
    );
    $('codes-saved').checked = false;
    $('codes-continue').disabled = true;
    show('codes');
  }
  $('codes-saved').addEventListener('change', (e) => {
    $('codes-continue').disabled = !e.currentTarget.checked;
  });
  $('codes-copy').addEventListener('click', async (e) => {
    const button = e.currentTarget;
    try {
      await navigator.clipboard.writeText(shownCodes.join('\n'));
      button.textContent = t('codes.copied');
      setTimeout(() => {
        button.textContent = t('codes.copy');
      }, 2000);
    } catch {}
  });
  $('codes-continue').addEventListener('click', (e) =>
    run(e.currentTarget, 'session', async () => {
      shownCodes = [];
      $('codes-list').replaceChildren();
      await resume();
    }),
  );

  // Signed in: who, with which permissions, and the sign-in security.
  let me = null;
  let passkeys = [];
  redraw.home = () => {
    if (!me) return;
    $('home-title').textContent = t('home.title', { name: me.operator.name });
    $('home-email').textContent = me.operator.email;
    $('home-brand').textContent = me.tenant ? me.tenant.name : t('home.platform');
    $('home-role').textContent = roleName(me.operator.role);
    const chips = me.permissions.length
      ? me.permissions.map((p) => [t(`perm.${p}`), p])
      : [[t(me.tenant ? 'home.noPermissions' : 'home.platformPermissions'), '']];
    $('home-permissions').replaceChildren(
      ...chips.map(([label, key]) => {
        const li = document.createElement('li');
        li.textContent = label;
        if (key) li.title = key;
        else li.className = 'none';
        return li;
      }),
    );
    $('home-recovery').textContent = t('home.recoveryLeft', { n: me.recoveryCodesLeft });
    $('home-phone').textContent = phone.phone ?? t(phone.channels.length ? 'home.noPhone' : 'home.phoneOff');
    $('home-phone-edit').textContent = t(phone.phone ? 'home.phoneChange' : 'home.phoneAdd');
    $('home-phone-edit').hidden = !phone.channels.length;
    $('home-phone-remove').hidden = !phone.phone;
    $('home-no-passkeys').hidden = passkeys.length > 0;
    $('home-passkeys').replaceChildren(
      ...passkeys.map((p) => {
        const li = document.createElement('li');
        const text = document.createElement('div');
        const name = document.createElement('div');
        name.className = 'name';
        name.textContent = p.synced ? `${p.name} · ${t('home.synced')}` : p.name;
        const meta = document.createElement('div');
        meta.className = 'meta';
        meta.textContent = t('home.passkeyMeta', { created: when(p.createdAt, false), used: when(p.lastUsedAt) });
        text.append(name, meta);
        const remove = document.createElement('button');
        remove.type = 'button';
        remove.textContent = t('home.remove');
        remove.addEventListener('click', () => sensitive(remove, 'passkey', () => removePasskey(p.id)));
        li.append(text, remove);
        return li;
      }),
    );
  };
  async function home(known) {
    const [session, list, registered] = await Promise.all([
      known ?? api('GET', '/auth/session'),
      api('GET', '/auth/passkeys'),
      api('GET', '/auth/phone'),
    ]);
    me = session;
    passkeys = list.items;
    phone = registered;
    $('home-phone-form').hidden = true;
    show('home');
  }

  /** Back to the sign-in form, the e-mail filled in for the next time. */
  function signedOut() {
    $('login-email').value = me?.operator.email ?? '';
    me = null;
    passkeys = [];
    login();
  }

  /** An action that needs a recent second factor: on STEP_UP_REQUIRED, confirm it and carry on. */
  function sensitive(button, where, fn) {
    return run(button, where, async () => {
      try {
        await fn();
      } catch (err) {
        if (err.code !== 'STEP_UP_REQUIRED') throw err;
        await factor('stepup', () => run(null, where, fn));
      }
    });
  }
  async function removePasskey(id) {
    await api('DELETE', `/auth/passkeys/${encodeURIComponent(id)}`);
    await home();
    say('msg.passkeyRemoved', {}, 'info');
  }
  $('home-register').addEventListener('click', (e) =>
    sensitive(e.currentTarget, 'register', async () => {
      if (!passkeysAvailable()) return;
      const options = await api('POST', '/auth/passkeys/options');
      await api('POST', '/auth/passkeys', { name: deviceName(), response: await createPasskey(options) });
      await home();
      say('msg.passkeyAdded', {}, 'info');
    }),
  );
  // The phone for codes: a code to the new number confirms it (a recent second factor first).
  $('home-phone-edit').addEventListener('click', () => {
    $('home-phone-form').hidden = false;
    $('phone-number').value = '';
    $('phone-code').value = '';
    $('phone-number').focus();
  });
  $('phone-send').addEventListener('click', (e) =>
    sensitive(e.currentTarget, 'send', async () => {
      const sent = await api('POST', '/auth/phone', { phone: $('phone-number').value.trim(), channel: phone.channels[0] });
      if (view !== 'home') await home();
      $('home-phone-form').hidden = false;
      say(`msg.codeSent.${sent.channel}`, { phone: sent.to }, 'info');
      $('phone-code').focus();
    }),
  );
  $('phone-confirm').addEventListener('click', (e) =>
    sensitive(e.currentTarget, 'code', async () => {
      await api('POST', '/auth/phone/confirm', { code: $('phone-code').value.trim() });
      await home();
      say('msg.phoneSaved', { phone: phone.phone }, 'info');
    }),
  );
  $('home-phone-remove').addEventListener('click', (e) =>
    sensitive(e.currentTarget, 'session', async () => {
      await api('DELETE', '/auth/phone');
      await home();
      say('msg.phoneRemoved', {}, 'info');
    }),
  );
  $('home-regenerate').addEventListener('click', (e) =>
    sensitive(e.currentTarget, 'session', async () => {
      const r = await api('POST', '/auth/recovery-codes');
      quiet();
      codes(r.recoveryCodes);
    }),
  );
  $('home-logout').addEventListener('click', (e) =>
    run(e.currentTarget, 'session', async () => {
      await api('POST', '/auth/logout');
      signedOut();
      say('msg.loggedOut', {}, 'info');
    }),
  );
  $('home-logout-everywhere').addEventListener('click', (e) =>
    run(e.currentTarget, 'session', async () => {
      await api('POST', '/auth/logout-everywhere');
      signedOut();
      say('msg.loggedOutEverywhere', {}, 'info');
    }),
  );

  // The emergency e-mail link: /login#recovery=<token>. Every factor is removed; a new one is enrolled.
  async function recover(token) {
    history.replaceState(null, '', location.pathname);
    try {
      await api('POST', '/auth/recovery/email/confirm', { token });
    } catch (err) {
      say(...explain(err, 'recovery'));
      return resume();
    }
    await enrol();
    say('msg.recovered', {}, 'info');
  }

  /** An invitation or a recovery link in the address (opened anew, or pasted into this tab), else the session. */
  function route() {
    const hash = new URLSearchParams(location.hash.slice(1));
    const [invitationToken, recoveryToken] = [hash.get('invitation'), hash.get('recovery')];
    return run(null, 'session', () =>
      invitationToken ? invite(invitationToken) : recoveryToken ? recover(recoveryToken) : resume(),
    );
  }
  window.addEventListener('hashchange', () => location.hash && route());
  applyLanguage();
  route();
})();
