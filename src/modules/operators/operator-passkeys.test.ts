import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { bearer, newTenant, type TestTenant, testApp, testConfig } from '../../../test/helpers.ts';
import type { Clock } from '../../platform/clock.ts';
import type { Deps } from '../../platform/deps.ts';
import { totpCode } from './operator-totp.rules.ts';

// Passkeys over HTTP with a software authenticator (ES256, "none" attestation, built here from
// the WebAuthn data formats): registration, the second factor after the password, the signature
// counter (kept; a lower or equal one refused, also when two assertions race), step-up, and the
// sign-in with a passkey alone (user verification required, the challenge bound to a cookie).

let now = new Date('2026-12-03T01:00:00Z');
const clock: Clock = { now: () => new Date(now) };
let app: FastifyInstance;
let deps: Deps;
before(async () => {
  ({ app, deps } = await testApp({ clock }));
});
after(() => app.close());

// app.inject sends Host: localhost:80; a browser names that origin without the default port.
const ORIGIN = 'http://localhost';
const RP_ID = 'localhost';
const PASSWORD = 'moa-console-장미-2026';
let emails = 0;
const email = () => `pk${++emails}.${Date.now().toString(36)}@moacafe.kr`;
const later = (ms: number) => {
  now = new Date(now.getTime() + ms);
};

// --- a software authenticator -----------------------------------------------------------------

/** Just enough CBOR (RFC 8949) for an attestation object and a COSE key. */
function cbor(v: unknown): Buffer {
  const head = (major: number, n: number) => {
    if (n < 24) return Buffer.from([(major << 5) | n]);
    if (n < 0x100) return Buffer.from([(major << 5) | 24, n]);
    const b = Buffer.alloc(3);
    b[0] = (major << 5) | 25;
    b.writeUInt16BE(n, 1);
    return b;
  };
  if (typeof v === 'number') return v >= 0 ? head(0, v) : head(1, -1 - v);
  if (typeof v === 'string') return Buffer.concat([head(3, Buffer.byteLength(v)), Buffer.from(v)]);
  if (v instanceof Uint8Array) return Buffer.concat([head(2, v.length), v]);
  if (v instanceof Map) return Buffer.concat([head(5, v.size), ...[...v].flatMap(([k, x]) => [cbor(k), cbor(x)])]);
  throw new Error(`cbor: ${typeof v}`);
}

const b64url = (b: Buffer | Uint8Array) => Buffer.from(b).toString('base64url');
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest();
const FLAG = { up: 0x01, uv: 0x04, at: 0x40 };

type Credential = { id: Buffer; key: KeyObject; userHandle: string; rpId: string; counter: number };
type Options = { challenge: string; rp?: { id?: string }; rpId?: string; user?: { id: string } };

/** A passkey authenticator in software: it keeps its credentials, signs with ES256, counts its signatures. */
class SoftAuthenticator {
  credentials: Credential[] = [];
  readonly uv: boolean;
  constructor(uv = true) {
    this.uv = uv;
  }

