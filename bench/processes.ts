// Starts the product (or the hello-world baseline) as a child process for a benchmark.
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');

export type Child = { proc: ChildProcess; base: string; stop(): Promise<void> };

export async function startChild(script: string, args: string[], env: Record<string, string>, ready: RegExp): Promise<Child> {
  const proc = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const started = Date.now();
  while (!ready.test(out)) {
    if (proc.exitCode !== null) throw new Error(`${script} exited:\n${out}`);
    if (Date.now() - started > 90_000) throw new Error(`${script} did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const base = ready.exec(out)![1]!;
  return {
    proc,
    base,
    stop: () =>
      new Promise((r) => {
        if (proc.exitCode !== null) return r();
        proc.on('exit', () => r());
        proc.kill('SIGTERM');
      }),
  };
}
