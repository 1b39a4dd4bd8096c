/**
 * How the dashboard writes numbers and times. Every time is shown in UTC with the zone named
 * (servers and workers span zones; the one exception, a schedule's own zone, says which), and
 * every number carries its unit.
 */

const pad = (n: number) => String(n).padStart(2, '0');

/** `2026-12-01 23:44:16 UTC`. */
export function formatUtc(d: Date | string | null | undefined): string {
  if (d === null || d === undefined) return '—';
  const t = typeof d === 'string' ? new Date(d) : d;
  if (Number.isNaN(t.getTime())) return '—';
  return `${t.getUTCFullYear()}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())} ${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}:${pad(t.getUTCSeconds())} UTC`;
}

/** A time in a named IANA zone, with its offset: `2026-12-02 08:00 GMT+1` (the en-CA short zone name). */
export function formatInZone(d: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
    timeZoneName: 'short',
  }).formatToParts(d);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return `${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')} ${get('timeZoneName')}`;
}

/** A span of seconds, in the largest units that fit: `45 s`, `3 min 12 s`, `2 h 5 min`, `3 d 4 h`. */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  const s = Math.max(0, seconds);
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 60) return `${Math.floor(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.floor(s % 60)} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

/** Relative to `now`: `3 min ago`, `in 2 h 5 min`. */
export function formatRelative(d: Date | string | null | undefined, now = new Date()): string {
  if (d === null || d === undefined) return '—';
  const t = typeof d === 'string' ? new Date(d) : d;
  const diff = (t.getTime() - now.getTime()) / 1000;
  if (Math.abs(diff) < 1) return 'now';
  return diff < 0 ? `${formatDuration(-diff)} ago` : `in ${formatDuration(diff)}`;
}

/** A count with thousands separators: `1,234,567`. */
export function formatCount(n: number | bigint | null | undefined): string {
  if (n === null || n === undefined) return '—';
  return Number(n).toLocaleString('en-US');
}

/** A measured value with its unit, to a sensible precision: `12.3 ms`, `1,024 ops/s`. */
export function formatValue(v: number | null | undefined, unit?: string | null): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  const abs = Math.abs(v);
  const digits = abs >= 1000 ? 0 : abs >= 100 ? 1 : abs >= 1 ? 2 : 4;
  const text = v.toLocaleString('en-US', { maximumFractionDigits: digits });
  return unit ? `${text} ${unit}` : text;
}

/** A signed relative change: `+12.5 %`, `−3.1 %`. */
export function formatPercent(fraction: number | null | undefined): string {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) return '—';
  const p = fraction * 100;
  const sign = p > 0 ? '+' : p < 0 ? '−' : '';
  return `${sign}${Math.abs(p).toLocaleString('en-US', { maximumFractionDigits: 1 })} %`;
}

/** A p-value: four decimals, or in exponent form below 0.0001, where four decimals would all be zero. */
export function formatPValue(p: number): string {
  return p < 0.0001 ? p.toExponential(1) : p.toFixed(4);
}

/** `1 task`, `3 tasks`. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}

/** The first block of a uid: enough to tell tasks (or runs) apart on a screen; the full uid is a click or a hover away. */
export const shortUid = (uid: string) => uid.slice(0, 8);
