import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import pino from 'pino';
import { startJobs } from './jobs.ts';

test('a job that keeps failing (its database away) backs off, then runs at its period again after a success', async () => {
  const logged: { failures: number; retryInMs: number }[] = [];
  const capture = new Writable({
    write(line, _enc, done) {
      const entry = JSON.parse(String(line));
      if (entry.msg === 'job failed') logged.push({ failures: entry.failures, retryInMs: entry.retryInMs });
      done();
    },
  });
  // Fails four times (as a query does while PostgreSQL restarts), then succeeds, then fails once more.
  const outcomes = ['fail', 'fail', 'fail', 'fail', 'ok', 'fail'];
  let runs = 0;
  const jobs = startJobs(pino({ level: 'error' }, capture), [
    {
      name: 'flaky',
      everyMs: 5,
      run: async () => {
        if (outcomes[runs++] === 'fail')
          throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
      },
    },
  ]);
  while (runs < outcomes.length + 1) await new Promise((r) => setTimeout(r, 5));
  await jobs.stop();
  assert.deepEqual(logged, [
    { failures: 1, retryInMs: 10 },
    { failures: 2, retryInMs: 20 },
    { failures: 3, retryInMs: 40 },
    { failures: 4, retryInMs: 80 },
    { failures: 1, retryInMs: 10 },
  ]);
});
