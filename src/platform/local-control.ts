import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { isAlive } from './data-dir.ts';
import { asSystem } from './db-context.ts';
import type { Deps } from './deps.ts';
import { AppError, ERROR_CODES, type ErrorCode, type FieldError } from './errors.ts';

// The CLI beside a running embedded server. PGlite belongs to one process, so while `moa serve`
// holds DATA_DIR a CLI command hands its work to that server: serve writes DATA_DIR/server.json
// (its URL, pid and a token drawn at each start; mode 0600, beside master.key; removed on
// shutdown), and POST /_local/cli/<command> runs the command in the server for a caller on this
// machine that presents the token. With DATABASE_URL the route does not exist: the CLI opens the
// database itself, as many processes may.

/** What a command needs of its process unless it handles personal data. */
export type CommandDeps = Pick<Deps, 'config' | 'db' | 'log' | 'clock'>;
type Context = { baseUrl: string };
type Common<I, O> = {
  /** The command's input, checked by the CLI (usage errors) and again by the server. */
  input: z.ZodType<I>;
  /** What the CLI prints of the result (pretty JSON by default). */
  print?: (result: O) => string;
  /** The CLI's exit status for a result that reports a failure (audit verify: a broken chain). */
  exitCode?: (result: O) => number;
};

/**
 * A command the CLI runs either itself (on its own connection) or through the running server. One
 * that seals or opens personal data (`pii`) gets the master key, with the data keys loaded.
 */
export type LocalCommand<I = unknown, O = unknown> = Common<I, O> &
  (
    | { pii: false; run: (deps: CommandDeps, input: I, ctx: Context) => Promise<O> }
    | { pii: true; run: (deps: Deps, input: I, ctx: Context) => Promise<O> }
  );
export type LocalCommands = Record<string, LocalCommand>;

/** Declares a command (its types checked) for a registry of commands of any types. */
export const localCommand = <I, O>(c: Common<I, O> & { run: (deps: CommandDeps, input: I, ctx: Context) => Promise<O> }) =>
  ({ ...c, pii: false }) as unknown as LocalCommand;
/** Declares a command that handles personal data. */
export const piiCommand = <I, O>(c: Common<I, O> & { run: (deps: Deps, input: I, ctx: Context) => Promise<O> }) =>
  ({ ...c, pii: true }) as unknown as LocalCommand;

export const SERVER_FILE = 'server.json';
export type LiveServer = { url: string; pid: number; token: string };

/** A new token for this start of the server: 256 random bits. */
export const newLocalToken = () => `moa_local_${randomBytes(32).toString('base64url')}`;

/**
 * Writes DATA_DIR/server.json for this process (atomically, mode 0600). The returned function
 * removes it, unless another process has written its own since.
 */
export function writeServerFile(dataDir: string, server: { url: string; token: string }): () => void {
  const file = join(dataDir, SERVER_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  rmSync(tmp, { force: true });
  const content: LiveServer & { startedAt: string } = { ...server, pid: process.pid, startedAt: new Date().toISOString() };
  writeFileSync(tmp, `${JSON.stringify(content, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  renameSync(tmp, file);
  return () => {
    try {
      if (JSON.parse(readFileSync(file, 'utf8')).pid === process.pid) rmSync(file, { force: true });
    } catch {}
  };
}

/**
 * The server DATA_DIR/server.json names, when its process is alive; a file left by a process that
 * died is ignored (the next `moa serve` replaces it). Whether it still answers is for the call.
 */
export function liveServer(dataDir: string): LiveServer | undefined {
  let parsed: Partial<LiveServer>;
  try {
    parsed = JSON.parse(readFileSync(join(dataDir, SERVER_FILE), 'utf8'));
  } catch {
    return undefined;
  }
  const { url, pid, token } = parsed;
  if (typeof url !== 'string' || typeof token !== 'string' || !Number.isInteger(pid) || !isAlive(pid!)) return undefined;
  return { url, pid: pid!, token };
}

/** No server listens where server.json says (it stopped or crashed): nothing was sent. */
export class ServerUnreachableError extends Error {}

/** Runs a command in the live server; its problem answers come back as the AppError it threw. */
export function callServer(server: LiveServer, name: string, input: unknown): Promise<unknown> {
  const body = JSON.stringify(input);
  const url = new URL(`/_local/cli/${encodeURIComponent(name)}`, server.url);
  return new Promise((resolve, reject) => {
    // node:http rather than fetch: a long command (a key rotation re-sealing every value) may take
    // longer than fetch waits for response headers.
    const req = request(
      url,
      {
        method: 'POST',
        headers: {
          authorization: `Bearer ${server.token}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('error', reject);
        res.on('end', () => {
          let answer: {
            result?: unknown;
            code?: string;
            detail?: string;
            details?: Record<string, unknown>;
            errors?: FieldError[];
          };
          try {
            answer = JSON.parse(text);
          } catch {
            return reject(
              new Error(`The server at ${server.url} (pid ${server.pid}) answered ${res.statusCode}: ${text.slice(0, 200)}`),
            );
          }
          if (res.statusCode === 200) return resolve(answer.result);
          if (answer.code && Object.hasOwn(ERROR_CODES, answer.code))
            return reject(new AppError(answer.code as ErrorCode, answer.detail ?? '', answer.details, answer.errors));
          reject(new Error(`The server at ${server.url} (pid ${server.pid}) answered ${res.statusCode}: ${text.slice(0, 200)}`));
        });
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'ECONNREFUSED' ? new ServerUnreachableError(`${server.url}: ${err.message}`) : err),
    );
    req.end(body);
  });
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;

/**
 * A connection from this machine: from a loopback address, or from the address it reached (a
 * server bound to one interface). A request a proxy forwarded is not, whatever its socket says.
 */
function fromThisMachine(req: FastifyRequest): boolean {
  const { remoteAddress, localAddress } = req.raw.socket;
  if (req.headers['x-forwarded-for'] !== undefined || req.headers.forwarded !== undefined) return false;
  return remoteAddress !== undefined && (LOOPBACK.test(remoteAddress) || remoteAddress === localAddress);
}

const sha256 = (s: string) => createHash('sha256').update(s).digest();

/** POST /_local/cli/:command: the running server does a CLI command's work (not in the API docs). */
export function registerLocalControl(app: FastifyInstance, deps: Deps, token: string, commands: LocalCommands): void {
  const expected = sha256(token);
  app.post('/_local/cli/:command', { schema: { hide: true } }, async (req) => {
    if (!fromThisMachine(req)) throw new AppError('NOT_FOUND', `No route ${req.method} ${req.url}.`);
    const given = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
    if (given === undefined || !timingSafeEqual(sha256(given), expected))
      throw new AppError('UNAUTHENTICATED', `The local CLI token is not this server's (see ${SERVER_FILE} in its data folder).`);
    const name = (req.params as { command: string }).command;
    const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
    if (!command) throw new AppError('NOT_FOUND', `No CLI command ${name} in this server (version mismatch?).`);
    const input = command.input.safeParse(req.body);
    if (!input.success) {
      const errors = input.error.issues.map((i) => ({ field: i.path.join('.') || 'input', message: i.message, code: i.code }));
      throw new AppError('VALIDATION_FAILED', errors.map((e) => `${e.field}: ${e.message}`).join('; '), undefined, errors);
    }
    req.log.info({ command: name }, 'CLI command');
    // The CLI works across tenants (tenant list, an operator of any tenant): moa_system.
    const result = await asSystem(() => command.run(deps, input.data, { baseUrl: `${req.protocol}://${req.host}` }));
    return { result: result ?? null };
  });
}
