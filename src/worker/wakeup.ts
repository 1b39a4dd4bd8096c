/**
 * An interruptible wait: the worker loop sleeps here until the poll interval passes or something
 * worth claiming for happens (a NOTIFY, a slot freed, stop()). A wake that arrives while nobody
 * waits is remembered, so the loop cannot miss one between its claim and its next wait.
 */
export class Wakeup {
  private pending = false;
  private release: (() => void) | undefined;

  wake(): void {
    if (this.release) this.release();
    else this.pending = true;
  }

  wait(ms: number): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(timer);
        self.release = undefined;
        resolve();
      }
      this.release = done;
    });
  }
}
