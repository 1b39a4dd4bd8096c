import type { Command } from 'commander';
import type { z } from 'zod';
import { alertsQuery, alertToJson, changesQuery, changesToJson } from '../../api/alert-schemas.ts';
import { configFilter } from '../../api/benchmark-schemas.ts';
import { ValidationError } from '../../errors.ts';
import { changesOf, type EvaluationResult, evaluateGroup, listGroups } from '../../tracking/alerts/evaluate.ts';
import { alertSettingsFromConfig } from '../../tracking/alerts/runtime.ts';
import { type Alert, type AlertStatus, getAlert, listAlerts, updateAlert } from '../../tracking/alerts/store.ts';
import { GitOrderCache, loadSeries } from '../../tracking/series-samples.ts';
import { issuesOf } from '../../validation/zod.ts';
import { Progress } from '../progress.ts';
import { fail } from '../runtime.ts';
import { onShutdownSignals } from '../signals.ts';
import { printJson, withDatabase } from '../with-database.ts';

/**
 * `eventix results changes | alerts | evaluate`: the CLI face of GET /benchmarks/changes, the
 * alert routes, and re-evaluation on demand. They work on the database directly (like `results
 * push`), validate flags with the API's own schemas (so errors name the same fields), and
 * `--json` prints what the API answers.
 */

const short = (sha: string) => sha.slice(0, 12);
const pct = (x: number | null) => (x === null ? 'n/a' : `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`);
const num = (x: number) => (Math.abs(x) >= 1000 ? x.toFixed(0) : x.toPrecision(4));

function parse<S extends z.ZodType>(schema: S, raw: unknown): z.infer<S> {
  const r = schema.safeParse(raw);
  if (!r.success) throw new ValidationError(issuesOf(r.error, '', '(flags)'));
  return r.data;
}

/** `--tag k=v`, repeatable: the API's tags[k]=v. */
function collectTag(value: string, previous: Record<string, string[]> = {}): Record<string, string[]> {
  const at = value.indexOf('=');
  if (at <= 0) fail(new ValidationError([{ field: 'tag', message: `expected name=value, got ${JSON.stringify(value)}` }]));
  const name = value.slice(0, at);
  return { ...previous, [name]: [...(previous[name] ?? []), value.slice(at + 1)] };
}

function readId(value: string): number {
  if (!/^[1-9]\d{0,14}$/.test(value)) throw new ValidationError([{ field: 'id', message: 'must be a positive integer (an alert id)' }]);
  return Number(value);
}

function describeAlert(a: Alert): string {
  const tags = Object.keys(a.tags).length ? ` ${JSON.stringify(a.tags)}` : '';
  return (
    `#${a.id}  ${a.status.padEnd(14)} ${a.repo} ${a.metric}${tags}${a.architecture ? ` ${a.architecture}` : ''}\n` +
    `      ${short(a.lastGoodSha)}..${short(a.firstBadSha)}  ${pct(a.relativeChange)}  median ${num(a.before.median)} → ${num(a.after.median)}` +
    `  p=${a.pValue.toExponential(1)}${a.note ? `  note: ${a.note}` : ''}\n`
  );
}

