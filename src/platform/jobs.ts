import type { Logger } from 'pino';
import { asSystem } from './db-context.ts';

// Periodic background work in the serving process. Each job runs on its own timer, never overlaps
// itself, and survives its own failures. Several processes may run the same jobs: every job must be
// safe to run concurrently (claim rows with SKIP LOCKED, use deterministic ids).
// Jobs sweep every tenant: they run as moa_system (db-context.ts), which row-level security lets see
// every row; each still names the tenant in every statement, as repositories do.

export type Job = { name: string; everyMs: number; run: () => Promise<unknown> };

/** A frequent job that keeps failing (the database is away) waits up to this long between runs. */
const BACKOFF_MAX_MS = 30_000;

export function startJobs(log: Logger, jobs: Job[]): { stop(): Promise<void> } {
  let stopped = false;
  const timers = new Set<NodeJS.Timeout>();
  const running = new Set<Promise<void>>();

  const schedule = (job: Job, delay: number, failures = 0) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      let next = job.everyMs;
      let failed = 0;
      const run = (async () => {
        try {
          const result = await asSystem(() => job.run());
          log.debug({ job: job.name, result }, 'job ran');
        } catch (err) {
          // Each failure in a row doubles the wait (never beyond the job's own period or 30 s,
          // whichever is longer); the first success restores the period.
          failed = failures + 1;
          next = Math.min(job.everyMs * 2 ** failed, Math.max(job.everyMs, BACKOFF_MAX_MS));
          log.error({ err, job: job.name, failures: failed, retryInMs: next }, 'job failed');
        }
      })();
      running.add(run);
      void run.finally(() => {
        running.delete(run);
        if (!stopped) schedule(job, next, failed);
      });
    }, delay);
    timers.add(timer);
  };
  // Spread first runs so jobs of processes started together do not fire in lockstep.
  for (const job of jobs) schedule(job, Math.floor(Math.random() * Math.min(job.everyMs, 5_000)));

  return {
    async stop() {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      await Promise.all(running);
    },
  };
}
