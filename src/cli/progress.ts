/**
 * Progress of a long command on stderr: a bar redrawn in place on a terminal; elsewhere (CI logs,
 * pipes) a plain line every few seconds and at the end. `total` undefined: a count without a bar.
 */
export class Progress {
  private lastLine = 0;
  private readonly tty = Boolean(process.stderr.isTTY);

  constructor(
    private readonly total: number | undefined,
    private readonly everyMs = 2000,
  ) {}

  update(done: number, text: string, final = false): void {
    if (this.tty) {
      const width = 30;
      const bar =
        this.total === undefined
          ? ''
          : `[${'#'.repeat(this.total ? Math.min(width, Math.round((done / this.total) * width)) : width).padEnd(width, '-')}] `;
      process.stderr.write(`\r${bar}${text}\u001b[K${final ? '\n' : ''}`);
      return;
    }
    const now = Date.now();
    if (final || now - this.lastLine >= this.everyMs) {
      this.lastLine = now;
      process.stderr.write(`${text}\n`);
    }
  }
}
