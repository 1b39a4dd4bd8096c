export {
  findNearest,
  MAX_EXACT_TAGS,
  MAX_TARGETS,
  type NearestInput,
  type NearestNaming,
  type NearestQuery,
  type NearestResult,
  nearestQuery,
  relativeDistance,
} from './find.ts';
export { type JsonFileOptions, JsonFileRepository } from './json-file.ts';
export { PostgresRepository } from './postgres.ts';
export type { BenchmarkRepository, Candidate, CandidateMetric, CandidateQuery, CandidateRun } from './repository.ts';
