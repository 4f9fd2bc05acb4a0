// A local 네이버 로그인 for tests: real HTTP servers on loopback ports standing in for nid.naver.com
// (GET /oauth2.0/authorize, /oauth2.0/token) and openapi.naver.com (GET /v1/nid/me), answering as the
// "네이버 로그인 API 명세" and the profile API document say, errors included (a bad code is HTTP 200
// with `{ error, error_description }`; a bad token is `{ resultcode: '024' }`).
// The person's login on Naver's page is the `x-fake-naver-login` header of the authorize request.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type NaverProfile = {
  id: string;
  email?: string;
  name?: string;
  nickname?: string;
  mobile?: string;
  birthday?: string;
  birthyear?: string;
  gender?: 'F' | 'M' | 'U';
};

export type NaverFake = Awaited<ReturnType<typeof startNaverFake>>;

export async function startNaverFake(client: { clientId: string; clientSecret: string }) {
  const users = new Map<string, NaverProfile>();
  const codes = new Map<string, { user: string; state: string; redirectUri: string }>();
  const tokens = new Map<string, string>();
  const tokenRequests: URLSearchParams[] = [];

  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json;charset=utf-8' });
    res.end(JSON.stringify(body));
  };
  const token = () => randomBytes(24).toString('base64url');

  async function auth(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://fake');
    if (url.pathname === '/oauth2.0/authorize' && req.method === 'GET') {
      const q = url.searchParams;
      if (
        q.get('response_type') !== 'code' ||
        q.get('client_id') !== client.clientId ||
        !q.get('state') ||
        !q.get('redirect_uri')
      ) {
        return json(res, 200, { error: 'invalid_request', error_description: 'invalid authorize parameters' });
      }
      const back = new URL(q.get('redirect_uri')!);
      back.searchParams.set('state', q.get('state')!);
      const login = req.headers['x-fake-naver-login'];
      if (typeof login !== 'string' || !users.has(login)) {
        back.searchParams.set('error', 'access_denied');
        back.searchParams.set('error_description', 'Canceled By User');
      } else {
        const code = token();
        codes.set(code, { user: login, state: q.get('state')!, redirectUri: q.get('redirect_uri')! });
        back.searchParams.set('code', code);
      }
      res.writeHead(302, { location: back.href });
      return res.end();
    }
    if (url.pathname === '/oauth2.0/token') {
      let raw = '';
      for await (const chunk of req) raw += chunk;
      const p = new URLSearchParams(req.method === 'POST' ? raw : url.search);
      tokenRequests.push(p);
      if (p.get('client_id') !== client.clientId || p.get('client_secret') !== client.clientSecret) {
        return json(res, 200, { error: 'invalid_client', error_description: 'client authentication failed' });
      }
      const code = codes.get(p.get('code') ?? '');
      if (p.get('grant_type') !== 'authorization_code' || !code || code.state !== p.get('state')) {
        return json(res, 200, { error: 'invalid_request', error_description: 'no valid data in session' });
      }
      codes.delete(p.get('code')!); // single use
      const access = token();
      tokens.set(access, code.user);
      return json(res, 200, { access_token: access, refresh_token: token(), token_type: 'bearer', expires_in: '3600' });
    }
    return json(res, 404, { error: 'not_found' });
  }

  function api(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://fake');
    if (url.pathname !== '/v1/nid/me' || req.method !== 'GET') return json(res, 404, { resultcode: '404', message: 'Not Found' });
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const user = bearer ? tokens.get(bearer) : undefined;
    if (!user) return json(res, 401, { resultcode: '024', message: 'Authentication failed / 인증에 실패했습니다.' });
    return json(res, 200, { resultcode: '00', message: 'success', response: users.get(user) });
  }

  const listen = async (handler: (req: IncomingMessage, res: ServerResponse) => unknown) => {
    const server = createServer((req, res) => {
      Promise.resolve(handler(req, res)).catch((err: Error) =>
        json(res, 500, { error: 'server_error', error_description: err.message }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
  };
  const nid = await listen(auth);
  const openapi = await listen(api);

  return {
    authBaseUrl: nid.url,
    apiBaseUrl: openapi.url,
    tokenRequests,
    addUser: (profile: NaverProfile) => users.set(profile.id, profile),
    /** Every access token stops working (the person withdrew consent). */
    revokeTokens: () => tokens.clear(),
    /** What the person's browser does: open the authorize URL, log in as `userId`, follow back. */
    async login(authorizeUrl: string, userId: string | null): Promise<URL> {
      const res = await fetch(authorizeUrl, { redirect: 'manual', headers: userId ? { 'x-fake-naver-login': userId } : {} });
      if (res.status !== 302) throw new Error(`authorize answered ${res.status}: ${await res.text()}`);
      return new URL(res.headers.get('location')!);
    },
    close: () => Promise.all([nid.server, openapi.server].map((s) => new Promise<void>((resolve) => s.close(() => resolve())))),
  };
}
