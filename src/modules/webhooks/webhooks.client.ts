import { lookup as dnsLookup } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { excerpt, isPublicAddress } from './webhooks.rules.ts';

// The HTTP side of a delivery (node:http, no dependency). The address check sits in the socket's
// own lookup: the connection goes to exactly the address that was checked, so a name that
// resolves to a public address for a check and to 127.0.0.1 a moment later (DNS rebinding) is
// refused on the connection itself. Redirects are never followed (a 3xx is a failure).

export class AddressRefused extends Error {
  readonly host: string;
  readonly address: string;
  constructor(host: string, address: string) {
    super(`${host} resolves to ${address}, which is not a public address`);
    this.host = host;
    this.address = address;
  }
}

/** A lookup that answers only public addresses (every one the name has must be public). */
export function checkedLookup(allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const list = addresses as { address: string; family: number }[];
      const bad = allowPrivate ? undefined : list.find((a) => !isPublicAddress(a.address));
      if (bad) return callback(new AddressRefused(hostname, bad.address), '', 0);
      if (options.all) return (callback as unknown as (e: null, a: typeof list) => void)(null, list);
      const first = list[0];
      if (!first) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 0);
      callback(null, first.address, first.family);
    });
  };
}

/** Every address a URL's host resolves to, checked: the refused one, or null when all are public. */
export async function refusedAddress(rawUrl: string): Promise<{ host: string; address: string } | null> {
  const host = new URL(rawUrl).hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) return isPublicAddress(host) ? null : { host, address: host };
  const addresses = await new Promise<{ address: string }[]>((resolve, reject) =>
    dnsLookup(host, { all: true }, (err, list) => (err ? reject(err) : resolve(list))),
  );
  const bad = addresses.find((a) => !isPublicAddress(a.address));
  return bad ? { host, address: bad.address } : null;
}

export type Delivery = {
  status: number | null;
  error: string | null;
  latencyMs: number;
  excerpt: string;
  retryAfterS?: number;
};

export type WebhookClient = {
  post(url: string, headers: Record<string, string>, body: string): Promise<Delivery>;
  close(): void;
};

/** Reads at most this much of a response: the excerpt keeps 1 KB, the rest is discarded. */
const READ_LIMIT = 64 * 1024;

export function createWebhookClient(options: { allowPrivate: boolean; timeoutMs: number }): WebhookClient {
  const lookup = checkedLookup(options.allowPrivate);
  // Keep-alive agents: a reused connection goes to an address that was checked when it opened.
  const agents = {
    http: new http.Agent({ keepAlive: true, maxSockets: 32, lookup }),
    https: new https.Agent({ keepAlive: true, maxSockets: 32, lookup }),
  };
  return {
    post(rawUrl, headers, body) {
      const started = performance.now();
      const done = (d: Omit<Delivery, 'latencyMs'>): Delivery => ({ ...d, latencyMs: Math.round(performance.now() - started) });
      return new Promise<Delivery>((resolve) => {
        let url: URL;
        try {
          url = new URL(rawUrl);
        } catch {
          return resolve(done({ status: null, error: 'invalid URL', excerpt: '' }));
        }
        // A literal IP skips the lookup: check it here.
        const literal = url.hostname.replace(/^\[|\]$/g, '');
        if (isIP(literal) && !options.allowPrivate && !isPublicAddress(literal))
          return resolve(done({ status: null, error: new AddressRefused(literal, literal).message, excerpt: '' }));
        const secure = url.protocol === 'https:';
        let settled = false;
        const finish = (d: Omit<Delivery, 'latencyMs'>) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve(done(d));
        };
        const req = (secure ? https : http).request(
          url,
          {
            method: 'POST',
            agent: secure ? agents.https : agents.http,
            headers: { 'content-type': 'application/json', 'user-agent': 'Moa-Webhooks/1', ...headers },
          },
          (res) => {
            const chunks: Buffer[] = [];
            let size = 0;
            res.on('data', (c: Buffer) => {
              if (size < READ_LIMIT) chunks.push(c);
              size += c.length;
            });
            res.on('end', () => {
              const retryAfter = Number(res.headers['retry-after']);
              finish({
                status: res.statusCode ?? null,
                error: null,
                excerpt: excerpt(Buffer.concat(chunks)),
                ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfterS: retryAfter } : {}),
              });
            });
            res.on('error', (err) => finish({ status: res.statusCode ?? null, error: err.message, excerpt: '' }));
          },
        );
        // The whole exchange, connect to last byte, within the timeout: a receiver that hangs fails.
        const timer = setTimeout(() => {
          finish({ status: null, error: `timed out after ${options.timeoutMs} ms`, excerpt: '' });
          req.destroy();
        }, options.timeoutMs);
        req.on('error', (err) => finish({ status: null, error: err.message.slice(0, 500), excerpt: '' }));
        req.end(body);
      });
    },
    close() {
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}
