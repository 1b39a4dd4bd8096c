// `npm run chaos [-- --short] [scenario …]`: each scenario starts real processes on a throwaway
// PostgreSQL, injects real faults, prints its figures and fails on any loss. .ci/run runs --short.
import { parseArgs } from 'node:util';
import { onShutdownSignals } from '../../src/cli/signals.ts';
import { runScenario, type Scenario, type ScenarioResult } from './lib/scenario.ts';

/** In the order they run: the cheapest first, so a broken build fails fast. */
export const SCENARIOS = ['kill-storm', 'db-restart', 'terminate-storm', 'frozen-worker', 'scheduler-storm', 'fuzz'] as const;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { short: { type: 'boolean', default: false }, json: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
});
if (values.help) {
  process.stdout.write(`usage: npm run chaos -- [--short] [--json FILE] [${SCENARIOS.join('|')} …]\n`);
  process.exit(0);
}
const unknown = positionals.filter((p) => !(SCENARIOS as readonly string[]).includes(p));
if (unknown.length) {
  process.stderr.write(`chaos: unknown scenario ${unknown.join(', ')}; known: ${SCENARIOS.join(', ')}\n`);
  process.exit(2);
}
const selected = positionals.length ? SCENARIOS.filter((s) => positionals.includes(s)) : [...SCENARIOS];

// Ctrl-C stops the current scenario early; its clean-up still kills what it started and removes its server.
const controller = new AbortController();
onShutdownSignals({
  first: () => {
    process.stderr.write('\nchaos: stopping after clean-up (Ctrl-C again to exit at once)\n');
    controller.abort();
  },
  again: () => process.exit(130),
});

const results: ScenarioResult[] = [];
for (const name of selected) {
  if (controller.signal.aborted) break;
  const mod = (await import(`./${name}.ts`)) as { scenario: Scenario };
  process.stdout.write(`\n=== chaos: ${name}${values.short ? ' (short)' : ''}: ${mod.scenario.summary}\n`);
  const result = await runScenario(mod.scenario, { short: values.short, signal: controller.signal });
  results.push(result);
  process.stdout.write(`--- ${name}: ${result.ok ? 'passed' : 'FAILED'} in ${result.seconds.toFixed(1)} s\n`);
  for (const [k, v] of Object.entries(result.figures)) process.stdout.write(`    ${k}: ${v}\n`);
  for (const f of result.failures) process.stdout.write(`    FAIL ${f}\n`);
}

if (values.json) {
  const { writeFile } = await import('node:fs/promises');
  await writeFile(values.json, `${JSON.stringify({ short: values.short, at: new Date().toISOString(), results }, null, 2)}\n`);
}
const failed = results.filter((r) => !r.ok).length;
process.stdout.write(`\nchaos: ${results.length - failed} passed, ${failed} failed\n`);
process.exit(failed || controller.signal.aborted ? 1 : 0);
