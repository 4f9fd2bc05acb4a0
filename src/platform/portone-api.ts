// A minimal client for the PortOne V2 REST API (https://developers.portone.io/api/rest-v2), shared by
// the identity and prepaid adapters. The field names and error types are those of
// @portone/server-sdk's types; we call the API with fetch ourselves so the base URL (a local fake in
// tests), the fetch function and a timeout are explicit, which the SDK's clients do not allow.

export type PortOneOptions = {
  /** The V2 API secret (`Authorization: PortOne <secret>`). */
  apiSecret: string;
  /** Default https://api.portone.io. */
  baseUrl?: string | undefined;
  /** The store to act for (a sub-store); omitted, PortOne uses the secret's store. */
  storeId?: string | undefined;
  fetch?: typeof fetch | undefined;
  /** Per request; default 10 s. */
  timeoutMs?: number | undefined;
};

/** An error body as PortOne documents them: `{ type: 'PAYMENT_NOT_FOUND', message }`, plus a type's own fields (PG_PROVIDER's `pgCode`). */
export type PortOneErrorBody = { type: string; message?: string | undefined; [field: string]: unknown };

export type PortOneResponse<T> = { ok: true; status: number; data: T } | { ok: false; status: number; error: PortOneErrorBody };

/** Thrown when PortOne could not be asked at all (network, timeout, a body that is not PortOne's). */
export class PortOneUnreachable extends Error {}

export const PORTONE_DEFAULT_BASE_URL = 'https://api.portone.io';

export function portoneApi(options: PortOneOptions) {
  const base = (options.baseUrl ?? PORTONE_DEFAULT_BASE_URL).replace(/\/+$/, '');
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 10_000;
  return {
    storeId: options.storeId,
    async request<T>(method: 'GET' | 'POST', path: string, body?: Record<string, unknown>): Promise<PortOneResponse<T>> {
      let res: Response;
      try {
        res = await doFetch(`${base}${path}`, {
          method,
          headers: {
            authorization: `PortOne ${options.apiSecret}`,
            accept: 'application/json',
            ...(body ? { 'content-type': 'application/json' } : {}),
          },
          ...(body ? { body: JSON.stringify(body) } : {}),
          signal: AbortSignal.timeout(timeoutMs),
          redirect: 'error',
        });
      } catch (err) {
        throw new PortOneUnreachable(`PortOne ${method} ${path}: ${(err as Error).message}`, { cause: err });
      }
      let json: unknown;
      try {
        json = await res.json();
      } catch {
        throw new PortOneUnreachable(`PortOne ${method} ${path}: HTTP ${res.status} without a JSON body`);
      }
      if (res.ok) return { ok: true, status: res.status, data: json as T };
      const type = (json as { type?: unknown } | null)?.type;
      if (typeof type !== 'string')
        throw new PortOneUnreachable(`PortOne ${method} ${path}: HTTP ${res.status} without an error type`);
      const message = (json as { message?: unknown }).message;
      return {
        ok: false,
        status: res.status,
        error: { ...(json as object), type, message: typeof message === 'string' ? message : undefined },
      };
    },
  };
}

/** The `storeId` query string PortOne's GET endpoints take, or nothing. */
export const storeQuery = (storeId: string | undefined) => (storeId ? `?${new URLSearchParams({ storeId })}` : '');
