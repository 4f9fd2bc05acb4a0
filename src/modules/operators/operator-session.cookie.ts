import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../platform/errors.ts';

// The operator session cookie and the checks that go with it. `__Host-` makes the browser insist
// on Secure, Path=/ and no Domain; HttpOnly keeps it from scripts; SameSite=Strict keeps it off
// cross-site requests, and the Origin check below refuses the rest (CSRF).

export const SESSION_COOKIE = '__Host-moa_operator';

export function sessionCookie(req: FastifyRequest): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function setSessionCookie(reply: FastifyReply, token: string, expiresAt: Date): void {
  reply.header(
    'set-cookie',
    `${SESSION_COOKIE}=${token}; Path=/; Secure; HttpOnly; SameSite=Strict; Expires=${expiresAt.toUTCString()}`,
  );
}

export function clearSessionCookie(reply: FastifyReply): void {
  reply.header('set-cookie', `${SESSION_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0`);
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

/**
 * Secure cookies need HTTPS; browsers treat loopback as secure, so plain HTTP works there only.
 * Behind a TLS proxy, TRUST_PROXY makes req.protocol read X-Forwarded-Proto.
 */
export function requireSecureTransport(req: FastifyRequest): void {
  if (req.protocol === 'https' || LOOPBACK.has(req.hostname)) return;
  throw new AppError('TLS_REQUIRED', 'Serve the console over HTTPS: operator sessions use Secure cookies.');
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * CSRF: a state-changing request carrying the session cookie must name this server as its Origin
 * and send JSON (a cross-site form cannot).
 */
export function checkCsrf(req: FastifyRequest): void {
  if (SAFE.has(req.method)) return;
  const origin = req.headers.origin;
  let sameOrigin = false;
  try {
    sameOrigin = origin !== undefined && new URL(origin).origin === new URL(`${req.protocol}://${req.host}`).origin;
  } catch {}
  const type = req.headers['content-type'];
  const simple = type !== undefined && !/^application\/(problem\+)?json\b/i.test(type);
  if (!sameOrigin || simple) {
    throw new AppError('CSRF_REJECTED', 'Cross-site request refused: send it from the console’s own origin, as JSON.', {
      origin: origin ?? null,
    });
  }
}
