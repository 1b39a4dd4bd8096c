import { z } from 'zod';

/** Names of tasks and namespaces: short, printable, safe in URLs and metric labels. */
export const NAME_PATTERN = /^[A-Za-z0-9_.:/-]{1,200}$/;
export const NAME_MESSAGE = 'must be 1-200 characters of letters, digits and _ . : / -';
/** A task, run or event uid: a UUID, in either case. */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A task or namespace name, as the library and the API both validate it. */
export const nameSchema = z.string().regex(NAME_PATTERN, { error: NAME_MESSAGE });
