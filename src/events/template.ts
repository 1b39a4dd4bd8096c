import { z } from 'zod';
import { type FieldIssue, ValidationError } from '../errors.ts';
import { type SubmitInput, submitSchema } from '../queue/submit-input.ts';
import { jsonValue } from '../validation/json.ts';
import { NAME_PATTERN } from '../validation/names.ts';
import { checkDocument } from './json.ts';
import { isPointer, POINTER_MESSAGE, resolvePointer } from './pointer.ts';

/**
 * A trigger's task template: the task to submit, in the API's snake_case, where values may come
 * from the event's payload. Templates are data: they are walked, never evaluated, so text such as
 * `process.exit()` or `${x}` is copied as the plain string it is.
 *
 *   {"$ptr": "/commit/sha"}                  the payload value at that JSON pointer, keeping its JSON type
 *   {"$ptr": "/pr", "$default": null}        … or $default when the pointer names nothing
 *   "sweep-{{/commit/sha}}"                  a string with interpolations: strings are inserted as they
 *                                            are, other values as JSON (1, true, null, {"a":1})
 *   "{{/branch|main}}"                       … with a default (the text after |, up to }}) when missing
 *   {"$literal": <any JSON>}                 the value as is, with no $ptr or {{…}} inside it interpreted
 *
 * A pointer that names nothing, with no default, fails the trigger, and with it the whole event.
 * Inside `{{…}}` the pointer must start with "/" and ends at the first "|" or "}}"; use $ptr for
 * keys that contain those. Object keys are never templated, and keys starting with "$" are
 * reserved (wrap such an object in $literal).
 */

const pointer = z
  .string()
  .max(1000)
  .regex(/^(\/([^~/]|~[01])*)*$/, { error: POINTER_MESSAGE });

export const payloadRef = z.strictObject({ $ptr: pointer, $default: jsonValue.optional() }).meta({
  id: 'PayloadRef',
  description: 'The payload value at the JSON pointer $ptr, keeping its JSON type; $default when the pointer names nothing.',
});

export type Part = string | { pointer: string; fallback: string | undefined };

/** "a-{{/x|y}}-b" → ["a-", {pointer: "/x", fallback: "y"}, "-b"]; an error message for bad syntax. */
export function parseInterpolations(s: string): Part[] | { error: string } {
  const parts: Part[] = [];
  let i = 0;
  for (;;) {
    const open = s.indexOf('{{', i);
    if (open < 0) {
      if (i < s.length) parts.push(s.slice(i));
      return parts;
    }
    if (open > i) parts.push(s.slice(i, open));
    const close = s.indexOf('}}', open + 2);
    if (close < 0) return { error: `unclosed "{{" at character ${open + 1}` };
    const inner = s.slice(open + 2, close);
    const bar = inner.indexOf('|');
    const ptr = bar < 0 ? inner : inner.slice(0, bar);
    if (!ptr.startsWith('/') || !isPointer(ptr)) {
      return { error: `"{{${inner}}}" at character ${open + 1}: write {{/json/pointer}} or {{/json/pointer|default}}` };
    }
    parts.push({ pointer: ptr, fallback: bar < 0 ? undefined : inner.slice(bar + 1) });
    i = close + 2;
  }
}

type AddIssue = (path: (string | number)[], message: string) => void;

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Static checks of a template value: interpolation syntax, $ptr and $literal shapes, reserved keys. */
function checkValue(value: unknown, path: (string | number)[], add: AddIssue): void {
  if (typeof value === 'string') {
    const parsed = parseInterpolations(value);
    if ('error' in parsed) add(path, parsed.error);
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => {
      checkValue(v, [...path, i], add);
    });
  } else if (isObject(value)) {
    if ('$ptr' in value) {
      const r = payloadRef.safeParse(value);
      if (!r.success) for (const i of r.error.issues) add([...path, ...(i.path as (string | number)[])], issueMessage(i));
    } else if ('$literal' in value) {
      for (const k of Object.keys(value)) if (k !== '$literal') add([...path, k], 'a {"$literal": …} object takes no other key');
    } else {
      for (const [k, v] of Object.entries(value)) {
        if (k.startsWith('$')) add([...path, k], 'keys starting with $ are reserved: wrap the object in {"$literal": …}');
        else checkValue(v, [...path, k], add);
      }
    }
  }
}

const issueMessage = (i: z.core.$ZodIssue) =>
  i.code === 'unrecognized_keys' ? `unknown field(s): ${i.keys.join(', ')} (a $ptr reference takes only $default)` : i.message;

/** Any JSON value whose strings, $ptr and $literal objects are well formed. */
const templateValue = jsonValue.superRefine((value, ctx) => {
  checkValue(value, [], (path, message) => ctx.addIssue({ code: 'custom', path, message }));
});

