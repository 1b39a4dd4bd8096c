/**
 * Text PostgreSQL can store. text and jsonb refuse the NUL character, and a lone surrogate has no
 * UTF-8 form: jsonb refuses its escape, and a text parameter would arrive as U+FFFD, so the value
 * read back would not be the one written. Checking first turns a would-be 500 (or a silently
 * changed value) into a 400 that names the field. The one definition: every check of text bound
 * for the database calls this.
 */
export function isStorableText(s: string): boolean {
  return !s.includes('\u0000') && s.isWellFormed();
}

/** What a field that fails isStorableText is told. */
export const NOT_STORABLE_TEXT = 'must not contain NUL characters or lone surrogates';
