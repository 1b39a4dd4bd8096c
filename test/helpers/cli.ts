import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

/** Environment for a child CLI: ours, minus anything that would pick another database by accident. */
export function cliEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, EVENTIX_LOG_LEVEL: 'warn', ...extra };
  for (const [k, v] of Object.entries(extra)) if (v === undefined) delete env[k];
  return env;
}

/**
 * Start a TypeScript file (through tsx) in a child Node, from the checkout's root, with `cliEnv(env)`
 * and its stdout and stderr piped: the CLI, or a fixture script that stands for another process.
 */
export function spawnTsx(script: string, args: string[] = [], env: Record<string, string | undefined> = {}): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: ROOT,
    env: cliEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Start `eventix …` from the sources (through tsx), as a user would run it. */
export function spawnCli(args: string[], env: Record<string, string | undefined> = {}): ChildProcess {
  return spawnTsx(MAIN, args, env);
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run `eventix …` to completion, with a deadline after which the child is killed. */
export function runCli(args: string[], env: Record<string, string | undefined> = {}, timeoutMs = 60_000): Promise<CliResult> {
  const child = spawnCli(args, env);
  return collect(child, timeoutMs);
}

export function collect(child: ChildProcess, timeoutMs = 60_000): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => {
    stdout += d;
  });
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`CLI did not exit within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Resolve with the first match of `pattern` in the child's stdout, or reject at the deadline. */
export function waitForOutput(child: ChildProcess, pattern: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let seen = '';
    let errors = '';
    const timer = setTimeout(() => reject(new Error(`no ${pattern} in output within ${timeoutMs} ms:\n${seen}\n${errors}`)), timeoutMs);
    child.stderr?.on('data', (d) => {
      errors += d;
    });
    child.stdout?.on('data', (d) => {
      seen += d;
      const m = seen.match(pattern);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before printing ${pattern}:\n${seen}\n${errors}`));
    });
  });
}

/**
 * `eventix …` for one test file: `cli` runs, `ok` runs and expects exit 0 (naming the command and its
 * stderr when not), `out` is ok's stdout, `json` parses the stdout of the command run with `--json`.
 * `prefix` goes before every command's arguments (`['commits']`); `env` is read at each call, so it
 * may name a database made in beforeAll.
 */
export function cliHarness(env: () => Record<string, string | undefined>, prefix: string[] = []) {
  const cli = (...args: string[]) => runCli([...prefix, ...args], env());
  const ok = async (...args: string[]) => {
    const r = await cli(...args);
    expect(r.code, `eventix ${[...prefix, ...args].join(' ')}\n${r.stderr}`).toBe(0);
    return r;
  };
  const out = async (...args: string[]) => (await ok(...args)).stdout;
  const json = async (...args: string[]) => JSON.parse(await out(...args, '--json'));
  return { cli, ok, out, json };
}
