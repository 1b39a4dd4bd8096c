import { describe, expect, it } from 'vitest';
import { type PlanInput, planFires } from '../../src/scheduler/plan.ts';

const at = (s: string) => new Date(`2030-01-01T${s}Z`);
const iso = (d: Date | null | undefined) => d?.toISOString() ?? null;

function plan(p: Partial<PlanInput> & Pick<PlanInput, 'misfire' | 'nextFireAt' | 'now'>) {
  const r = planFires({ cron: '* * * * *', timezone: 'UTC', graceMs: 5000, maxPerRun: 100, backlogMax: 1000, ...p });
  return {
    fire: r.fire.map(iso),
    dropped: r.dropped && { first: iso(r.dropped.first), last: iso(r.dropped.last) },
    next: iso(r.nextFireAt),
  };
}

describe('planFires: what a due schedule fires, by misfire policy', () => {
  it('nothing before next_fire_at', () => {
    expect(plan({ misfire: 'skip', nextFireAt: at('00:01:00'), now: at('00:00:59') })).toEqual({
      fire: [],
      dropped: null,
      next: iso(at('00:01:00')),
    });
  });

  it.each(['skip', 'all', 'none'] as const)('%s: a fire seen on time fires, and the chain moves on', (misfire) => {
    expect(plan({ misfire, nextFireAt: at('00:01:00'), now: at('00:01:00.004') })).toEqual({
      fire: [iso(at('00:01:00'))],
      dropped: null,
      next: iso(at('00:02:00')),
    });
  });

  it.each(['skip', 'all', 'none'] as const)('%s: several due fires within the grace all fire (late, not missed)', (misfire) => {
    const r = plan({ misfire, cron: '* * * * * *', nextFireAt: at('00:00:01'), now: at('00:00:04.500') });
    expect(r.fire).toEqual(['00:00:01', '00:00:02', '00:00:03', '00:00:04'].map((s) => iso(at(s))));
    expect(r.next).toBe(iso(at('00:00:05')));
    expect(r.dropped).toBeNull();
  });

  // Down from 00:00:30 to 00:05:30: 00:01 … 00:05 were missed (all older than the 5 s grace).
  const down = { nextFireAt: at('00:01:00'), now: at('00:05:30') };

  it('skip: the missed times collapse into one run, the latest', () => {
    expect(plan({ misfire: 'skip', ...down })).toEqual({
      fire: [iso(at('00:05:00'))],
      dropped: { first: iso(at('00:01:00')), last: iso(at('00:04:00')) },
      next: iso(at('00:06:00')),
    });
  });

  it('skip: an on-time fire stands for the missed ones', () => {
    expect(plan({ misfire: 'skip', nextFireAt: at('00:01:00'), now: at('00:05:02') })).toEqual({
      fire: [iso(at('00:05:00'))],
      dropped: { first: iso(at('00:01:00')), last: iso(at('00:04:00')) },
      next: iso(at('00:06:00')),
    });
  });

  it('all: every missed time, oldest first', () => {
    expect(plan({ misfire: 'all', ...down })).toEqual({
      fire: ['00:01:00', '00:02:00', '00:03:00', '00:04:00', '00:05:00'].map((s) => iso(at(s))),
      dropped: null,
      next: iso(at('00:06:00')),
    });
  });

  it('all: at most maxPerRun at once; next_fire_at stays due at the first unfired time', () => {
    expect(plan({ misfire: 'all', maxPerRun: 2, ...down })).toEqual({
      fire: [iso(at('00:01:00')), iso(at('00:02:00'))],
      dropped: null,
      next: iso(at('00:03:00')),
    });
  });

  it('all: a backlog over backlogMax keeps the latest and drops the oldest', () => {
    expect(plan({ misfire: 'all', backlogMax: 3, ...down })).toEqual({
      fire: ['00:03:00', '00:04:00', '00:05:00'].map((s) => iso(at(s))),
      dropped: { first: iso(at('00:01:00')), last: iso(at('00:02:00')) },
      next: iso(at('00:06:00')),
    });
  });

  it('none: missed times are dropped and nothing fires', () => {
    expect(plan({ misfire: 'none', ...down })).toEqual({
      fire: [],
      dropped: { first: iso(at('00:01:00')), last: iso(at('00:05:00')) },
      next: iso(at('00:06:00')),
    });
  });

  it('none: the on-time fire after an outage fires, the missed ones do not', () => {
    expect(plan({ misfire: 'none', nextFireAt: at('00:01:00'), now: at('00:05:01') })).toEqual({
      fire: [iso(at('00:05:00'))],
      dropped: { first: iso(at('00:01:00')), last: iso(at('00:04:00')) },
      next: iso(at('00:06:00')),
    });
  });

  it('a month of missed every-second fires plans quickly', () => {
    const started = performance.now();
    for (const misfire of ['skip', 'all', 'none'] as const) {
      const r = planFires({
        cron: '* * * * * *',
        timezone: 'UTC',
        misfire,
        nextFireAt: new Date('2030-01-01T00:00:00Z'),
        now: new Date('2030-02-01T00:00:00.500Z'),
        graceMs: 5000,
        maxPerRun: 100,
        backlogMax: 1000,
      });
      expect(r.fire.length).toBe(misfire === 'none' ? 5 : misfire === 'skip' ? 5 : 100);
    }
    expect(performance.now() - started).toBeLessThan(3000);
  });
});
