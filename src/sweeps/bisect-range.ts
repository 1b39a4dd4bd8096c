import type { Executor } from '../db/executor.ts';
import { median } from '../tracking/changes/stats.ts';
import { FULL_SHA, GitError, runGit } from '../tracking/git.ts';
import { loadSeries } from '../tracking/series-samples.ts';
import { classify } from './bisect-plan.ts';
import type { AlertRow } from './bisect-state.ts';
import type { Sweep } from './config.ts';

/** The range a bisection works on (bisect.ts): its first-parent commits in git, and where it starts. */

/**
 * The range to bisect, checked against the measured commits' own verdicts. The detector places a
 * change by maximizing a rank statistic over the per-commit medians, which can put the split a
 * measured commit or two away from the step when noise orders the commits next to it unluckily
 * (seen in the end-to-end test: a commit at the old level reported as the first bad one). A
 * bisection of such a range would blame a commit that is not slower. So the bad end moves
 * forward, over the series' measured commits in first-parent order, past commits closer to the
 * old level; or, when it is bad, back over measured commits that are bad too; the good end is
 * the measured commit before it. Without the series in git order (the alert's first bad commit is
 * not among its measured commits), the alert's range is taken as it is.
 */
export async function anchorRange(
  ex: Executor,
  sweep: Sweep,
  alert: AlertRow,
  levels: { good: number; bad: number },
): Promise<{ good: string; bad: string; note: string | null }> {
  const asIs = { good: alert.last_good_sha, bad: alert.first_bad_sha, note: null };
  const loaded = await loadSeries(
    ex,
    { repo: alert.repo, metric: alert.metric, config: { id: alert.config_id as number }, architecture: alert.architecture },
    { repos: [sweep.repo] },
  );
  const series = loaded.series.find((s) => s.hash === alert.series_hash);
  if (series?.order.by !== 'git-first-parent') return asIs;
  const verdicts = series.commits.map((c) => (c.samples.length ? classify(median(c.samples), levels) : undefined));
  let j = series.commits.findIndex((c) => c.sha === alert.first_bad_sha);
  if (j < 0) return asIs;
  if (verdicts[j] === 'good') {
    while (j < series.commits.length && verdicts[j] !== 'bad') j++;
  } else {
    while (j > 0 && verdicts[j - 1] === 'bad') j--;
  }
  const bad = series.commits[j];
  const good = series.commits[j - 1];
  if (!bad || !good) return asIs;
  if (bad.sha === asIs.bad && good.sha === asIs.good) return asIs;
  return {
    good: good.sha,
    bad: bad.sha,
    note: `the alert's range ${asIs.good.slice(0, 12)}..${asIs.bad.slice(0, 12)} moved to ${good.sha.slice(0, 12)}..${bad.sha.slice(0, 12)}, where the measured commits change level`,
  };
}

/**
 * `[good, c1, …, ck, bad]`, oldest first, when `good` is a first-parent ancestor of `bad`; else
 * why not. `--parents` checks the chain link by link: a `good` on a merged side branch is an
 * ancestor, but not on the branch's own history, and a range across it would not be first-parent.
 */
export async function firstParentChain(repo: string, good: string, bad: string): Promise<string[] | string> {
  if (!FULL_SHA.test(good) || !FULL_SHA.test(bad)) return 'the range is not two full commit shas';
  if (good === bad) return 'the range is a single commit';
  const args = ['rev-list', '--first-parent', '--ancestry-path', '--parents', '--end-of-options', `${good}..${bad}`, '--'];
  const r = await runGit(repo, args);
  if (r.code !== 0) {
    if (/unknown revision|bad revision|ambiguous argument|bad object|invalid revision/i.test(r.stderr)) {
      return `git does not know ${good.slice(0, 12)} or ${bad.slice(0, 12)} in ${repo}`;
    }
    throw new GitError(args, r.stderr || `exit code ${r.code}`);
  }
  const lines = r.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' '));
  if (lines[0]?.[0] !== bad) return `${bad.slice(0, 12)} does not descend from ${good.slice(0, 12)}`;
  for (let i = 0; i < lines.length; i++) {
    const parent = lines[i + 1]?.[0] ?? good;
    if (lines[i]?.[1] !== parent) return `${good.slice(0, 12)} is not a first-parent ancestor of ${bad.slice(0, 12)}`;
  }
  return [good, ...lines.map((l) => l[0] as string).reverse()];
}