const isRef = (v: unknown) => isObject(v) && ('$ptr' in v || '$literal' in v);

/** A value of the given type, or a $ptr reference that must produce one when rendered. */
const templated = <T extends z.ZodType>(literal: T, what: string) =>
  z.union([literal, payloadRef], {
    error: (iss) => (iss.code === 'invalid_union' ? `must be ${what} or a {"$ptr": "/pointer"} reference` : undefined),
  });

/** A name (task, namespace): literal text must be a valid name now; interpolated text is checked when rendered. */
const templatedName = templated(
  z.string().superRefine((s, ctx) => {
    const parsed = parseInterpolations(s);
    if ('error' in parsed) ctx.addIssue({ code: 'custom', message: parsed.error });
    else if (parsed.every((p) => typeof p === 'string') && !NAME_PATTERN.test(s))
      ctx.addIssue({ code: 'custom', message: 'must be 1-200 characters of letters, digits and _ . : / -, or contain {{/pointer}}' });
  }),
  'a string',
);

/** Template field (snake_case, as stored) → SubmitInput field (camelCase). */
const OPTION_FIELDS = {
  priority: 'priority',
  retry: 'retry',
  max_retries: 'maxRetries',
  error_eta_inc: 'errorEtaInc',
  error_eta_max: 'errorEtaMax',
  timeout_seconds: 'timeoutSeconds',
  store_result: 'storeResult',
  result_expires: 'resultExpires',
  error_expires: 'errorExpires',
} as const;
type OptionField = keyof typeof OPTION_FIELDS;
const OPTION_TYPES: Record<OptionField, string> = {
  priority: 'an integer',
  retry: 'true or false',
  max_retries: 'an integer or null',
  error_eta_inc: 'a whole number of seconds',
  error_eta_max: 'a whole number of seconds',
  timeout_seconds: 'a whole number of seconds or null',
  store_result: 'true or false',
  result_expires: 'a whole number of seconds or null',
  error_expires: 'a whole number of seconds or null',
};

// The literal forms reuse the submit schema's own field rules, so a template accepts what submit does.
const option = <K extends OptionField>(k: K) => templated(submitSchema.shape[OPTION_FIELDS[k]].unwrap(), OPTION_TYPES[k]).optional();

const templateObject = z
  .strictObject(
    {
      task: templatedName,
      namespace: templatedName.optional().describe("Default: the event's namespace."),
      args: templateValue
        .refine((v) => Array.isArray(v) || isRef(v), { error: 'must be a JSON array or a {"$ptr": …} reference' })
        .optional()
        .describe('A JSON array whose items may be templates, or {"$ptr": …} naming an array in the payload. Default [].'),
      kwargs: templateValue
        .refine((v) => isObject(v), { error: 'must be a JSON object or a {"$ptr": …} reference' })
        .optional()
        .describe('A JSON object whose values may be templates, or {"$ptr": …} naming an object in the payload. Default {}.'),
      unique_key: z
        .union([z.string().min(1).max(500), payloadRef, z.null()])
        .superRefine((v, ctx) => {
          if (typeof v !== 'string') return;
          const parsed = parseInterpolations(v);
          if ('error' in parsed) ctx.addIssue({ code: 'custom', message: parsed.error });
        })
        .optional()
        .describe('Tasks from events with the same rendered key merge while one is waiting.'),
      priority: option('priority').describe("Default: the event's priority."),
      retry: option('retry'),
      max_retries: option('max_retries'),
      error_eta_inc: option('error_eta_inc'),
      error_eta_max: option('error_eta_max'),
      timeout_seconds: option('timeout_seconds'),
      store_result: option('store_result'),
      result_expires: option('result_expires'),
      error_expires: option('error_expires'),
    },
    { error: (iss) => (iss.code === 'invalid_type' ? 'must be a task template object with at least "task"' : undefined) },
  )
  .meta({
    id: 'TriggerTemplate',
    description:
      'The task each matching event submits. Any value may be {"$ptr": "/json/pointer"} (the payload value, type kept, ' +
      'optional "$default"), a string with {{/json/pointer}} or {{/json/pointer|default}} interpolations, or {"$literal": …}.',
  });

/** JSON nesting allowed in a template (the task's literal args included). */
export const MAX_TEMPLATE_DEPTH = 100;

/** Validates templates: the document check first (depth, storable strings), then the shape, naming exact paths. */
export const templateSchema = z.preprocess((value, ctx) => {
  checkDocument(value, MAX_TEMPLATE_DEPTH, ctx);
  return value;
}, templateObject);

export type TriggerTemplate = z.infer<typeof templateObject>;

/**
 * Cap on what one rendering may produce, in characters of JSON. A template may reference the whole
 * payload many times over; without a cap, a small trigger and a large event could ask for gigabytes.
 */
