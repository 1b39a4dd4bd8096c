import { realpathSync } from 'node:fs';
import path from 'node:path';
import { ValidationError } from '../errors.ts';

/**
 * A repository is stored under its real absolute path: `../valkey` from the CLI and
 * `/srv/ci/valkey` from the API are one repository when they are one directory.
 */
export function repoKey(dir: string): string {
  const abs = path.resolve(dir);
  try {
    return realpathSync(abs);
  } catch {
    return abs;
  }
}

/**
 * The repositories the HTTP API may run git in (EVENTIX_REPOS). A request names a repository by
 * one of the configured paths, as written or resolved; the request's path is only compared, never
 * opened, so an unlisted path costs the server nothing and reveals nothing.
 */
export class RepoAllowList {
  private readonly byName = new Map<string, string>();

  constructor(readonly entries: readonly string[]) {
    for (const entry of entries) {
      const key = repoKey(entry);
      this.byName.set(entry, key);
      this.byName.set(key, key);
    }
  }

  /** For filters: the stored key of a listed repository, else the string as given (nothing is opened). */
  keyOf(requested: string | undefined): string | undefined {
    return requested === undefined ? undefined : (this.byName.get(requested) ?? requested);
  }

  /** The stored key of an allowed repository, or a ValidationError naming `field`. */
  resolve(requested: string, field = 'repo'): string {
    const key = this.byName.get(requested);
    if (key !== undefined) return key;
    throw new ValidationError([
      {
        field,
        message:
          this.entries.length === 0
            ? 'this server allows no repositories (set EVENTIX_REPOS)'
            : 'is not one of the repositories this server allows (EVENTIX_REPOS)',
      },
    ]);
  }
}