  /** A new credential (`id` reuses a credential id: the same passkey registered twice). */
  create(options: Options, { origin = ORIGIN, id = randomBytes(16) }: { origin?: string; id?: Buffer } = {}) {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    const cose = cbor(
      new Map<number, unknown>([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, Buffer.from(jwk.x!, 'base64url')],
        [-3, Buffer.from(jwk.y!, 'base64url')],
      ]),
    );
    const rpId = options.rp?.id ?? RP_ID;
    const cred: Credential = { id, key: privateKey, userHandle: options.user!.id, rpId, counter: 0 };
    this.credentials.push(cred);
    const idLength = Buffer.alloc(2);
    idLength.writeUInt16BE(cred.id.length);
    const authData = Buffer.concat([
      sha256(rpId),
      Buffer.from([FLAG.up | (this.uv ? FLAG.uv : 0) | FLAG.at]),
      Buffer.alloc(4),
      Buffer.alloc(16),
      idLength,
      cred.id,
      cose,
    ]);
    const clientDataJSON = Buffer.from(JSON.stringify({ type: 'webauthn.create', challenge: options.challenge, origin }));
    const attestationObject = cbor(
      new Map<string, unknown>([
        ['fmt', 'none'],
        ['attStmt', new Map()],
        ['authData', authData],
      ]),
    );
    return {
      id: b64url(cred.id),
      rawId: b64url(cred.id),
      type: 'public-key',
      clientExtensionResults: {},
      response: {
        clientDataJSON: b64url(clientDataJSON),
        attestationObject: b64url(attestationObject),
        transports: ['internal'],
      },
    };
  }

  /** An assertion; `counter` overrides the authenticator's next count (a clone, or a replay). */
  get(options: Options, opts: { origin?: string; counter?: number; credential?: Credential } = {}) {
    const cred = opts.credential ?? this.credentials.at(-1)!;
    cred.counter = opts.counter ?? cred.counter + 1;
    const count = Buffer.alloc(4);
    count.writeUInt32BE(cred.counter);
    const authData = Buffer.concat([sha256(options.rpId ?? RP_ID), Buffer.from([FLAG.up | (this.uv ? FLAG.uv : 0)]), count]);
    const clientDataJSON = Buffer.from(
      JSON.stringify({ type: 'webauthn.get', challenge: options.challenge, origin: opts.origin ?? ORIGIN }),
    );
    const signature = sign('sha256', Buffer.concat([authData, sha256(clientDataJSON)]), cred.key);
    return {
      id: b64url(cred.id),
      rawId: b64url(cred.id),
      type: 'public-key',
      clientExtensionResults: {},
      response: {
        clientDataJSON: b64url(clientDataJSON),
        authenticatorData: b64url(authData),
        signature: b64url(signature),
        userHandle: cred.userHandle,
      },
    };
  }
}

// --- a browser over app.inject ------------------------------------------------------------------

type Browser = { cookies: Record<string, string> };
const browser = (): Browser => ({ cookies: {} });

async function send(b: Browser, method: string, url: string, payload?: unknown) {
  const cookie = Object.entries(b.cookies)
    .map(([k, v]) => `${k}=${v}`)
    .join('; ');
  const res = await app.inject({
    method: method as 'GET',
    url,
    headers: { origin: ORIGIN, ...(cookie ? { cookie } : {}) },
    ...(payload === undefined ? {} : { payload: payload as object }),
  });
  const set = res.headers['set-cookie'];
  for (const c of Array.isArray(set) ? set : set ? [set] : []) {
    const m = /^([^=]+)=([^;]*)/.exec(c)!;
    if (m[2] && !/Max-Age=0/.test(c)) b.cookies[m[1]!] = m[2];
    else delete b.cookies[m[1]!];
  }
  return res;
}

async function invite(t: TestTenant, role = 'owner') {
  const address = email();
  const res = await app.inject({
    method: 'POST',
    url: '/v1/operators/invitations',
    headers: bearer(t.keys.server),
    payload: { email: address, name: '박서연', role },
  });
  assert.equal(res.statusCode, 201, res.body);
  return { token: res.json().token as string, email: address };
}

/** An operator who accepted an invitation and enrolled TOTP: signed in. */
async function enrolled(t: TestTenant, role = 'owner') {
  const inv = await invite(t, role);
  const b = browser();
  assert.equal((await send(b, 'POST', `/auth/invitations/${inv.token}/accept`, { password: PASSWORD })).statusCode, 200);
  const { secret } = (await send(b, 'POST', '/auth/enrol/totp')).json();
  const confirm = await send(b, 'POST', '/auth/enrol/totp/confirm', { code: totpCode(secret, now) });
  assert.equal(confirm.statusCode, 200, confirm.body);
  const operatorId = (await send(b, 'GET', '/auth/session')).json().operator.id as string;
  return { b, secret: secret as string, email: inv.email, operatorId };
}

async function register(b: Browser, authenticator: SoftAuthenticator, name = 'Chrome · Linux') {
  const options = await send(b, 'POST', '/auth/passkeys/options');
  assert.equal(options.statusCode, 200, options.body);
  const res = await send(b, 'POST', '/auth/passkeys', { name, response: authenticator.create(options.json()) });
  assert.equal(res.statusCode, 201, res.body);
  return res.json() as { id: string; name: string };
}

async function passwordStage(address: string) {
  const b = browser();
  const res = await send(b, 'POST', '/auth/login', { email: address, password: PASSWORD });
  assert.equal(res.json().stage, 'password');
  return b;
}

