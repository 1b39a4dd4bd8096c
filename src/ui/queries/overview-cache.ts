/**
 * Live refreshes share one read. Every open overview tab re-fetches the page every 5 s; without
 * sharing, ten tabs cost ten reads per 5 s, a hundred a hundred. Here a refresh (the live
 * region's fetch, which says so with `x-eventix-live: 1`) reuses a read of the same filter that
 * is younger than `maxAgeMs`, or joins one in flight, so the database sees at most one read per
 * filter per maxAgeMs per process however many tabs are open. A page load (navigation, reload)
 * always reads afresh, and the page shows the database time of what it shows.
 */
export class SharedReads<T> {
  private readonly entries = new Map<string, { startedAt: number; value: Promise<T> }>();

  constructor(
    private readonly maxAgeMs: number,
    /** Distinct filters remembered at once; the oldest goes first. */
    private readonly maxEntries = 100,
  ) {}

  /** The value for `key` and, when it came from an earlier read, how old that read is (ms). */
  async get(key: string, shared: boolean, read: () => Promise<T>): Promise<{ value: T; ageMs: number | undefined }> {
    const now = performance.now();
    const hit = this.entries.get(key);
    if (shared && hit && now - hit.startedAt < this.maxAgeMs) return { value: await hit.value, ageMs: now - hit.startedAt };
    const value = read();
    this.entries.delete(key);
    this.entries.set(key, { startedAt: now, value });
    for (const [k, e] of this.entries) {
      if (this.entries.size <= this.maxEntries && now - e.startedAt < this.maxAgeMs) break;
      this.entries.delete(k);
    }
    // A failed read is not shared: the next refresh tries again.
    value.catch(() => {
      if (this.entries.get(key)?.value === value) this.entries.delete(key);
    });
    return { value: await value, ageMs: undefined };
  }
}
