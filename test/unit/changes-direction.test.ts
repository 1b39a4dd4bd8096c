import { describe, expect, it } from 'vitest';
import { directionOfName, kindOf, resolveDirection } from '../../src/tracking/changes/direction.ts';

describe('direction rule', () => {
  it('names: rps/throughput/ops higher, latency/_ms/time lower, others unknown', () => {
    expect(directionOfName('rps')).toBe('higher');
    expect(directionOfName('throughput')).toBe('higher');
    expect(directionOfName('get_ops')).toBe('higher');
    expect(directionOfName('p99_latency_ms')).toBe('lower');
    expect(directionOfName('avg_latency')).toBe('lower');
    expect(directionOfName('connect_ms')).toBe('lower');
    expect(directionOfName('time')).toBe('lower');
    expect(directionOfName('memory_rss')).toBeNull();
  });
  it('override, then stored direction, then name, then unit', () => {
    expect(resolveDirection({ metric: 'rps', overrides: { rps: 'lower' } })).toBe('lower');
    expect(resolveDirection({ metric: 'rps', overrides: { rps: null } })).toBeNull();
    expect(resolveDirection({ metric: 'rps', stored: 'lower' })).toBe('lower');
    expect(resolveDirection({ metric: 'rps' })).toBe('higher');
    expect(resolveDirection({ metric: 'claim', unit: 'ops/sec' })).toBe('higher');
    expect(resolveDirection({ metric: 'claim', unit: 'ns/iter' })).toBe('lower');
    expect(resolveDirection({ metric: 'claim', unit: 'widgets' })).toBeNull();
  });
  it('labels: unknown direction is a change, never a regression', () => {
    expect(kindOf(-0.1, 'higher')).toBe('regression');
    expect(kindOf(0.1, 'higher')).toBe('improvement');
    expect(kindOf(0.1, 'lower')).toBe('regression');
    expect(kindOf(-0.1, 'lower')).toBe('improvement');
    expect(kindOf(-0.1, null)).toBe('change');
    expect(kindOf(0.1, undefined)).toBe('change');
  });
});
