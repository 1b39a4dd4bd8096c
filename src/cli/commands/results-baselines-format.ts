import type { StoredSnapshot } from '../../tracking/snapshots.ts';

/** Human-readable output of `results baseline`, `results snapshot` and `results compare`. */

/** Columns padded to their widest cell; the last column is not padded. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export const tagText = (tags: Record<string, unknown>) =>
  Object.entries(tags)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(',') || '-';

/** Four significant digits, without exponent noise for everyday magnitudes. */
export const num = (v: number | null) => (v === null ? '-' : Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4))));

export function snapshotRows(snapshots: readonly StoredSnapshot[]): string[][] {
  return snapshots.map((s) => [
    s.metric,
    s.config?.hash?.slice(0, 12) ?? '-',
    s.architecture ?? '-',
    tagText(s.tags),
    s.sha.slice(0, 12),
    String(s.n),
    num(s.mean),
    num(s.stddev),
    s.unit ?? '-',
    String(s.version),
    [s.isCurrent ? 'current' : '', s.isBaseline ? `baseline ${s.baselineName}` : ''].filter(Boolean).join(', ') || '-',
  ]);
}

export const SNAPSHOT_HEADER = ['metric', 'config', 'arch', 'tags', 'sha', 'n', 'mean', 'stddev', 'unit', 'version', 'flags'];
