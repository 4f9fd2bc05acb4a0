// The Moa API client for a brand's TypeScript/JavaScript servers: openapi-fetch over the types
// generated from the OpenAPI document (moa-api.d.ts), so every path, parameter, body and answer is
// checked by the compiler. See sdk/README.md.
import { randomUUID } from 'node:crypto';
import createClient, { type Middleware } from 'openapi-fetch';
import type { components, paths } from './moa-api.d.ts';

export type { components, paths };
/** An error answer of the API (application/problem+json). */
export type Problem = components['schemas']['Problem'];

export type MoaClientOptions = {
  /** The server, e.g. https://api.moa.example (no trailing /v1). */
  baseUrl: string;
  /** A tenant API key (moa_server_…, moa_pos_…, moa_app_…) or the platform token. */
  apiKey: string;
  /** A fetch of your own (tests, proxies); globalThis.fetch by default. */
  fetch?: typeof fetch;
};

/**
 * A typed client. Writes get an Idempotency-Key unless you pass one: a retry of the same call
 * (pass the same key) is answered with the first response and has no second effect.
 *
 *   const moa = createMoaClient({ baseUrl, apiKey });
 *   const { data, error } = await moa.GET('/v1/stores', { params: { query: { limit: 50 } } });
 */
export function createMoaClient(options: MoaClientOptions) {
  const client = createClient<paths>({ baseUrl: options.baseUrl, ...(options.fetch ? { fetch: options.fetch } : {}) });
  const auth: Middleware = {
    onRequest({ request }) {
      request.headers.set('authorization', `Bearer ${options.apiKey}`);
      if (request.method !== 'GET' && !request.headers.has('idempotency-key'))
        request.headers.set('idempotency-key', randomUUID());
      return request;
    },
  };
  client.use(auth);
  return client;
}

export type MoaClient = ReturnType<typeof createMoaClient>;

/** Every page of a list route, following nextCursor. */
export async function* pages<T>(
  fetchPage: (
    cursor: string | undefined,
  ) => Promise<{ data?: { items: T[]; nextCursor: string | null } | undefined; error?: unknown }>,
): AsyncGenerator<T> {
  let cursor: string | undefined;
  do {
    const { data, error } = await fetchPage(cursor);
    if (!data) throw Object.assign(new Error('Moa list page failed'), { problem: error });
    yield* data.items;
    cursor = data.nextCursor ?? undefined;
  } while (cursor);
}
