import { readFile } from 'node:fs/promises';
import type { Managed } from './processes.ts';
import { until } from './scenario.ts';

/** The scheduler state letter of a process (R, S, D, T, Z, …) from /proc, or undefined once it is gone. */
export async function processState(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) S …": comm may hold spaces and parentheses, so read after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}

/** SIGSTOP the process group and resolve once the kernel reports the process stopped (state T). */
export async function freeze(p: Managed, timeoutMs = 5_000): Promise<number> {
  p.signal('SIGSTOP');
  await until(async () => (await processState(p.pid)) === 'T', { timeoutMs, intervalMs: 5, message: `${p.name} to stop (SIGSTOP)` });
  return Date.now();
}

/** SIGCONT the process group and resolve once it runs again. */
export async function thaw(p: Managed, timeoutMs = 5_000): Promise<number> {
  p.signal('SIGCONT');
  await until(async () => (await processState(p.pid)) !== 'T', { timeoutMs, intervalMs: 5, message: `${p.name} to continue (SIGCONT)` });
  return Date.now();
}
