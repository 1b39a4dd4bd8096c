import { type Logger, pino } from 'pino';

export type { Logger };

/**
 * Structured JSON logs on stderr, so stdout stays free for command output (`eventix commits
 * determine` prints shas there). Known secret-bearing fields are redacted wherever they appear.
 */
export function createLogger(level: string, destination: NodeJS.WritableStream = process.stderr): Logger {
  return pino(
    {
      level,
      base: { service: 'eventix' },
      // pg attaches its client (with connection parameters) to errors; pino's default serializer
      // would log all of it. Keep only what helps, and nothing that can hold a secret.
      serializers: { err: serializeError },
      redact: {
        paths: ['password', '*.password', 'token', '*.token', 'authorization', '*.authorization', 'databaseUrl', '*.databaseUrl'],
        censor: '[redacted]',
      },
    },
    destination as pino.DestinationStream,
  );
}

export function serializeError(err: unknown): Record<string, unknown> {
  const e = coerceError(err) as Error & { code?: unknown; detail?: unknown; constraint?: unknown };
  const out: Record<string, unknown> = { type: e.name, message: e.message };
  if (typeof e.code === 'string') out.code = e.code;
  if (typeof e.detail === 'string') out.detail = e.detail;
  if (typeof e.constraint === 'string') out.constraint = e.constraint;
  if (e.stack) out.stack = e.stack;
  return out;
}

/** A logger that drops everything, for tests and library users who pass none. */
export const silentLogger: Logger = pino({ level: 'silent' });

/** Every `catch` goes through this, so code below always has an Error with a message and stack. */
export function coerceError(err: unknown): Error {
  if (err instanceof Error) return err;
  if (typeof err === 'string') return new Error(err);
  try {
    return new Error(JSON.stringify(err));
  } catch {
    return new Error(String(err));
  }
}

/** postgres://user:secret@host/db → postgres://user:***@host/db, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '[unparseable url]';
  }
}
