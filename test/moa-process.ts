// `moa serve` and the CLI as real processes, for the process tests (test/server.test.ts, test/db-restart.test.ts, …).
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { PLATFORM_TOKEN } from './helpers.ts';

const root = resolve(import.meta.dirname, '..');

export type Server = { proc: ChildProcess; base: string; output: () => string; exited: Promise<number | null> };

/** Runs `npx moa <args>` (bin/moa.js) to its end, with only PATH and `env` in its environment. */
export function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  const proc = spawn(process.execPath, ['bin/moa.js', ...args], { cwd: root, env: { PATH: process.env.PATH, ...env } });
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  return new Promise((r) => proc.on('exit', (code) => r({ code, out })));
}

/**
 * Starts `moa serve` and waits until it prints its URLs (or fails after `timeoutMs`). The caller
 * gets the kill in `cleanups`, so a failing test never leaves a server behind.
 */
export async function startServer(env: Record<string, string>, cleanups: (() => unknown)[], timeoutMs = 60_000): Promise<Server> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'serve'], {
    cwd: root,
    env: { PATH: process.env.PATH, PORT: '0', HOST: '127.0.0.1', MOA_PLATFORM_TOKEN: PLATFORM_TOKEN, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  cleanups.push(() => proc.exitCode === null && proc.kill('SIGKILL'));
  const started = Date.now();
  while (!/Health\s+(http:\/\/\S+)\/health/.test(out)) {
    if (proc.exitCode !== null) throw new Error(`moa serve exited with ${proc.exitCode}:\n${out}`);
    if (Date.now() - started > timeoutMs) throw new Error(`moa serve did not start within ${timeoutMs / 1000} s:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { proc, base: /Health\s+(http:\/\/\S+)\/health/.exec(out)![1]!, output: () => out, exited };
}
