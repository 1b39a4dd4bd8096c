export * from './benchmarks.ts';
export * from './events.ts';
export * from './schedules.ts';
export * from './tasks.ts';
