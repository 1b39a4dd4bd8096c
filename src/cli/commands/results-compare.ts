import type { Command } from 'commander';
import { compareToJson } from '../../api/baseline-schemas.ts';
import type { FieldIssue } from '../../errors.ts';
import { findBaseline } from '../../tracking/baselines.ts';
import { type CompareResult, compare, type MetricComparison } from '../../tracking/compare.ts';
import type { Verdict } from '../../tracking/compare-stats.ts';
import type { Direction } from '../../tracking/formats/normalized.ts';
import { printJson } from '../with-database.ts';
import { num, table, tagText } from './results-baselines-format.ts';
import {
  BASELINE_EXIT,
  collect,
  commitFlag,
  configFlag,
  oneCandidate,
  repoFlag,
  runCommand,
  tagFlags,
  throwIssues,
  usageExitsTwo,
} from './results-command.ts';

/**
 * `eventix results compare --baseline release-1.2 --commit HEAD`: the merge gate. Exit 0 when
 * nothing regressed, 1 on an overall regression (or any verdict listed in --fail-on), 2 for bad
 * input (including an unknown baseline, or a commit without results), 3 when the comparison
 * could not run (database unreachable, git failed).
 */

interface CompareFlags {
  baseline: string;
  commit?: string;
  run?: string;
  repo?: string;
  gitRepo?: string;
  threshold?: string;
  metricThreshold?: string[];
  confidence?: string;
  metric?: string[];
  tag?: string[];
  config?: string;
  architecture?: string;
  direction?: string[];
  failOn?: string;
  json?: boolean;
}

const FAIL_ON = ['regression', 'inconclusive', 'change', 'missing'] as const;
type FailOn = (typeof FAIL_ON)[number];

/**
 * `5%`, `2.5%` or a fraction below 1 (`0.05`). A bare `5` is refused rather than read as 500 %:
 * on a command line it is far more likely to mean 5 %.
 */
export function parsePercent(value: string, flag: string, issues: FieldIssue[]): number | undefined {
  const pct = /^(\d+(?:\.\d+)?)%$/.exec(value);
  if (pct) return Number(pct[1]) / 100;
  if (/^(?:0?\.\d+|0)$/.test(value)) return Number(value);
  issues.push({ field: flag, message: `must be a percentage (5%) or a fraction below 1 (0.05), not ${JSON.stringify(value)}` });
  return undefined;
}

function parseFlags(f: CompareFlags) {
  const issues: FieldIssue[] = [];
  oneCandidate(f.commit, f.run, issues);
  const threshold = f.threshold === undefined ? undefined : parsePercent(f.threshold, '--threshold', issues);
  const confidence = f.confidence === undefined ? undefined : parsePercent(f.confidence, '--confidence', issues);
  const thresholds = new Map<string, number>();
  for (const v of f.metricThreshold ?? []) {
    const at = v.lastIndexOf('=');
    if (at <= 0) {
      issues.push({ field: '--metric-threshold', message: `must be <metric>=<percent>, not ${JSON.stringify(v)}` });
      continue;
    }
    const t = parsePercent(v.slice(at + 1), `--metric-threshold ${v.slice(0, at)}`, issues);
    if (t !== undefined) thresholds.set(v.slice(0, at), t);
  }
  const directions = new Map<string, Direction | null>();
  for (const v of f.direction ?? []) {
    const at = v.lastIndexOf('=');
    const d = v.slice(at + 1);
    if (at <= 0 || !['higher', 'lower', 'unknown'].includes(d)) {
      issues.push({ field: '--direction', message: `must be <metric>=higher|lower|unknown, not ${JSON.stringify(v)}` });
      continue;
    }
    directions.set(v.slice(0, at), d === 'unknown' ? null : (d as Direction));
  }
  const failOn = new Set<FailOn>();
  for (const v of (f.failOn ?? 'regression').split(',').map((s) => s.trim())) {
    if ((FAIL_ON as readonly string[]).includes(v)) failOn.add(v as FailOn);
    else issues.push({ field: '--fail-on', message: `must list some of ${FAIL_ON.join(', ')}, not ${JSON.stringify(v)}` });
  }
  const tags = tagFlags(f.tag, issues);
  const config = configFlag(f.config, issues);
  throwIssues(issues);
  return {
    threshold,
    confidence,
    // Maps, then fromEntries: a metric named __proto__ stays a metric.
    thresholds: thresholds.size ? Object.fromEntries(thresholds) : undefined,
    directions: directions.size ? Object.fromEntries(directions) : undefined,
    failOn,
    tags,
    config,
  };
}

/** The exit code of a comparison under --fail-on. */
export function exitCodeOf(r: CompareResult, failOn: ReadonlySet<FailOn>): number {
  const verdicts = new Set<Verdict>(r.comparisons.map((c) => c.verdict));
  if (r.verdict === 'regression' && failOn.has('regression')) return BASELINE_EXIT.regression;
  for (const v of ['inconclusive', 'change'] as const)
    if (failOn.has(v) && (verdicts.has(v) || r.verdict === v)) return BASELINE_EXIT.regression;
  if (failOn.has('missing') && r.missing.length > 0) return BASELINE_EXIT.regression;
  return BASELINE_EXIT.ok;
}

const pct = (v: number | null) => (v === null ? '-' : `${v >= 0 ? '+' : ''}${(v * 100).toFixed(2)}%`);
/** A threshold or level: 5%, 2.5%, 99.9%. */
const percent = (v: number) => `${Number((v * 100).toFixed(2))}%`;

