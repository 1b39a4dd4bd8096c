import { execFileSync } from 'node:child_process';

/**
 * Whether python3 can run here, for the tests that drive a Python script. CI has python3 and must
 * run them, so there its absence is an error; a laptop without it skips them, saying why.
 */
export function pythonAvailable(what: string): boolean {
  let ok: boolean;
  try {
    execFileSync('python3', ['--version'], { stdio: 'ignore' });
    ok = true;
  } catch {
    ok = false;
  }
  if (!ok && process.env.CI) throw new Error(`python3 is required in CI for ${what}`);
  if (!ok) console.warn(`python3 not found: skipping ${what}`);
  return ok;
}
