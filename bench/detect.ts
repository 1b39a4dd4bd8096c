/**
 * `npm run bench:detect`: scores the change-point detector (src/tracking/changes) against a
 * labelled set, side by side with faithful re-implementations of the default rules of Otava,
 * Conbench, github-action-benchmark and Bencher, and measures its speed.
 *
 * - The synthetic set (bench/detect/synthetic.ts) comes from a fixed seed (printed; `--seed N`
 *   changes it) and `--per-category N` series per category (default 60).
 * - The real labelled series are read from ../shared/benchmark-series/ at run time.
 * - A detection counts when it is within ±5 commits of a labelled change point, each label
 *   matched at most once (bench/detect/score.ts).
 */
import { fileURLToPath } from 'node:url';
import { type DetectOptions, detectChanges } from '../src/tracking/changes/detect.ts';
import { bencher } from './detect/anchors/bencher.ts';
import type { Anchor } from './detect/anchors/common.ts';
import { conbench } from './detect/anchors/conbench.ts';
import { githubActionBenchmark } from './detect/anchors/gab.ts';
import { otava } from './detect/anchors/otava.ts';
import { loadRealSeries, realSeriesDir } from './detect/real.ts';
import { Rng } from './detect/rng.ts';
import { add, matchDetections, prf, type Score, ZERO } from './detect/score.ts';
import type { LabelledSeries } from './detect/series.ts';
import { SYNTHETIC_CATEGORIES, speedSeries, syntheticSet } from './detect/synthetic.ts';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : Number.NaN;
  return Number.isFinite(v) ? v : fallback;
}

const SEED = arg('seed', 20_260_101);
const PER_CATEGORY = arg('per-category', 60);
const SPEED_SERIES = arg('speed-series', 1000);
const TOLERANCE = 5;

const eventix: Anchor = ({ commits, direction }) => detectChanges(commits, { direction }).map((c) => c.index);

const METHODS: { name: string; run: Anchor }[] = [
  { name: 'eventix', run: eventix },
  { name: 'otava', run: otava },
  { name: 'conbench', run: conbench },
  { name: 'gh-action-bench', run: githubActionBenchmark },
  { name: 'bencher', run: bencher },
];

interface Cell {
  score: Score;
  noChange: number;
  silent: number;
}

function evaluate(set: LabelledSeries[]): { cells: Map<string, Map<string, Cell>>; ms: Map<string, number> } {
  const cells = new Map<string, Map<string, Cell>>();
  const ms = new Map<string, number>();
  for (const m of METHODS) {
    const byCat = new Map<string, Cell>();
    cells.set(m.name, byCat);
    const t0 = performance.now();
    for (const s of set) {
      const found = m.run({ commits: s.commits, direction: s.direction });
      const score = matchDetections(found, s.changePoints, TOLERANCE, s.ignore);
      const cell = byCat.get(s.category) ?? { score: ZERO, noChange: 0, silent: 0 };
      cell.score = add(cell.score, score);
      if (s.changePoints.length === 0) {
        cell.noChange++;
        if (score.fp === 0) cell.silent++;
      }
      byCat.set(s.category, cell);
    }
    ms.set(m.name, performance.now() - t0);
  }
  return { cells, ms };
}

function merged(byCat: Map<string, Cell>, cats: readonly string[]): Cell {
  let out: Cell = { score: ZERO, noChange: 0, silent: 0 };
  for (const c of cats) {
    const x = byCat.get(c);
    if (x) out = { score: add(out.score, x.score), noChange: out.noChange + x.noChange, silent: out.silent + x.silent };
  }
  return out;
}

const f2 = (x: number) => x.toFixed(2);
const pct = (a: number, b: number) => (b === 0 ? '–' : `${((100 * a) / b).toFixed(0)} %`);

function printTable(
  title: string,
  rows: { label: string; cats: readonly string[]; count: number }[],
  cells: Map<string, Map<string, Cell>>,
) {
  console.log(`\n${title}: precision / recall / F1 (±${TOLERANCE} commits)\n`);
  console.log(`| category | series | ${METHODS.map((m) => m.name).join(' | ')} |`);
  console.log(`|---|---:|${METHODS.map(() => '---:').join('|')}|`);
  for (const r of rows) {
    const parts = METHODS.map((m) => {
      const c = merged(cells.get(m.name) as Map<string, Cell>, r.cats);
      const { precision, recall, f1 } = prf(c.score);
      return c.score.tp + c.score.fn === 0 ? `– / – / – (FP ${c.score.fp})` : `${f2(precision)} / ${f2(recall)} / **${f2(f1)}**`;
    });
    console.log(`| ${r.label} | ${r.count} | ${parts.join(' | ')} |`);
  }
  console.log(`\n${title}: series without change that raised nothing (silent rate)\n`);
  console.log(`| category | no-change series | ${METHODS.map((m) => m.name).join(' | ')} |`);
  console.log(`|---|---:|${METHODS.map(() => '---:').join('|')}|`);
  for (const r of rows) {
    const first = merged(cells.get('eventix') as Map<string, Cell>, r.cats);
    if (first.noChange === 0) continue;
    const parts = METHODS.map((m) => {
      const c = merged(cells.get(m.name) as Map<string, Cell>, r.cats);
      return pct(c.silent, c.noChange);
    });
    console.log(`| ${r.label} | ${first.noChange} | ${parts.join(' | ')} |`);
  }
}