export const MAX_RENDERED_CHARS = 16 * 1024 * 1024;

class Budget {
  constructor(private left: number) {}
  /** Charge the approximate JSON size of `value`; false once the budget is spent. Walks at most `left` nodes. */
  charge(value: unknown): boolean {
    const stack: unknown[] = [value];
    while (stack.length) {
      const v = stack.pop();
      if (typeof v === 'string') this.left -= v.length + 2;
      else if (v !== null && typeof v === 'object') {
        this.left -= 2;
        for (const [k, x] of Object.entries(v)) {
          if (!Array.isArray(v)) this.left -= k.length + 3;
          stack.push(x);
          this.left -= 1;
        }
      } else this.left -= 5;
      if (this.left < 0) return false;
    }
    return true;
  }
}

/** Wire-style path for a message: kwargs.sha, args.0. */
const at = (path: (string | number)[]) => path.join('.');

function render(value: unknown, payload: unknown, path: (string | number)[], issues: FieldIssue[], budget: Budget): unknown {
  if (typeof value === 'string') {
    const parsed = parseInterpolations(value);
    if ('error' in parsed) {
      issues.push({ field: at(path), message: parsed.error });
      return value;
    }
    if (parsed.every((p) => typeof p === 'string')) return value;
    let out = '';
    for (const part of parsed) {
      if (typeof part === 'string') {
        out += part;
        continue;
      }
      const r = resolvePointer(payload, part.pointer);
      if (r.found) {
        if (!budget.charge(r.value)) return overBudget(path, issues);
        out += typeof r.value === 'string' ? r.value : JSON.stringify(r.value);
      } else if (part.fallback !== undefined) out += part.fallback;
      else
        issues.push({
          field: at(path),
          message: `no value at ${part.pointer} in the payload (write {{${part.pointer}|default}} for a default)`,
        });
    }
    return out;
  }
  if (Array.isArray(value)) return value.map((v, i) => render(v, payload, [...path, i], issues, budget));
  if (isObject(value)) {
    if ('$literal' in value) {
      if (!budget.charge(value.$literal)) return overBudget(path, issues);
      return value.$literal;
    }
    if ('$ptr' in value) {
      const ptr = value.$ptr;
      if (typeof ptr !== 'string' || !isPointer(ptr)) {
        issues.push({ field: at([...path, '$ptr']), message: POINTER_MESSAGE });
        return undefined;
      }
      const r = resolvePointer(payload, ptr);
      const result = r.found ? r.value : Object.hasOwn(value, '$default') ? value.$default : undefined;
      if (!r.found && !Object.hasOwn(value, '$default')) {
        issues.push({ field: at(path), message: `no value at ${ptr} in the payload (add "$default" for a default)` });
      }
      if (!budget.charge(result)) return overBudget(path, issues);
      return result;
    }
    // fromEntries defines own properties, so a "__proto__" key stays a key and never becomes a prototype.
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, render(v, payload, [...path, k], issues, budget)]));
  }
  return value;
}

function overBudget(path: (string | number)[], issues: FieldIssue[]): undefined {
  if (!issues.some((i) => i.message.startsWith('the rendered task')))
    issues.push({ field: at(path), message: `the rendered task exceeds ${MAX_RENDERED_CHARS} characters of JSON` });
  return undefined;
}

/**
 * The task a template asks for, given an event's payload: pure, and total. Every pointer that names
 * nothing (and has no default) is reported at once as a ValidationError whose fields are template
 * paths (`kwargs.sha`). The result is not yet validated as a task: submitMany (normalizeSubmit)
 * does that, so a `{"$ptr"}` that yields the wrong type is caught there. Pass a template that
 * templateSchema accepted; anything else is rendered as far as it makes sense.
 */
export function renderTemplate(template: TriggerTemplate | Record<string, unknown>, payload: unknown): SubmitInput {
  const issues: FieldIssue[] = [];
  const budget = new Budget(MAX_RENDERED_CHARS);
  const t = template as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  const put = (from: string, to: string) => {
    if (t[from] !== undefined) out[to] = render(t[from], payload, [from], issues, budget);
  };
  put('task', 'task');
  put('namespace', 'namespace');
  put('args', 'args');
  put('kwargs', 'kwargs');
  put('unique_key', 'uniqueKey');
  for (const [from, to] of Object.entries(OPTION_FIELDS)) put(from, to);
  if (issues.length) throw new ValidationError(issues);
  return out as SubmitInput;
}

/** Field names of a SubmitInput validation issue, back in template terms: `[0].uniqueKey` → `unique_key`. */
export function templateField(field: string): string {
  return field.replace(/^\[\d+\]\.?/, '').replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`) || '(template)';
}
