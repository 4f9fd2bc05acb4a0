// An operator's browser against a real `moa serve` (process tests): the console's own origin, JSON
// bodies, and the session cookie kept from answer to answer.

export type Answer = { status: number; body: Record<string, unknown> };
export type ConsoleBrowser = {
  base: string;
  cookie: string | undefined;
  send: (method: string, path: string, body?: unknown) => Promise<Answer>;
};

export function consoleBrowser(base: string): ConsoleBrowser {
  const browser: ConsoleBrowser = {
    base,
    cookie: undefined,
    send: async (method, path, body) => {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: {
          origin: base,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(browser.cookie ? { cookie: browser.cookie } : {}),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const set = /^(__Host-moa_operator=[^;]*)/.exec(res.headers.get('set-cookie') ?? '')?.[1];
      if (set !== undefined) browser.cookie = set === '__Host-moa_operator=' ? undefined : set;
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : {} };
    },
  };
  return browser;
}

/** Signs in with e-mail, password and a second factor; throws unless the session is full. */
export async function signIn(
  base: string,
  email: string,
  password: string,
  factor: { method: 'totp' | 'recovery_code'; code: string },
): Promise<ConsoleBrowser> {
  const b = consoleBrowser(base);
  const login = await b.send('POST', '/auth/login', { email, password });
  if (login.status !== 200) throw new Error(`login of ${email}: ${login.status} ${JSON.stringify(login.body)}`);
  const second = await b.send('POST', '/auth/second-factor', factor);
  if (second.status !== 200 || second.body.stage !== 'full')
    throw new Error(`second factor of ${email}: ${second.status} ${JSON.stringify(second.body)}`);
  return b;
}