const signCount = async (operatorId: string) =>
  Number(
    (await sql<{ n: number }>`select sign_count as n from operator_passkey where operator_id = ${operatorId}`.execute(deps.db))
      .rows[0]?.n,
  );

test('registering: in a signed-in session with a recent second factor; discoverable, user verification required; the challenge is single use', async () => {
  const t = await newTenant(deps);
  const a = await enrolled(t);
  const options = (await send(a.b, 'POST', '/auth/passkeys/options')).json();
  assert.equal(options.rp.id, RP_ID);
  assert.equal(options.user.id, b64url(Buffer.from(a.operatorId)), 'the user handle is the operator id, no personal data');
  assert.equal(options.user.name, a.email);
  assert.deepEqual(options.authenticatorSelection, {
    residentKey: 'required',
    requireResidentKey: true,
    userVerification: 'required',
  });

  const authenticator = new SoftAuthenticator();
  const response = authenticator.create(options);
  const created = await send(a.b, 'POST', '/auth/passkeys', { name: 'YubiKey 5', response });
  assert.equal(created.statusCode, 201, created.body);
  assert.equal(created.json().name, 'YubiKey 5');
  const again = await send(a.b, 'POST', '/auth/passkeys', { name: 'YubiKey 5', response });
  assert.equal(`${again.statusCode} ${again.json().code} ${again.json().details.reason}`, '422 PASSKEY_REJECTED challenge');

  // The same credential once more under a fresh challenge: registered already (and excluded in the options).
  const next = (await send(a.b, 'POST', '/auth/passkeys/options')).json();
  assert.deepEqual(
    next.excludeCredentials.map((c: { id: string }) => c.id),
    [response.id],
  );
  const stale = await send(a.b, 'POST', '/auth/passkeys', { response });
  assert.equal(stale.json().details.reason, 'verification', 'an answer to an earlier challenge');
  await send(a.b, 'POST', '/auth/passkeys/options');
  const sameId = authenticator.create((await send(a.b, 'POST', '/auth/passkeys/options')).json(), {
    id: Buffer.from(response.id, 'base64url'),
  });
  const twice = await send(a.b, 'POST', '/auth/passkeys', { response: sameId });
  assert.equal(`${twice.statusCode} ${twice.json().details.reason}`, '422 registered');

  // Another origin (a phishing page relaying the ceremony) is refused.
  const phished = (await send(a.b, 'POST', '/auth/passkeys/options')).json();
  const wrong = await send(a.b, 'POST', '/auth/passkeys', {
    response: authenticator.create(phished, { origin: 'https://moa-login.example' }),
  });
  assert.equal(`${wrong.statusCode} ${wrong.json().details.reason}`, '422 verification');

  // An authenticator that cannot verify its user is refused at registration.
  const noUv = (await send(a.b, 'POST', '/auth/passkeys/options')).json();
  const weak = await send(a.b, 'POST', '/auth/passkeys', { response: new SoftAuthenticator(false).create(noUv) });
  assert.equal(`${weak.statusCode} ${weak.json().details.reason}`, '422 verification');

  // Expired: 5 minutes.
  const slow = (await send(a.b, 'POST', '/auth/passkeys/options')).json();
  later(5 * 60_000 + 1);
  const expired = await send(a.b, 'POST', '/auth/passkeys', { response: new SoftAuthenticator().create(slow) });
  assert.equal(expired.json().details.reason, 'challenge');

  const list = (await send(a.b, 'GET', '/auth/passkeys')).json().items;
  assert.deepEqual(
    list.map((p: { name: string; synced: boolean; lastUsedAt: string | null }) => [p.name, p.synced, p.lastUsedAt]),
    [['YubiKey 5', false, null]],
  );

  // Sixteen minutes after the second factor, adding or removing a passkey needs a step-up.
  later(11 * 60_000);
  await send(a.b, 'GET', '/auth/session');
  assert.equal((await send(a.b, 'POST', '/auth/passkeys/options')).json().code, 'STEP_UP_REQUIRED');
  assert.equal((await send(a.b, 'DELETE', `/auth/passkeys/${list[0].id}`)).json().code, 'STEP_UP_REQUIRED');

  // A session past the password only, or still enrolling, cannot register one.
  const p = await passwordStage(a.email);
  assert.equal((await send(p, 'POST', '/auth/passkeys/options')).json().code, 'SECOND_FACTOR_REQUIRED');
  const fresh = await invite(t);
  const e = browser();
  await send(e, 'POST', `/auth/invitations/${fresh.token}/accept`, { password: PASSWORD });
  assert.equal((await send(e, 'POST', '/auth/passkeys/options')).json().details.stage, 'enrol');
  assert.equal((await send(e, 'POST', '/auth/passkey/options')).json().details.stage, 'enrol');
});

