import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { onShutdownSignals, SIGNAL_ECHO_MS } from '../../src/cli/signals.ts';

function harness() {
  const target = new EventEmitter();
  let clock = 0;
  const calls: string[] = [];
  const stop = onShutdownSignals({ first: (s) => calls.push(`first:${s}`), again: (s) => calls.push(`again:${s}`) }, target, () => clock);
  return {
    calls,
    stop,
    target,
    at(ms: number, signal: NodeJS.Signals) {
      clock = ms;
      target.emit(signal, signal);
    },
  };
}

describe('onShutdownSignals', () => {
  it('treats the copies of one Ctrl-C (terminal plus npm forwarding it) as one signal', () => {
    const h = harness();
    h.at(0, 'SIGINT');
    h.at(2, 'SIGINT');
    h.at(SIGNAL_ECHO_MS - 1, 'SIGTERM');
    expect(h.calls).toEqual(['first:SIGINT']);
  });

  it('a deliberate second signal after the echo window asks to quit at once', () => {
    const h = harness();
    h.at(100, 'SIGTERM');
    h.at(100 + SIGNAL_ECHO_MS, 'SIGINT');
    h.at(100 + 3 * SIGNAL_ECHO_MS, 'SIGINT');
    expect(h.calls).toEqual(['first:SIGTERM', 'again:SIGINT', 'again:SIGINT']);
  });

  it('removes its listeners', () => {
    const h = harness();
    expect(h.target.listenerCount('SIGINT')).toBe(1);
    h.stop();
    expect(h.target.listenerCount('SIGINT')).toBe(0);
    expect(h.target.listenerCount('SIGTERM')).toBe(0);
  });
});