export function registerResultsChanges(results: Command): void {
  results
    .command('changes')
    .description('change points of the series matching the filters (one per tag set), computed now, as GET /benchmarks/changes')
    .requiredOption('--repo <repo>', 'the repository, as stored')
    .requiredOption('--metric <name>', 'the metric')
    .option('--config <id-or-hash>', 'a config id, or the sha256 of its canonical JSON')
    .option('--architecture <arch>', "the architecture ('' for runs without one)")
    .option('--branch <branch>', 'only runs of this branch; its first-parent history orders the commits (EVENTIX_REPOS)')
    .option('--tag <name=value>', 'narrow by a tag, repeatable', collectTag)
    .option('--min-effect <fraction>', 'minimum relative change of the medians (default EVENTIX_CHANGE_MIN_EFFECT)')
    .option('--direction <direction>', 'higher | lower | unknown: override which way is better')
    .option('--json', 'print what GET /benchmarks/changes answers')
    .action(
      async (opts: {
        repo: string;
        metric: string;
        config?: string;
        architecture?: string;
        branch?: string;
        tag?: Record<string, string[]>;
        minEffect?: string;
        direction?: string;
        json?: boolean;
      }) => {
        let q: ReturnType<typeof changesQuery.parse>;
        try {
          q = parse(changesQuery, {
            repo: opts.repo,
            metric: opts.metric,
            config: opts.config,
            architecture: opts.architecture,
            branch: opts.branch,
            tags: opts.tag,
            min_effect: opts.minEffect,
            direction: opts.direction,
          });
        } catch (err) {
          fail(err);
        }
        await withDatabase(async (database, config) => {
          const settings = alertSettingsFromConfig(config);
          const cfg = configFilter(q.config);
          const directions = q.direction
            ? { ...settings.directions, [q.metric]: q.direction === 'unknown' ? null : q.direction }
            : settings.directions;
          const loaded = await loadSeries(
            database.pool,
            {
              repo: q.repo,
              metric: q.metric,
              config:
                cfg.configId !== undefined ? { id: cfg.configId } : cfg.configHash !== undefined ? { hash: cfg.configHash } : undefined,
              architecture: q.architecture,
              branch: q.branch,
              tags: q.tags,
            },
            { repos: settings.repos, directions },
          );
          const evaluations = changesOf(loaded.series, { ...settings, minEffect: q.min_effect ?? settings.minEffect });
          if (opts.json) return void printJson(changesToJson(q, evaluations, loaded.truncated));
          if (!evaluations.length) return void process.stdout.write(`no series of ${q.metric} in ${q.repo} match\n`);
          for (const { series: s, changePoints } of evaluations) {
            const tags = Object.keys(s.key.tags).length ? ` ${JSON.stringify(s.key.tags)}` : '';
            process.stdout.write(
              `series ${s.hash.slice(0, 12)}${tags}${s.key.architecture ? ` ${s.key.architecture}` : ''}: ${s.commits.length} commits, ` +
                `direction ${s.direction ?? 'unknown'}, ordered by ${s.order.by}${s.order.ref ? ` (${s.order.ref})` : ''}\n`,
            );
            for (const cp of changePoints) {
              process.stdout.write(
                `  ${cp.kind.padEnd(11)} ${short(cp.previousSha)}..${short(cp.sha)}  ${pct(cp.relativeChange)}  ` +
                  `median ${num(cp.before.median)} → ${num(cp.after.median)}  p=${cp.pValue.toExponential(1)}\n`,
              );
            }
            if (!changePoints.length) process.stdout.write('  no change points\n');
          }
        });
      },
    );
}

export function registerResultsAlerts(results: Command): void {
  const alerts = results.command('alerts').description('regression alerts: list, show, and set their status');

  alerts
    .command('list', { isDefault: true })
    .description('alerts, newest first, as GET /benchmarks/alerts')
    .option('--status <statuses>', 'comma-separated: open, acknowledged, resolved, false_positive')
    .option('--repo <repo>', 'only this repository')
    .option('--metric <name>', 'only this metric')
    .option('--limit <n>', 'at most this many (1-500, default 50)')
    .option('--cursor <cursor>', 'the next_cursor of the previous page')
    .option('--json', 'print what GET /benchmarks/alerts answers')
    .action(async (opts: { status?: string; repo?: string; metric?: string; limit?: string; cursor?: string; json?: boolean }) => {
      let q: ReturnType<typeof alertsQuery.parse>;
      try {
        q = parse(alertsQuery, { status: opts.status, repo: opts.repo, metric: opts.metric, limit: opts.limit, cursor: opts.cursor });
      } catch (err) {
        fail(err);
      }
      await withDatabase(async (database) => {
        const page = await listAlerts(database.pool, {
          statuses: q.status,
          repo: q.repo,
          metric: q.metric,
          limit: q.limit,
          cursor: q.cursor,
        });
        if (opts.json) return void printJson({ alerts: page.alerts.map(alertToJson), next_cursor: page.nextCursor });
        if (!page.alerts.length) process.stdout.write('no alerts\n');
        for (const a of page.alerts) process.stdout.write(describeAlert(a));
        if (page.nextCursor) process.stdout.write(`more: --cursor ${page.nextCursor}\n`);
      });
    });

  alerts
    .command('get <id>')
    .description('one alert, as GET /benchmarks/alerts/{id}')
    .option('--json', 'print it as JSON')
    .action(async (id: string, opts: { json?: boolean }) => {
      await withDatabase(async (database) => {
        const a = await getAlert(database.pool, readId(id));
        if (opts.json) return void printJson(alertToJson(a));
        process.stdout.write(describeAlert(a));
      });
    });

  const setter = (name: string, status: AlertStatus, description: string) =>
    alerts
      .command(`${name} <id>`)
      .description(`${description} (PATCH /benchmarks/alerts/{id} with status ${status})`)
      .option('--note <text>', 'replace the note')
      .option('--revision <n>', 'refuse (AlertConflict) unless the alert is still at this revision')
      .option('--json', 'print the changed alert as JSON')
      .action(async (id: string, opts: { note?: string; revision?: string; json?: boolean }) => {
        await withDatabase(async (database) => {
          const revision = opts.revision === undefined ? undefined : /^\d+$/.test(opts.revision) ? Number(opts.revision) : Number.NaN;
          if (Number.isNaN(revision)) throw new ValidationError([{ field: 'revision', message: 'must be a positive integer' }]);
          if (opts.note !== undefined && (opts.note.length < 1 || opts.note.length > 2000)) {
            throw new ValidationError([{ field: 'note', message: 'must be 1-2000 characters' }]);
          }
          const a = await updateAlert(database.pool, readId(id), { status, note: opts.note, revision });
          if (opts.json) return void printJson(alertToJson(a));
          process.stdout.write(describeAlert(a));
        });
      });
  setter('ack', 'acknowledged', 'acknowledge an alert: someone is on it; evaluation will not resolve it');
  setter('false-positive', 'false_positive', 'mark an alert a false positive: it never reopens for the same change');
  setter('resolve', 'resolved', 'mark an alert resolved');
  setter('reopen', 'open', 'reopen an alert');
}