/** The measurements behind the method's choices: the detector with one part swapped out at a time. */
const VARIANTS: { name: string; options: DetectOptions }[] = [
  { name: 'eventix (defaults)', options: {} },
  { name: 'drift guard on every candidate (no slope gate)', options: { slopeGate: 0 } },
  { name: 'drift guard threshold t ≥ 3 (not 4)', options: { driftT: 3 } },
  { name: 'no drift guard', options: { driftT: 0 } },
  { name: 'plain binary segmentation', options: { method: { search: 'binary' } } },
  { name: 't-test instead of Mann–Whitney', options: { method: { test: 't-test' } } },
  { name: 'raw samples instead of commit medians', options: { method: { unit: 'sample' } } },
  { name: 'Bonferroni by candidates', options: { correction: 'candidates' } },
  { name: 'Bonferroni by commits', options: { correction: 'commits' } },
  { name: 'window 40', options: { window: 40 } },
  { name: 'window 120', options: { window: 120 } },
  { name: 'min effect 1 %', options: { minEffect: 0.01 } },
  { name: 'min effect 5 %', options: { minEffect: 0.05 } },
];

function ablations(synthetic: LabelledSeries[], real: LabelledSeries[] | null) {
  console.log('\nAblations (the choices behind the method): precision / recall / F1, silent rate on no-change series\n');
  console.log('| variant | synthetic P / R / F1 | synthetic silent | real P / R / F1 | real silent |');
  console.log('|---|---:|---:|---:|---:|');
  for (const v of VARIANTS) {
    const cols: string[] = [];
    for (const set of [synthetic, real]) {
      if (!set) {
        cols.push('–', '–');
        continue;
      }
      let score = ZERO;
      let noChange = 0;
      let silent = 0;
      for (const x of set) {
        const found = detectChanges(x.commits, { direction: x.direction, ...v.options }).map((c) => c.index);
        const sc = matchDetections(found, x.changePoints, TOLERANCE, x.ignore);
        score = add(score, sc);
        if (x.changePoints.length === 0) {
          noChange++;
          if (sc.fp === 0) silent++;
        }
      }
      const { precision, recall, f1 } = prf(score);
      cols.push(`${f2(precision)} / ${f2(recall)} / **${f2(f1)}**`, pct(silent, noChange));
    }
    console.log(`| ${v.name} | ${cols.join(' | ')} |`);
  }
}

function main() {
  console.log(`bench:detect — seed ${SEED}, ${PER_CATEGORY} synthetic series per category, tolerance ±${TOLERANCE} commits`);
  const synthetic = syntheticSet(SEED, PER_CATEGORY);
  const root = fileURLToPath(new URL('..', import.meta.url));
  const dir = realSeriesDir(root);
  const real = loadRealSeries(dir);
  if (!real) console.log(`\nThe real labelled series folder ${dir} is absent: scoring the synthetic set only.`);

  const s = evaluate(synthetic);
  const count = (cats: readonly string[], set: LabelledSeries[]) => set.filter((x) => cats.includes(x.category)).length;
  printTable(
    'Synthetic set',
    [
      ...SYNTHETIC_CATEGORIES.map((c) => ({ label: c, cats: [c], count: count([c], synthetic) })),
      { label: '**all synthetic**', cats: SYNTHETIC_CATEGORIES, count: synthetic.length },
    ],
    s.cells,
  );
  let r: ReturnType<typeof evaluate> | null = null;
  if (real) {
    r = evaluate(real);
    const cats = [...new Set(real.map((x) => x.category))];
    printTable(
      `Real labelled series (${dir})`,
      [...cats.map((c) => ({ label: c, cats: [c], count: count([c], real) })), { label: '**all real**', cats, count: real.length }],
      r.cells,
    );
  }
  ablations(synthetic, real);

  console.log('\nTime to evaluate the whole set (ms):\n');
  console.log(`| method | synthetic | real |`);
  console.log(`|---|---:|---:|`);
  for (const m of METHODS)
    console.log(`| ${m.name} | ${(s.ms.get(m.name) ?? 0).toFixed(0)} | ${r ? (r.ms.get(m.name) ?? 0).toFixed(0) : '–'} |`);

  // Speed: 1,000-commit × 5-sample series.
  const rng = new Rng(SEED + 1);
  const series = Array.from({ length: SPEED_SERIES }, () => speedSeries(rng, 1000, 5));
  for (let i = 0; i < 20; i++) detectChanges(series[i % series.length] ?? [], {});
  const times: number[] = [];
  let found = 0;
  const t0 = performance.now();
  for (const x of series) {
    const a = performance.now();
    found += detectChanges(x, {}).length;
    times.push(performance.now() - a);
  }
  const total = (performance.now() - t0) / 1000;
  times.sort((a, b) => a - b);
  const q = (p: number) => (times[Math.min(times.length - 1, Math.floor(p * times.length))] as number).toFixed(2);
  console.log(`\nSpeed (1,000 commits × 5 samples, ${SPEED_SERIES} series, ${found} change points found):`);
  console.log(
    `  per detection: median ${q(0.5)} ms, p95 ${q(0.95)} ms, p99 ${q(0.99)} ms, max ${times[times.length - 1]?.toFixed(2)} ms (budget 50 ms)`,
  );
  console.log(`  all ${SPEED_SERIES} series: ${total.toFixed(2)} s (budget 30 s)`);
}

main();
