import { type Anchor, collapseRuns, measured } from './common.ts';

/**
 * github-action-benchmark (benchmark-action/github-action-benchmark), `alert-threshold`
 * default `'200%'`: each new result is compared with the previous one only, and an alert is raised
 * when it is more than 2× worse: `current / previous > 2` for smaller-is-better tools,
 * `previous / current > 2` for bigger-is-better ones (`getRatio` / `findAlerts` in src/write.ts).
 * The tool stores one value per benchmark and run, here the mean of the commit's samples.
 *
 * Our series may have no known direction and the labels include improvements, so the ratio is
 * applied in both directions (which can only raise its recall).
 */
export const GAB_THRESHOLD = 2;

export const githubActionBenchmark: Anchor = ({ commits }) => {
  const { idx, values } = measured(commits);
  const flags = values.map((v, j) => {
    if (j === 0) return false;
    const prev = values[j - 1] as number;
    if (prev === 0 && v === 0) return false;
    return v / prev > GAB_THRESHOLD || prev / v > GAB_THRESHOLD;
  });
  return collapseRuns(flags, idx);
};
