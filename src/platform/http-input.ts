import { type IncomingMessage, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifySchemaCompiler } from 'fastify';
import { type ZodType, z } from 'zod';
import { AppError, type FieldError, toProblem } from './errors.ts';
import { sendProblem } from './http.ts';
import { ulid } from './ids.ts';

// What every request goes through before a route sees it, one rule per class of bad input:
// strings without NUL, bodies without unknown fields, bodies in UTF-8 only, and the framework's
// and Node's own rejections (bad URL, oversized headers, unreadable bodies) as problem+json.

type ValidationIssue = {
  keyword: string;
  instancePath: string;
  schemaPath: string;
  message: string;
  params: Record<string, unknown>;
};

// Parsed input: JSON objects, query objects (whose prototype may be a bare one), never a stream or bytes.
const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v) && !(Symbol.asyncIterator in v);

/**
 * Keys of the input the schema's output does not have: fields the schema does not know, which
 * zod would drop silently (a typo `storeID` would become `storeId: undefined`). Walks input and
 * output side by side, so unions, defaults and loose objects are judged by what the schema kept.
 */
function unknownKeys(input: unknown, output: unknown, path: string[], found: string[][]): string[][] {
  if (isPlainObject(input) && isPlainObject(output)) {
    for (const key of Object.keys(input)) {
      if (!Object.hasOwn(output, key)) found.push([...path, key]);
      else unknownKeys(input[key], output[key], [...path, key], found);
    }
  } else if (Array.isArray(input) && Array.isArray(output) && input.length === output.length) {
    input.forEach((item, i) => unknownKeys(item, output[i], [...path, String(i)], found));
  }
  return found;
}

const issue = (path: (string | number)[], keyword: string, message: string): ValidationIssue => ({
  keyword,
  instancePath: `/${path.join('/')}`,
  schemaPath: `#/${path.join('/')}/${keyword}`,
  message,
  params: {},
});

/**
 * zod validation for every part of a request; a body or a query string must not carry fields its
 * schema does not name (a typo `?stauts=` would otherwise list everything).
 */
export const validatorCompiler: FastifySchemaCompiler<ZodType> =
  ({ schema, httpPart }) =>
  (data: unknown) => {
    const result = schema.safeParse(data);
    if (!result.success) {
      return { error: result.error.issues.map((i) => issue(i.path as (string | number)[], i.code, i.message)) };
    }
    if (httpPart === 'body' || httpPart === 'querystring') {
      const extra = unknownKeys(data, result.data, [], []);
      if (extra.length) return { error: extra.map((p) => issue(p, 'unrecognized_keys', 'is not a field of this request')) };
    }
    return { value: result.data };
  };

/** Paths of the strings (values or keys) holding a NUL character, which no text column can store. */
function nulPaths(value: unknown, path: string[], found: string[], depth = 0): string[] {
  if (typeof value === 'string') {
    if (value.includes('\u0000')) found.push(path.join('.'));
  } else if (depth < 64 && (Array.isArray(value) || isPlainObject(value))) {
    for (const [key, item] of Object.entries(value)) {
      if (key.includes('\u0000')) found.push([...path, JSON.stringify(key)].join('.'));
      else nulPaths(item, [...path, key], found, depth + 1);
    }
  }
  return found;
}

const UTF8 = /^"?utf-?8"?$/i;

/** The charset parameter of a Content-Type, lower-cased, or undefined. */
function charsetOf(contentType: string): string | undefined {
  for (const param of contentType.split(';').slice(1)) {
    const [name, ...rest] = param.split('=');
    if (name?.trim().toLowerCase() === 'charset') return rest.join('=').trim();
  }
  return undefined;
}

