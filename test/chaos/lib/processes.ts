import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { cliEnv, ROOT } from '../../helpers/cli.ts';

export { ROOT };

const EVENTIX = fileURLToPath(new URL('../../../bin/eventix.js', import.meta.url));

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * A process in a process group of its own (detached = setsid), so a signal reaches it and every
 * child it started, and never the chaos runner. Output is kept (the last 2,000 lines) for the
 * report and for waiting on a line.
 */
export class Managed {
  readonly child: ChildProcess;
  readonly exited: Promise<Exit>;
  private exit: Exit | undefined;
  private readonly lines: string[] = [];
  private readonly waiters = new Set<{ re: RegExp; resolve: (m: RegExpMatchArray) => void }>();

  constructor(
    readonly name: string,
    command: string,
    args: string[],
    env: NodeJS.ProcessEnv,
  ) {
    this.child = spawn(command, args, { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const onData = (stream: 'out' | 'err') => {
      let partial = '';
      return (chunk: Buffer) => {
        const text = partial + chunk.toString('utf8');
        const parts = text.split('\n');
        partial = parts.pop() ?? '';
        for (const line of parts) this.onLine(stream === 'err' ? `! ${line}` : line);
      };
    };
    this.child.stdout?.on('data', onData('out'));
    this.child.stderr?.on('data', onData('err'));
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get alive(): boolean {
    return this.exit === undefined;
  }

  get exitInfo(): Exit | undefined {
    return this.exit;
  }

  private onLine(line: string): void {
    this.lines.push(line);
    if (this.lines.length > 2000) this.lines.shift();
    for (const w of this.waiters) {
      const m = line.match(w.re);
      if (m) {
        this.waiters.delete(w);
        w.resolve(m);
      }
    }
  }

  output(last = 40): string {
    return this.lines.slice(-last).join('\n');
  }

  /** The first line (already printed or still to come) that matches, or a rejection at the deadline or exit. */
  waitForLine(re: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> {
    for (const line of this.lines) {
      const m = line.match(re);
      if (m) return Promise.resolve(m);
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        re,
        resolve: (m: RegExpMatchArray) => {
          clearTimeout(timer);
          resolve(m);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`${this.name}: no line matching ${re} within ${timeoutMs} ms\n${this.output()}`));
      }, timeoutMs);
      this.waiters.add(waiter);
      void this.exited.then((e) => {
        if (!this.waiters.has(waiter)) return;
        this.waiters.delete(waiter);
        clearTimeout(timer);
        reject(new Error(`${this.name} exited (${e.code ?? e.signal}) before printing ${re}\n${this.output()}`));
      });
    });
  }

  /** Signal the whole process group. */
  signal(sig: NodeJS.Signals): void {
    if (!this.alive) return;
    try {
      process.kill(-this.pid, sig);
    } catch {
      // Already gone between the check and the kill.
    }
  }

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  async stop(graceMs = 15_000): Promise<Exit> {
    if (!this.alive) return this.exit as Exit;
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    const e = await this.exited;
    clearTimeout(timer);
    return e;
  }
}

/** `eventix <args>` from this checkout, as a user runs it (bin/eventix.js loads the sources through tsx). */
export function spawnEventix(name: string, args: string[], env: Record<string, string | undefined>): Managed {
  return new Managed(name, process.execPath, [EVENTIX, ...args], cliEnv(env));
}
