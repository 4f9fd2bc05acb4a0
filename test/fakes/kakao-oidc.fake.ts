// A local Kakao Login for tests: a real OpenID Connect provider (oidc-provider) on a loopback port,
// with discovery, JWKS, authorization code + PKCE, signed ID tokens whose `sub` is the member number,
// and, beside it, Kakao's user API `GET /v2/user/me` answering for the access tokens it issued
// (https://developers.kakao.com/docs/latest/ko/kakaologin/rest-api). Who logs in on Kakao's page is
// the `x-fake-kakao-login` header of the browser's requests; without it the person cancels.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';

export type KakaoAccount = {
  id: number;
  kakao_account: {
    profile?: { nickname?: string };
    name?: string;
    email?: string;
    is_email_valid?: boolean;
    is_email_verified?: boolean;
    phone_number?: string;
    birthyear?: string;
    birthday?: string;
    gender?: 'female' | 'male';
  };
};

export type KakaoFake = Awaited<ReturnType<typeof startKakaoFake>>;

export async function startKakaoFake(client: { clientId: string; clientSecret: string; redirectUris: string[] }) {
  const accounts = new Map<string, KakaoAccount>();
  /** Test hook: what /v2/user/me answers instead of the token's account (a provider bug, a mix-up). */
  let userMeOverride: ((me: KakaoAccount) => KakaoAccount) | undefined;
  let provider!: Provider;

  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json;charset=UTF-8' });
    res.end(JSON.stringify(body));
  };

  async function interaction(req: IncomingMessage, res: ServerResponse) {
    const details = await provider.interactionDetails(req, res);
    const login = req.headers['x-fake-kakao-login'];
    if (typeof login !== 'string' || !accounts.has(login)) {
      return provider.interactionFinished(
        req,
        res,
        { error: 'access_denied', error_description: 'User denied access' },
        { mergeWithLastSubmission: false },
      );
    }
    if (details.prompt.name === 'login')
      return provider.interactionFinished(req, res, { login: { accountId: login } }, { mergeWithLastSubmission: false });
    const grant = new provider.Grant({ accountId: details.session!.accountId!, clientId: client.clientId });
    grant.addOIDCScope(String(details.params.scope ?? 'openid'));
    return provider.interactionFinished(
      req,
      res,
      { consent: { grantId: await grant.save() } },
      { mergeWithLastSubmission: true },
    );
  }

  async function userMe(req: IncomingMessage, res: ServerResponse) {
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const token = bearer ? await provider.AccessToken.find(bearer) : undefined;
    const account = token ? accounts.get(token.accountId) : undefined;
    // Kakao's documented error for a bad token: HTTP 401, code -401.
    if (!account) return json(res, 401, { msg: 'this access token does not exist', code: -401 });
    return json(res, 200, userMeOverride ? userMeOverride(account) : { ...account, connected_at: new Date().toISOString() });
  }

  let oidcHandler: (req: IncomingMessage, res: ServerResponse) => void = () => {};
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://fake').pathname;
    const done = (p: Promise<unknown>) => p.catch((err: Error) => json(res, 500, { msg: err.message, code: -500 }));
    if (path.startsWith('/interaction/')) return void done(interaction(req, res));
    if (path === '/v2/user/me' && req.method === 'GET') return void done(userMe(req, res));
    oidcHandler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  provider = new Provider(issuer, {
    clients: [
      {
        client_id: client.clientId,
        client_secret: client.clientSecret,
        redirect_uris: client.redirectUris,
        response_types: ['code'],
        grant_types: ['authorization_code'],
        // Kakao takes the client secret as a form parameter.
        token_endpoint_auth_method: 'client_secret_post',
      },
    ],
    jwks: { keys: [{ ...privateKey.export({ format: 'jwk' }), kid: 'kakao-fake', alg: 'RS256', use: 'sig' }] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    pkce: { required: () => true },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx: unknown, i: { uid: string }) => `/interaction/${i.uid}` },
    claims: { openid: ['sub'], profile: ['nickname'] },
    async findAccount(_ctx: unknown, sub: string) {
      const a = accounts.get(sub);
      return a ? { accountId: sub, claims: async () => ({ sub, nickname: a.kakao_account.profile?.nickname }) } : undefined;
    },
  });
  oidcHandler = provider.callback();

  return {
    issuer,
    addAccount: (a: KakaoAccount) => accounts.set(String(a.id), a),
    overrideUserMe(f: ((me: KakaoAccount) => KakaoAccount) | undefined) {
      userMeOverride = f;
    },
    /**
     * What the person's browser does: open the authorize URL, log in (or not) on Kakao's pages, and
     * follow the redirects (cookies kept) until Kakao sends it back to a redirect URI.
     */
    async login(authorizeUrl: string, sub: string | null): Promise<URL> {
      const cookies = new Map<string, string>();
      let url = new URL(authorizeUrl);
      for (let hop = 0; hop < 10; hop++) {
        if (client.redirectUris.some((r) => url.href.startsWith(r))) return url;
        const res = await fetch(url, {
          redirect: 'manual',
          headers: {
            cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; '),
            ...(sub ? { 'x-fake-kakao-login': sub } : {}),
          },
        });
        for (const c of res.headers.getSetCookie()) {
          const [pair] = c.split(';');
          const eq = pair!.indexOf('=');
          cookies.set(pair!.slice(0, eq), pair!.slice(eq + 1));
        }
        const location = res.headers.get('location');
        if (!location) throw new Error(`Kakao fake answered ${res.status} without a redirect: ${await res.text()}`);
        url = new URL(location, url);
      }
      throw new Error('too many redirects');
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