const hasBody = (req: FastifyRequest) =>
  req.headers['transfer-encoding'] !== undefined ||
  (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');

// A body the route did not read to the end (a CSV rejected at its header) is read off the wire
// after the response, so the next request on a keep-alive connection is parsed at once; a body
// larger than this, or of unknown length, closes the connection instead.
const DRAIN_LIMIT_BYTES = 4 * 1024 * 1024;

function drainable(req: FastifyRequest): boolean {
  const length = Number(req.headers['content-length']);
  return req.headers['transfer-encoding'] === undefined && Number.isSafeInteger(length) && length <= DRAIN_LIMIT_BYTES;
}

/** Registers the input rules for every route of the app (call before any route is registered). */
export function registerInputGuards(app: FastifyInstance): void {
  // An API route without query parameters refuses any (an empty query schema); pages keep theirs.
  app.addHook('onRoute', (route) => {
    if (!/^\/(v1|platform\/v1|auth)\//.test(route.url) || route.schema?.querystring) return;
    route.schema = { ...route.schema, querystring: z.object({}) };
  });

  // Only JSON (and the content types routes add: CSV, HTML forms) is a body; text/plain is a 415.
  app.removeContentTypeParser('text/plain');

  app.addHook('preParsing', async (req) => {
    const type = req.headers['content-type'];
    if (!type || !hasBody(req)) return;
    const charset = charsetOf(type);
    if (charset !== undefined && !UTF8.test(charset)) {
      throw new AppError('UNSUPPORTED_MEDIA_TYPE', `Bodies are read as UTF-8; charset ${charset} is not accepted.`, { charset });
    }
  });

  app.addHook('preValidation', async (req) => {
    const fields = [
      ...nulPaths(req.params, ['params'], []),
      ...nulPaths(req.query, ['querystring'], []),
      ...nulPaths(req.body, ['body'], []),
    ];
    if (fields.length) {
      const errors: FieldError[] = fields.map((field) => ({
        field,
        message: 'must not contain a NUL character (U+0000)',
        code: 'nul_character',
      }));
      throw new AppError('VALIDATION_FAILED', errors.map((e) => `${e.field}: ${e.message}`).join('; '), undefined, errors);
    }
  });

  app.addHook('onSend', async (req, reply) => {
    if (!req.raw.complete && hasBody(req) && (req.raw.destroyed || !drainable(req))) reply.header('connection', 'close');
  });
  app.addHook('onResponse', async (req) => {
    const raw = req.raw;
    if (raw.complete || raw.destroyed || typeof raw.resume !== 'function') return;
    let read = 0;
    raw.on('data', (chunk: Buffer) => {
      read += chunk.length;
      if (read > DRAIN_LIMIT_BYTES) raw.socket?.destroy();
    });
    raw.resume();
  });
}

/**
 * The content-type parser of a streamed body (CSV uploads): the route reads it as an async
 * iterable; stopping early (a bad header) leaves the rest to be drained, not the connection stuck.
 */
export function streamedBody(
  _req: FastifyRequest,
  payload: IncomingMessage,
  done: (err: Error | null, body?: unknown) => void,
): void {
  done(null, payload.iterator({ destroyOnReturn: false }));
}

/** Fastify's own rejections before routing (the `frameworkErrors` option): a bad URL, an over-long path parameter. */
export function frameworkErrors(err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  let error: AppError;
  if (err.code === 'FST_ERR_BAD_URL')
    error = new AppError('BAD_REQUEST', 'The URL is not validly %-encoded.', { reason: 'bad_url' });
  else if (err.code === 'FST_ERR_MAX_PARAM_LENGTH')
    error = new AppError('URI_TOO_LONG', 'A path parameter is longer than the server accepts.');
  else error = new AppError('BAD_REQUEST', 'The request could not be routed.');
  reply.header('x-request-id', req.id);
  sendProblem(req, reply, error);
}

/** A header overflow is the URI's fault when the request line is longer than the headers read after it. */
function uriOverflow(raw: unknown): boolean {
  if (!Buffer.isBuffer(raw)) return false;
  const lineEnd = raw.indexOf('\r\n');
  if (lineEnd < 0) return true;
  const headersEnd = raw.indexOf('\r\n\r\n');
  return lineEnd > (headersEnd < 0 ? raw.length : headersEnd) - lineEnd;
}

/**
 * Node's HTTP parser rejections, before Fastify sees a request (the `clientErrorHandler` option):
 * headers or request line too large, Content-Length with Transfer-Encoding, malformed requests,
 * timeouts. Written as a raw problem+json response, then the connection is closed.
 */
export function clientErrorHandler(err: Error & { code?: string; rawPacket?: unknown }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  let error: AppError;
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') error = new AppError('REQUEST_TIMEOUT', 'The request was not received in time.');
  else if (err.code === 'HPE_HEADER_OVERFLOW' && uriOverflow(err.rawPacket))
    error = new AppError('URI_TOO_LONG', 'The request line is longer than the server accepts.');
  else if (err.code === 'HPE_HEADER_OVERFLOW')
    error = new AppError('HEADERS_TOO_LARGE', 'The request headers are larger than the server accepts.');
  else error = new AppError('BAD_REQUEST', 'The request is not valid HTTP/1.1.', { reason: err.code ?? 'parse_error' });
  const requestId = `req_${ulid()}`;
  const body = JSON.stringify(toProblem(error, undefined, requestId));
  const response = socket as Socket & { _httpMessage?: { headersSent?: boolean } };
  if (socket.writable && !response._httpMessage?.headersSent) {
    socket.write(
      `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? 'Error'}\r\n` +
        `Content-Type: application/problem+json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `X-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}
