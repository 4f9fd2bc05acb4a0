// A small closed-loop HTTP load generator: `clients` concurrent keep-alive connections, each sending
// its next request as soon as the previous answer arrives, for a fixed duration.
import { Agent, request } from 'node:http';

export type LoadSpec = {
  /** Several: requests go to each in turn (several server processes behind one load). */
  url: string | string[];
  method?: string;
  headers?: (i: number) => Record<string, string>;
  body?: (i: number) => string | undefined;
  clients: number;
  durationMs: number;
  /** Status codes that count as success (default 2xx). */
  ok?: (status: number) => boolean;
  /** Stop after this many requests (default: only the duration). */
  requests?: number;
};

export type LoadResult = {
  requests: number;
  errors: number;
  seconds: number;
  req_per_s: number;
  p50_ms: number;
  p99_ms: number;
  statuses: Record<number, number>;
};

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: spec.clients });
  const urls = (Array.isArray(spec.url) ? spec.url : [spec.url]).map((u) => new URL(u));
  const ok = spec.ok ?? ((s) => s >= 200 && s < 300);
  const latencies: number[] = [];
  let errors = 0;
  let seq = 0;
  const statuses: Record<number, number> = {};
  const started = performance.now();
  const deadline = started + spec.durationMs;

  const one = (i: number) =>
    new Promise<void>((resolve) => {
      const body = spec.body?.(i);
      const t0 = performance.now();
      const url = urls[i % urls.length]!;
      const req = request(
        {
          agent,
          host: url.hostname,
          port: url.port,
          path: url.pathname + url.search,
          method: spec.method ?? 'GET',
          headers: {
            ...(body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {}),
            ...spec.headers?.(i),
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            statuses[res.statusCode ?? 0] = (statuses[res.statusCode ?? 0] ?? 0) + 1;
            if (ok(res.statusCode ?? 0)) latencies.push(performance.now() - t0);
            else errors++;
            resolve();
          });
        },
      );
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end(body);
    });

  await Promise.all(
    Array.from({ length: spec.clients }, async () => {
      while (performance.now() < deadline && (spec.requests === undefined || seq < spec.requests)) await one(seq++);
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const pct = (p: number) =>
    latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))]! : NaN;
  const round = (n: number) => Math.round(n * 100) / 100;
  return {
    requests: latencies.length,
    errors,
    seconds: round(seconds),
    req_per_s: Math.round(latencies.length / seconds),
    p50_ms: round(pct(0.5)),
    p99_ms: round(pct(0.99)),
    statuses,
  };
}
