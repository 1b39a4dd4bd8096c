import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Direction } from '../../src/tracking/formats/normalized.ts';
import type { LabelledSeries } from './series.ts';

/**
 * The real labelled series of `../shared/benchmark-series/` (relative to the repository root),
 * read where they are at run time and never copied: one JSON file per series,
 * `{name, values: (number | null)[], change_points: number[], direction, ignore_ranges?}` where
 * `null` is a commit that was not measured. Each sub-folder is scored as its own category
 * (`real/otava`, `real/mongodb`, `real/tcpd`).
 */
export function realSeriesDir(repoRoot: string): string {
  return join(repoRoot, '..', 'shared', 'benchmark-series');
}

interface RealFile {
  name?: string;
  values: (number | null)[];
  change_points: number[];
  direction?: string | null;
  ignore_ranges?: [number, number][];
  ignore?: [number, number][];
}

function direction(d: string | null | undefined): Direction | null {
  if (d === 'higher_is_better' || d === 'higher') return 'higher';
  if (d === 'lower_is_better' || d === 'lower') return 'lower';
  return null;
}

/** The real series, or null when the folder is absent. */
export function loadRealSeries(dir: string): LabelledSeries[] | null {
  if (!existsSync(dir)) return null;
  const out: LabelledSeries[] = [];
  for (const folder of readdirSync(dir, { withFileTypes: true })) {
    if (!folder.isDirectory()) continue;
    for (const file of readdirSync(join(dir, folder.name)).sort()) {
      if (!file.endsWith('.json')) continue;
      const data = JSON.parse(readFileSync(join(dir, folder.name, file), 'utf8')) as RealFile;
      const name = data.name ?? `${folder.name}/${file.replace(/\.json$/, '')}`;
      out.push({
        name,
        category: `real/${folder.name}`,
        commits: data.values.map((v, i) => ({ sha: `${name}@${i}`, samples: v === null || !Number.isFinite(v) ? [] : [v] })),
        direction: direction(data.direction),
        changePoints: [...data.change_points].sort((a, b) => a - b),
        ignore: data.ignore_ranges ?? data.ignore ?? [],
      });
    }
  }
  return out.sort((a, b) => (a.category === b.category ? a.name.localeCompare(b.name) : a.category.localeCompare(b.category)));
}
