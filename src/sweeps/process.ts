import { spawn } from 'node:child_process';
import { constants } from 'node:os';

/**
 * Running a benchmark command: no shell, its own process group, output captured, and the whole
 * group killed on timeout, on abort, and when the command exits (a benchmark that starts a server
 * and forgets it must not leave it running on a machine that measures the next commit).
 *
 * The command is started by a tiny supervisor, `node -e SUPERVISOR <grace ms> <argv…>`, which is
 * the group leader. The supervisor holds a pipe from the worker on its stdin; when the worker
 * dies, even by SIGKILL, that pipe closes and the supervisor takes the whole group down
 * (SIGTERM, then SIGKILL after the grace). Without it, a killed worker would leave an orphaned
 * benchmark running beside its own re-run. The supervisor spawns argv[0] with argv[1…] as
 * arguments, never through a shell, and exits with the command's code (128 + signal number when
 * the command was killed). The command's stdout and stderr share one pipe, so the log keeps
 * their interleaving.
 */
const SUPERVISOR = `
const { spawn } = require('node:child_process');
const { constants } = require('node:os');
const [grace, cmd, ...args] = process.argv.slice(1);
let orphaned = false;
const noop = () => {};
process.on('SIGTERM', noop);
process.on('SIGINT', noop);
process.on('SIGHUP', noop);
const child = spawn(cmd, args, { stdio: ['ignore', 1, 1] });
child.on('error', (e) => { process.stdout.write('eventix: cannot start ' + cmd + ': ' + e.message + '\\n'); process.exit(127); });
child.on('exit', (code, signal) => {
  if (orphaned) return;
  process.exit(code === null ? 128 + (constants.signals[signal] || 0) : code);
});
const groupKill = (sig) => { try { process.kill(0, sig); } catch {} };
const abandon = () => {
  if (orphaned) return;
  orphaned = true;
  groupKill('SIGTERM');
  setTimeout(() => groupKill('SIGKILL'), Number(grace));
};
process.stdin.on('end', abandon);
process.stdin.on('close', abandon);
process.stdin.on('error', abandon);
process.stdin.resume();
`;

export interface CommandOptions {
  argv: readonly string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  /** SIGTERM, then SIGKILL this long after. */
  killGraceMs: number;
  signal: AbortSignal;
  /** Keep the last this many bytes of output. */
  logLimitBytes: number;
  /** Called with the group's id once the command runs (tests look at it). */
  onStart?: (pgid: number) => void;
}

export interface CommandResult {
  /** Exit code; 128 + signal when the command died of a signal. Null when it never started. */
  code: number | null;
  timedOut: boolean;
  /** The signal's reason, when the attempt was aborted (cancel, lease lost, shutdown). */
  aborted: unknown;
  /** The last logLimitBytes of output, and how many bytes came before them. */
  log: Buffer;
  droppedBytes: number;
  durationMs: number;
  pgid: number | undefined;
}

/** The last `limit` bytes of a stream, in bounded memory whatever the stream's size. */
export class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  dropped = 0;
  constructor(private readonly limit: number) {}
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > this.limit && this.chunks.length) {
      const first = this.chunks[0] as Buffer;
      const excess = this.size - this.limit;
      if (first.length <= excess) {
        this.chunks.shift();
        this.size -= first.length;
        this.dropped += first.length;
      } else {
        this.chunks[0] = first.subarray(excess);
        this.size -= excess;
        this.dropped += excess;
      }
    }
  }
  toBuffer(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

function killGroup(pgid: number | undefined, signal: NodeJS.Signals): void {
  if (!pgid) return;
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is gone already.
  }
}

export function runCommand(opts: CommandOptions): Promise<CommandResult> {
  const started = Date.now();
  const tail = new TailBuffer(opts.logLimitBytes);
  return new Promise((resolve) => {
    if (opts.signal.aborted) {
      resolve({
        code: null,
        timedOut: false,
        aborted: opts.signal.reason,
        log: Buffer.alloc(0),
        droppedBytes: 0,
        durationMs: 0,
        pgid: undefined,
      });
      return;
    }
    const child = spawn(process.execPath, ['-e', SUPERVISOR, '--', String(opts.killGraceMs), ...opts.argv], {
      cwd: opts.cwd,
      env: opts.env,
      detached: true,
      shell: false,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const pgid = child.pid;
    let timedOut = false;
    let aborted: unknown;
    let escalation: NodeJS.Timeout | undefined;
    let finished = false;

    const stop = () => {
      killGroup(pgid, 'SIGTERM');
      escalation ??= setTimeout(() => killGroup(pgid, 'SIGKILL'), opts.killGraceMs);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, opts.timeoutMs);
    const onAbort = () => {
      aborted = opts.signal.reason ?? new Error('aborted');
      stop();
    };
    opts.signal.addEventListener('abort', onAbort, { once: true });

    child.stdout.on('data', (d: Buffer) => tail.push(d));
    child.stderr.on('data', (d: Buffer) => tail.push(d));
    // Never written to, never ended: its only job is to close when this process dies.
    child.stdin.on('error', () => undefined);

    const finish = (code: number | null) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      clearTimeout(escalation);
      opts.signal.removeEventListener('abort', onAbort);
      resolve({ code, timedOut, aborted, log: tail.toBuffer(), droppedBytes: tail.dropped, durationMs: Date.now() - started, pgid });
    };
    child.on('error', (err) => {
      tail.push(Buffer.from(`eventix: cannot start the supervisor: ${err.message}\n`));
      finish(null);
    });
    child.on('exit', (code, signal) => {
      // Whatever the command left behind in its group (daemons, children that ignored SIGTERM) goes now.
      killGroup(pgid, 'SIGKILL');
      const exitCode = code ?? (signal ? 128 + (signalNumber(signal) ?? 0) : null);
      // Output still in the pipes arrives before 'close'; a grandchild holding them open is dead now.
      let closed = false;
      child.once('close', () => {
        closed = true;
        child.stdin.destroy();
        finish(exitCode);
      });
      setTimeout(() => {
        if (!closed) {
          child.stdin.destroy();
          finish(exitCode);
        }
      }, 2000).unref();
    });
    if (pgid) opts.onStart?.(pgid);
  });
}

function signalNumber(signal: NodeJS.Signals): number | undefined {
  return (constants.signals as Record<string, number>)[signal];
}
