export * from './alerts.ts';
export * from './baselines.ts';
export * from './benchmarks.ts';
export * from './events.ts';
export * from './rollups.ts';
export * from './schedules.ts';
export * from './tasks.ts';
export * from './workers.ts';
