import type { TriggerDefinition } from '../../events/define.ts';
import type { Filter } from '../../events/filter.ts';
import type { TriggerTemplate } from '../../events/template.ts';
import type { Trigger } from '../../events/triggers.ts';
import { Empty, Head, JsonBlock, Status } from '../components.tsx';

/**
 * The triggers table of the events page: the stored triggers (data, managed through /triggers or
 * `eventix triggers`) and those defined in code (defineTrigger, passed to the API process as
 * codeTriggers), side by side, since both fire on the same events.
 */

export interface TriggerRow {
  name: string;
  eventName: string;
  namespace: string | null;
  filter: Filter | null;
  /** null for a code trigger: its mapping is a function. */
  template: TriggerTemplate | null;
  enabled: boolean;
  inCode: boolean;
}

export function triggerRows(stored: readonly Trigger[], code: readonly TriggerDefinition[], eventName?: string): TriggerRow[] {
  const rows: TriggerRow[] = [
    ...stored.map((t) => ({ ...t, inCode: false })),
    ...code
      .filter((d) => eventName === undefined || d.eventName === eventName)
      .map((d) => ({
        name: d.name,
        eventName: d.eventName,
        namespace: d.namespace,
        filter: d.filter,
        template: null,
        // A code trigger runs whenever the process serving events has it.
        enabled: true,
        inCode: true,
      })),
  ];
  return rows.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A template value as a reader would write it: `{{/pointer}}` for a payload reference, JSON otherwise. */
function valueText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (isObject(v) && typeof v.$ptr === 'string') {
    return '$default' in v ? `{{${v.$ptr}|${JSON.stringify(v.$default)}}}` : `{{${v.$ptr}}}`;
  }
  if (isObject(v) && '$literal' in v) return JSON.stringify(v.$literal);
  return JSON.stringify(v);
}

/**
 * A filter as a reader would say it: `/branch = "main" and not /draft exists`. Stored filters
 * come back from jsonb with their keys reordered, so the JSON itself reads worse than this.
 */
export function filterText(f: Filter, nested = false): string {
  const group = (parts: string[], op: string) => {
    const text = parts.join(` ${op} `);
    return nested && parts.length > 1 ? `(${text})` : text;
  };
  if ('all' in f)
    return group(
      f.all.map((x) => filterText(x, true)),
      'and',
    );
  if ('any' in f)
    return group(
      f.any.map((x) => filterText(x, true)),
      'or',
    );
  if ('not' in f) return `not ${filterText(f.not, true)}`;
  if ('eq' in f) return `${f.field} = ${JSON.stringify(f.eq)}`;
  if ('in' in f) return `${f.field} in ${JSON.stringify(f.in)}`;
  if ('prefix' in f) return `${f.field} starts with ${JSON.stringify(f.prefix)}`;
  return `${f.field} ${f.exists ? 'exists' : 'is absent'}`;
}

/** One line of what the template submits beyond the task name: args, kwargs keys, key, options. */
export function templateDetails(t: TriggerTemplate): string[] {
  const out: string[] = [];
  const { task: _task, namespace: _namespace, args, kwargs, unique_key, ...options } = t;
  if (Array.isArray(args)) out.push(`args: ${args.length}`);
  else if (args !== undefined) out.push(`args ← ${valueText(args)}`);
  if (isObject(kwargs) && !('$ptr' in kwargs)) {
    const keys = Object.keys(kwargs);
    if (keys.length) out.push(`kwargs: ${keys.join(', ')}`);
  } else if (kwargs !== undefined) out.push(`kwargs ← ${valueText(kwargs)}`);
  if (unique_key !== undefined && unique_key !== null) out.push(`unique_key: ${valueText(unique_key)}`);
  for (const [k, v] of Object.entries(options)) if (v !== undefined) out.push(`${k}: ${valueText(v)}`);
  return out;
}

function TemplateCell({ row }: { row: TriggerRow }) {
  if (!row.template) return <span class="muted">map() in the application’s code</span>;
  const details = templateDetails(row.template);
  return (
    <div>
      <code>{valueText(row.template.task)}</code>
      {row.template.namespace !== undefined ? (
        <>
          {' '}
          in <code>{valueText(row.template.namespace)}</code>
        </>
      ) : null}
      {details.length ? <span class="sub muted">{details.join(' · ')}</span> : null}
      <details>
        <summary>template</summary>
        <JsonBlock value={row.template} label={`template of ${row.name}`} />
      </details>
    </div>
  );
}

export function TriggerTable({ rows, eventName }: { rows: TriggerRow[]; eventName: string | undefined }) {
  if (rows.length === 0) {
    return (
      <Empty title={eventName ? `No trigger listens to '${eventName}'.` : 'No triggers yet.'}>
        <p>
          A trigger submits a task for each matching event. Store one (scope admin) with <code>eventix triggers put trigger.json</code> or{' '}
          <code>POST /triggers</code>, e.g.
        </p>
        <pre class="json">
          {
            '{"name": "sweep-on-push", "event_name": "commit.pushed", "filter": {"field": "/branch", "eq": "main"},\n "template": {"task": "bench.sweep", "kwargs": {"sha": {"$ptr": "/sha"}}}}'
          }
        </pre>
        <p>
          or define one in code with <code>defineTrigger()</code> and pass it to the API process as <code>codeTriggers</code>.
        </p>
      </Empty>
    );
  }
  return (
    <table class="triggers stack-narrow">
      <Head cols={['Trigger', 'Event', 'Namespace', 'Filter', 'Submits', 'State']} />
      <tbody>
        {rows.map((r) => (
          <tr>
            <td class="lead">
              <strong>{r.name}</strong>
              {r.inCode ? <span class="tag">in code</span> : null}
            </td>
            <td data-label="Event">
              <a href={`/ui/events?name=${encodeURIComponent(r.eventName)}`}>
                <code>{r.eventName}</code>
              </a>
            </td>
            <td data-label="Namespace">{r.namespace ?? <span class="muted">all</span>}</td>
            <td data-label="Filter">
              {r.filter ? (
                <div>
                  <code class="wrap">{filterText(r.filter)}</code>
                  <details>
                    <summary>JSON</summary>
                    <JsonBlock value={r.filter} label={`filter of ${r.name}`} />
                  </details>
                </div>
              ) : (
                <span class="muted">every event</span>
              )}
            </td>
            <td data-label="Submits">
              <TemplateCell row={r} />
            </td>
            <td class="corner">
              <Status status={r.enabled ? 'enabled' : 'disabled'} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