test('the second factor after the password: the counter is kept; a lower or equal one is refused, also when two assertions race', async () => {
  const t = await newTenant(deps);
  const a = await enrolled(t);
  const authenticator = new SoftAuthenticator();
  await register(a.b, authenticator);

  const b = await passwordStage(a.email);
  const before = b.cookies['__Host-moa_operator'];
  const options = (await send(b, 'POST', '/auth/passkey/options')).json();
  assert.equal(options.rpId, RP_ID);
  assert.equal(options.userVerification, 'preferred');
  assert.deepEqual(
    options.allowCredentials.map((c: { id: string }) => c.id),
    [b64url(authenticator.credentials[0]!.id)],
  );
  const assertion = authenticator.get(options);
  const ok = await send(b, 'POST', '/auth/passkey', assertion);
  assert.equal(ok.statusCode, 200, ok.body);
  assert.equal(ok.json().stage, 'full');
  assert.notEqual(b.cookies['__Host-moa_operator'], before, 'a new session id');
  assert.equal((await send(b, 'GET', '/v1/operators')).statusCode, 200);
  assert.equal(await signCount(a.operatorId), 1, 'the counter is kept');
  assert.ok((await send(b, 'GET', '/auth/passkeys')).json().items[0].lastUsedAt);

  // Replayed: its challenge was taken.
  const r = await passwordStage(a.email);
  const replay = await send(r, 'POST', '/auth/passkey', assertion);
  assert.equal(`${replay.statusCode} ${replay.json().code} ${replay.json().details.reason}`, '401 INVALID_CREDENTIALS challenge');
  // Replayed under a fresh challenge: the signature covers the old one.
  await send(r, 'POST', '/auth/passkey/options');
  assert.equal((await send(r, 'POST', '/auth/passkey', assertion)).json().details.reason, 'signature');

  // A few uses: the counter follows.
  for (let i = 0; i < 3; i++) {
    const s = await passwordStage(a.email);
    assert.equal(
      (await send(s, 'POST', '/auth/passkey', authenticator.get((await send(s, 'POST', '/auth/passkey/options')).json())))
        .statusCode,
      200,
    );
  }
  assert.equal(await signCount(a.operatorId), 4);

  // A copy of the authenticator that counted less (or as much): refused, the stored counter unchanged.
  for (const counter of [2, 4]) {
    const s = await passwordStage(a.email);
    const res = await send(
      s,
      'POST',
      '/auth/passkey',
      authenticator.get((await send(s, 'POST', '/auth/passkey/options')).json(), { counter }),
    );
    assert.equal(`${res.statusCode} ${res.json().details.reason}`, '401 counter', `counter ${counter}`);
    assert.match(res.json().detail, /may have been copied/);
    assert.equal((await send(s, 'GET', '/auth/session')).json().stage, 'password', 'still past the password only');
  }
  assert.equal(await signCount(a.operatorId), 4);

  // Two browsers, two valid assertions carrying the same next counter, at once: one wins.
  const [x, y] = [await passwordStage(a.email), await passwordStage(a.email)];
  const [ox, oy] = [
    (await send(x, 'POST', '/auth/passkey/options')).json(),
    (await send(y, 'POST', '/auth/passkey/options')).json(),
  ];
  const both = await Promise.all([
    send(x, 'POST', '/auth/passkey', authenticator.get(ox, { counter: 5 })),
    send(y, 'POST', '/auth/passkey', authenticator.get(oy, { counter: 5 })),
  ]);
  assert.deepEqual(both.map((res) => res.statusCode).sort(), [200, 401]);
  assert.equal(await signCount(a.operatorId), 5);

  // Someone else's passkey is no second factor for this account.
  const other = await enrolled(t);
  const theirs = new SoftAuthenticator();
  await register(other.b, theirs);
  const s = await passwordStage(a.email);
  const foreign = await send(s, 'POST', '/auth/passkey', theirs.get((await send(s, 'POST', '/auth/passkey/options')).json()));
  assert.equal(foreign.json().details.reason, 'unknown');

  // An operator without a passkey is told so.
  const none = await enrolled(t);
  const n = await passwordStage(none.email);
  assert.equal((await send(n, 'POST', '/auth/passkey/options')).statusCode, 404);
});