const side = (s: MetricComparison['baseline']) =>
  `${num(s.mean)}${s.stddev === null ? '' : ` ±${num(s.stddev)}`} (n=${s.n}${s.source === 'snapshot' ? ', snapshot' : ''})`;

export function printTable(r: CompareResult): void {
  const out: string[] = [];
  out.push(
    `baseline ${r.baseline.name} (${r.repo} @ ${r.baseline.sha.slice(0, 12)}${r.baseline.runUid ? `, run ${r.baseline.runUid}` : ''})` +
      ` vs ${r.candidate.sha.slice(0, 12)}${r.candidate.runUid ? ` (run ${r.candidate.runUid})` : ''}` +
      ` — threshold ${percent(r.threshold)}, confidence ${percent(r.confidence)}`,
  );
  const level = `${percent(r.confidence)} CI`;
  const rows = r.comparisons.map((c) => [
    c.metric,
    c.config?.hash?.slice(0, 12) ?? '-',
    c.architecture ?? '-',
    tagText(c.tags),
    c.unit ?? '-',
    c.direction ?? '?',
    side(c.baseline),
    side(c.candidate),
    pct(c.delta.relative),
    c.interval ? `[${pct(c.interval.low)}, ${pct(c.interval.high)}]` : '-',
    c.threshold === r.threshold ? '' : `±${percent(c.threshold)}`,
    c.verdict + (c.reason ? ` (${c.reason})` : ''),
  ]);
  if (rows.length) {
    out.push(
      table(['metric', 'config', 'arch', 'tags', 'unit', 'better', 'baseline', 'candidate', 'change', level, 'threshold', 'verdict'], rows),
    );
  } else out.push('no series with data on both sides');
  for (const m of r.missing) {
    out.push(
      `missing ${m.missing} data: ${m.metric} [config ${m.config?.hash?.slice(0, 12) ?? '-'}, arch ${m.architecture ?? '-'}, ` +
        `tags ${tagText(m.tags)}] (${m.missing === 'candidate' ? 'baseline' : 'candidate'} has ${side(m.present)})`,
    );
  }
  const counts = Object.entries(r.counts)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${n} ${k.replace(/[A-Z]/g, (ch) => `_${ch.toLowerCase()}`)}`)
    .join(', ');
  out.push(`verdict: ${r.verdict}${counts ? ` (${counts})` : ''}`);
  process.stdout.write(`${out.join('\n')}\n`);
}

export function registerResultsCompare(results: Command): void {
  usageExitsTwo(
    results
      .command('compare')
      .description(
        'compare a commit or run against a baseline, per series: relative change, its confidence interval, a verdict. ' +
          `Exit ${BASELINE_EXIT.regression} on a regression, ${BASELINE_EXIT.badInput} for bad input, ${BASELINE_EXIT.failure} when it could not run`,
      )
      .requiredOption('--baseline <name>', 'the baseline, e.g. release-1.2')
      .option('--commit <ref>', 'the candidate commit: a full sha, or a ref (HEAD) resolved in a repository of EVENTIX_REPOS')
      .option('--run <uid>', 'the candidate: this one run')
      .option('--repo <repo>', "the baseline's repository (needed only when several have a baseline of this name)")
      .option('--git-repo <path>', 'resolve --commit in this repository of EVENTIX_REPOS (when the results are stored under another name)')
      .option('--threshold <percent>', 'the relative change that matters (default 5%)')
      .option('--metric-threshold <metric=percent>', 'a threshold for one metric (repeat for several)', collect)
      .option('--confidence <level>', 'confidence level of the intervals (default 95%)')
      .option('--metric <name>', 'only this metric (repeat for several)', collect)
      .option('--tag <name=value>', 'only series with this tag value (repeat for several)', collect)
      .option('--config <id|hash>', 'only this config')
      .option('--architecture <arch>', 'only this architecture')
      .option('--direction <metric=higher|lower|unknown>', 'which way is better for a metric (repeat for several)', collect)
      .option('--fail-on <verdicts>', `exit ${BASELINE_EXIT.regression} on any of: ${FAIL_ON.join(',')} (default regression)`)
      .option('--json', 'print the comparison as POST /benchmarks/compare answers'),
  ).action(async (f: CompareFlags) => {
    let parsed: ReturnType<typeof parseFlags> | undefined;
    await runCommand(
      async (database, config) => {
        const p = parsed as ReturnType<typeof parseFlags>;
        const baseline = await findBaseline(database.pool, { name: f.baseline, repo: repoFlag(config, f.repo) }, { name: 'baseline' });
        const r = await compare(database.pool, {
          repo: baseline.repo,
          baseline: baseline.name,
          sha: await commitFlag(config, f.commit, baseline.repo, f.gitRepo),
          runUid: f.run?.toLowerCase(),
          threshold: p.threshold,
          thresholds: p.thresholds,
          confidence: p.confidence,
          metrics: f.metric,
          tags: p.tags,
          ...p.config,
          architecture: f.architecture,
          directions: p.directions,
        });
        if (f.json) printJson(compareToJson(r));
        else printTable(r);
        return exitCodeOf(r, p.failOn);
      },
      { 'thresholds.*': '--metric-threshold' },
      () => {
        parsed = parseFlags(f);
      },
    );
  });
}
