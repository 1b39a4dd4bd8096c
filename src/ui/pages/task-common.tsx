import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { FieldIssue } from '../../errors.ts';
import type { UiContext } from '../context.ts';
import { Layout } from '../layout.tsx';

/** `1 task`, `3 tasks`. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}

/** The first block of a uid: enough to tell tasks apart on a screen, the full uid is one click away. */
export const shortUid = (uid: string) => uid.slice(0, 8);

export function issuesText(issues: readonly FieldIssue[]): string {
  return issues.map((i) => `${i.field}: ${i.message}`).join('; ');
}

/**
 * A page that could not be drawn for a reason the viewer can fix (a bad filter, a malformed uid,
 * a task that is gone): the message in the flash area, the right status, and a way on.
 */
export function taskProblemPage(
  c: UiContext,
  status: ContentfulStatusCode,
  title: string,
  message: string,
  link: { href: string; label: string } = { href: '/ui/tasks', label: 'Back to all tasks' },
) {
  return c.html(
    <Layout title={title} section="tasks" viewer={c.get('viewer')} error={message}>
      <p>
        <a href={link.href}>{link.label}</a>
      </p>
    </Layout>,
    status,
  );
}