test('step-up with a passkey: sixteen minutes after sign-in an access change needs one; an authenticator without user verification does as the second factor', async () => {
  const t = await newTenant(deps);
  const owner = await enrolled(t);
  const cs = await enrolled(t, 'cs');
  // Registered in software that verifies its user; it later answers without verification.
  const authenticator = new SoftAuthenticator();
  await register(owner.b, authenticator);
  later(16 * 60_000);
  await send(owner.b, 'GET', '/auth/session');
  const stale = await send(owner.b, 'PUT', `/v1/operators/${cs.operatorId}/role`, { role: 'marketer' });
  assert.equal(stale.json().code, 'STEP_UP_REQUIRED');

  const before = owner.b.cookies['__Host-moa_operator'];
  const options = (await send(owner.b, 'POST', '/auth/passkey/options')).json();
  const up = await send(owner.b, 'POST', '/auth/passkey', authenticator.get(options));
  assert.equal(up.statusCode, 200, up.body);
  assert.equal(up.json().stage, 'full');
  assert.notEqual(owner.b.cookies['__Host-moa_operator'], before, 'a new session id');
  assert.equal((await send({ cookies: { '__Host-moa_operator': before! } }, 'GET', '/auth/session')).statusCode, 401);
  const me = (await send(owner.b, 'GET', '/auth/session')).json();
  assert.equal(me.secondFactorAt, now.toISOString());
  assert.equal((await send(owner.b, 'PUT', `/v1/operators/${cs.operatorId}/role`, { role: 'marketer' })).statusCode, 200);

  // Without user verification: fine after the password (holding the passkey is the second factor).
  const quiet = new SoftAuthenticator(false);
  quiet.credentials = authenticator.credentials;
  const b = await passwordStage(owner.email);
  const res = await send(b, 'POST', '/auth/passkey', quiet.get((await send(b, 'POST', '/auth/passkey/options')).json()));
  assert.equal(res.statusCode, 200, res.body);

  // Removing it (within the step-up window).
  const id = (await send(owner.b, 'GET', '/auth/passkeys')).json().items[0].id;
  assert.equal((await send(owner.b, 'DELETE', `/auth/passkeys/${id}`)).statusCode, 204);
  assert.equal((await send(owner.b, 'DELETE', `/auth/passkeys/${id}`)).statusCode, 404);
  assert.equal((await send(owner.b, 'POST', '/auth/passkey/options')).statusCode, 404);
  // Both are access changes, kept with the grants and revocations.
  const log = (await send(owner.b, 'GET', '/v1/operators/access-changes'))
    .json()
    .items.filter((c: { change: string }) => c.change.startsWith('passkey_'));
  assert.deepEqual(
    log.map((c: { change: string; operatorId: string }) => [c.change, c.operatorId]),
    [
      ['passkey_removed', owner.operatorId],
      ['passkey_added', owner.operatorId],
    ],
  );
  assert.equal(log[0].before.passkeyId, id);
  assert.equal(log[1].after.passkeyId, id);
});

