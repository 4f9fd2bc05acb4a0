import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { Clock } from './clock.ts';
import type { Db } from './db.ts';
import type { OutboxWorker } from './outbox.ts';

/**
 * Everything a service may need, built once in main.ts (or a test) and passed down explicitly.
 * A service that runs inside another's transaction gets `{ ...deps, db: trx }`.
 */
export type Deps = {
  config: Config;
  db: Db;
  log: Logger;
  clock: Clock;
  outbox: OutboxWorker;
  /** Encrypts personal data at rest (MOA_MASTER_KEY, or the generated key of an embedded install). */
  masterKey: Buffer;
};