export function registerResultsEvaluate(results: Command): void {
  results
    .command('evaluate')
    .description('re-evaluate series now (change points → alerts), as the benchmarks.evaluate task does after each push')
    .option('--repo <repo>', 'only the series of this repository')
    .option('--metric <name>', 'only the series of this metric')
    .option('--all', 'every series of every repository')
    .option('--json', 'print {groups, series, change_points, regressions, opened, opened_resolved, resolved, interrupted}')
    .action(async (opts: { repo?: string; metric?: string; all?: boolean; json?: boolean }) => {
      if (!opts.all && opts.repo === undefined) fail(new ValidationError([{ field: 'repo', message: 'pass --repo <repo> or --all' }]));
      let stop = false;
      const stopListening = onShutdownSignals({
        first() {
          stop = true;
          process.stderr.write('eventix: stopping after the series group in flight (Ctrl-C again to quit at once)\n');
        },
        again: () => process.exit(130),
      });
      let interrupted = false;
      await withDatabase(async (database, config) => {
        const settings = alertSettingsFromConfig(config);
        const groups = await listGroups(database.pool, { repo: opts.repo, metric: opts.metric });
        const progress = new Progress(groups.length);
        const line = (opened: number) => `evaluated ${total.groups}/${groups.length} series groups, ${opened} alert(s) opened`;
        const gitCache = new GitOrderCache();
        const total = {
          groups: 0,
          series: 0,
          change_points: 0,
          regressions: 0,
          opened: [] as number[],
          opened_resolved: [] as number[],
          resolved: [] as number[],
        };
        for (const g of groups) {
          // Each group commits on its own: stopping here loses nothing evaluated so far.
          if (stop) {
            interrupted = true;
            break;
          }
          const r: EvaluationResult = await evaluateGroup(database.pool, g, settings, { gitCache });
          total.groups++;
          total.series += r.series;
          total.change_points += r.changePoints;
          total.regressions += r.regressions;
          total.opened.push(...r.opened);
          total.opened_resolved.push(...r.openedResolved);
          total.resolved.push(...r.resolved);
          progress.update(total.groups, line(total.opened.length));
        }
        progress.update(total.groups, line(total.opened.length), true);
        if (opts.json) return void printJson({ ...total, interrupted });
        process.stdout.write(
          `evaluated ${total.series} series in ${total.groups} group(s): ${total.change_points} change point(s), ` +
            `${total.regressions} regression(s); ${total.opened.length} alert(s) opened, ${total.resolved.length} resolved` +
            `${total.opened_resolved.length ? `, ${total.opened_resolved.length} found already fixed` : ''}` +
            `${interrupted ? ` (interrupted: ${groups.length - total.groups} group(s) left)` : ''}\n`,
        );
      });
      stopListening();
      if (interrupted) process.exitCode = 130;
    });
}