test('a passkey alone signs in with both factors: user verification required, the challenge bound to a short cookie, suspension answered', async () => {
  const t = await newTenant(deps);
  const a = await enrolled(t, 'admin');
  const authenticator = new SoftAuthenticator();
  await register(a.b, authenticator);

  const b = browser();
  const options = await send(b, 'POST', '/auth/passkey-sign-in/options', {});
  assert.equal(options.statusCode, 200, options.body);
  assert.equal(options.json().userVerification, 'required');
  assert.equal(options.json().allowCredentials, undefined, 'discoverable: no e-mail, no list');
  const cookie = String(options.headers['set-cookie']);
  for (const attr of ['__Host-moa_passkey=opk_', 'Path=/', 'Secure', 'HttpOnly', 'SameSite=Strict'])
    assert.ok(cookie.includes(attr));

  // Another browser cannot finish this ceremony: its cookie binds another (or no) challenge.
  const assertion = authenticator.get(options.json());
  const elsewhere = browser();
  assert.equal((await send(elsewhere, 'POST', '/auth/passkey-sign-in', assertion)).json().details.reason, 'challenge');
  await send(elsewhere, 'POST', '/auth/passkey-sign-in/options', {});
  assert.equal((await send(elsewhere, 'POST', '/auth/passkey-sign-in', assertion)).json().details.reason, 'signature');

  const signedIn = await send(b, 'POST', '/auth/passkey-sign-in', assertion);
  assert.equal(signedIn.statusCode, 200, signedIn.body);
  assert.equal(signedIn.json().stage, 'full');
  assert.equal(b.cookies['__Host-moa_passkey'], undefined, 'the passkey cookie is cleared');
  const me = (await send(b, 'GET', '/auth/session')).json();
  assert.equal(me.operator.email, a.email);
  assert.equal(me.secondFactorAt, now.toISOString());
  assert.equal((await send(b, 'GET', '/v1/operators')).statusCode, 200, 'signed in to the brand');
  // Single use.
  assert.equal((await send(b, 'POST', '/auth/passkey-sign-in', assertion)).json().details.reason, 'challenge');

  // Without user verification the passkey is one factor only: no sign-in.
  const quiet = new SoftAuthenticator(false);
  quiet.credentials = authenticator.credentials;
  const q = browser();
  const qo = (await send(q, 'POST', '/auth/passkey-sign-in/options', {})).json();
  const unverified = await send(q, 'POST', '/auth/passkey-sign-in', quiet.get(qo));
  assert.equal(`${unverified.statusCode} ${unverified.json().details.reason}`, '401 user_verification');

  // A lower counter is refused here too.
  const c = browser();
  const co = (await send(c, 'POST', '/auth/passkey-sign-in/options', {})).json();
  assert.equal(
    (await send(c, 'POST', '/auth/passkey-sign-in', authenticator.get(co, { counter: 1 }))).json().details.reason,
    'counter',
  );

  // Suspended: the answer says so (as after a right password), and no session.
  const owner = await enrolled(t);
  later(16 * 60_000);
  // A fresh owner second factor for the suspension (an access change).
  const up = await passwordStage(owner.email);
  await send(up, 'POST', '/auth/second-factor', { method: 'totp', code: totpCode(owner.secret, now) });
  assert.equal((await send(up, 'POST', `/v1/operators/${a.operatorId}/suspend`, {})).statusCode, 200);
  const s = browser();
  const so = (await send(s, 'POST', '/auth/passkey-sign-in/options', {})).json();
  const suspended = await send(s, 'POST', '/auth/passkey-sign-in', authenticator.get(so));
  assert.equal(`${suspended.statusCode} ${suspended.json().code}`, '403 OPERATOR_SUSPENDED');
  assert.equal(s.cookies['__Host-moa_operator'], undefined);
});

test('the passkey tables are under row-level security, enabled and forced', async () => {
  const { rows } = await sql<{ relname: string; on: boolean; forced: boolean }>`
    select relname, relrowsecurity as on, relforcerowsecurity as forced from pg_class
    where relname in ('operator_passkey', 'operator_webauthn_challenge') order by relname`.execute(deps.db);
  assert.deepEqual(rows, [
    { relname: 'operator_passkey', on: true, forced: true },
    { relname: 'operator_webauthn_challenge', on: true, forced: true },
  ]);
});

test('MOA_CONSOLE_ORIGIN names the relying party instead of the request’s host', async () => {
  const pinned = await testApp({ clock, config: testConfig({ MOA_CONSOLE_ORIGIN: 'https://console.moacafe.kr/' }) });
  try {
    const res = await pinned.app.inject({
      method: 'POST',
      url: '/auth/passkey-sign-in/options',
      headers: { origin: ORIGIN },
      payload: {},
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().rpId, 'console.moacafe.kr');
    const { rows } = await sql<{ origin: string }>`
      select origin from operator_webauthn_challenge where challenge = ${res.json().challenge}`.execute(deps.db);
    assert.deepEqual(rows, [{ origin: 'https://console.moacafe.kr' }]);
  } finally {
    await pinned.app.close();
  }
});
