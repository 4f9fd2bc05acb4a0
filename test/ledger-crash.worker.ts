// Posts the crash test's transactions, every id from the first: those already posted by an earlier,
// killed run must replay, the others post. Usage: ledger-crash.worker.ts <config json>

import { drainLedger, post } from '../src/modules/ledger/index.ts';
import { createDatabase } from '../src/platform/db.ts';
import { type CrashSetup, crashOps } from './ledger-crash.ops.ts';

const setup = JSON.parse(process.argv[2]!) as CrashSetup & { databaseUrl?: string; dataDir?: string };
const database = await createDatabase({ databaseUrl: setup.databaseUrl, dataDir: setup.dataDir, unscoped: 'system' });
const ops = crashOps(setup);
let replayed = 0;
for (let i = 0; i < ops.length; i += 50) {
  const results = await Promise.all(ops.slice(i, i + 50).map((tx) => post({ db: database.db }, tx)));
  for (const r of results) {
    if (r.status !== 'posted') throw new Error(`unexpected outcome ${JSON.stringify(r)}`);
    if (r.replayed) replayed++;
  }
  process.stdout.write(`progress ${i + 50}\n`);
}
await drainLedger(database.db);
await database.close();
process.stdout.write(`done replayed=${replayed}\n`);
