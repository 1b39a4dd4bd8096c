/** Why an attempt's signal was aborted; `signal.reason` is one of these. */
export class AttemptAborted extends Error {
  constructor(
    readonly reason: 'timeout' | 'cancelled' | 'lease_lost' | 'shutdown',
    message: string,
  ) {
    super(message);
    this.name = reason === 'timeout' ? 'TaskTimeout' : reason === 'cancelled' ? 'TaskCancelled' : 'AttemptAborted';
  }
}
