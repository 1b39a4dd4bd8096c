import { z } from 'zod';
import { FORMATS, repo } from '../tracking/formats/index.ts';
import type { NearestResult } from '../tracking/nearest/index.ts';
import { EXAMPLE, example, OUT, OUT_NULLABLE } from './examples.ts';

/**
 * The wire format of the nearest-profile lookup (GET /benchmarks/nearest). `eventix results
 * nearest --json` prints the same object, from the database or from a file.
 */

const name = z.string().min(1).max(200);

export const nearestQuerySchema = z.strictObject({
  tags: example(z.record(name, z.string().max(1000)), {
    model_hf_repo: 'meta-llama/Llama-3.1-8B-Instruct',
    hardware: 'H100',
    hardware_count: '1',
  })
    .optional()
    .describe(
      'Exact-match tags, sent as tags[<name>]=<value>, once per name: a string tag must equal the value, a number tag equal it ' +
        'as a number (tags[hardware_count]=1), a boolean be true or false. Absent: every stored result is a candidate.',
    ),
  target: example(
    z.record(name, z.string(), {
      error: (iss) =>
        iss.input === undefined ? 'is required: give target[<name>]=<number> at least once' : 'must be sent as target[<name>]=<number>',
    }),
    { mean_input_tokens: '1000', mean_output_tokens: '200' },
  ).describe(
    'Target parameters, sent as target[<name>]=<number>, once per name, each greater than 0. Candidates are the results whose ' +
      'tags hold every one of them as a number; the answer is the one nearest by sqrt(Σ ((candidate − target) / target)²).',
  ),
  repo: example(repo, EXAMPLE.repo).optional().describe('Only runs of this repository.'),
});
export type NearestQueryWire = z.infer<typeof nearestQuerySchema>;

export const nearestOut = z
  .object({
    source: z.enum(['database', 'file']),
    distance: z.number().describe('Relative Euclidean distance of the chosen result to the target; 0 is an exact match.'),
    candidates: z.number().int().describe('Profiles that matched the exact tags and held every target parameter.'),
    ties: z.number().int().describe('Of them, how many lay at exactly this distance (1: none other).'),
    tags: z.record(z.string(), z.string()).describe('The exact-match tags, as matched.'),
    target: z.record(z.string(), z.number()),
    parameters: z.record(z.string(), z.number()).describe("The chosen result's value of each target parameter."),
    profile: z.record(z.string(), z.unknown()).describe('Every tag of the chosen result.'),
    metrics: z.array(
      z.object({
        name: OUT.metric,
        value: z.number(),
        unit: OUT_NULLABLE.unit,
        direction: z.enum(['higher', 'lower']).nullable(),
      }),
    ),
    run: z
      .object({
        uid: OUT.uid,
        repo: OUT.repo,
        sha: OUT.sha,
        branch: OUT_NULLABLE.branch,
        architecture: OUT_NULLABLE.architecture,
        format: z.enum(FORMATS),
        created_at: OUT.at,
      })
      .nullable()
      .describe('The stored run (the latest holding this profile); null when read from a file.'),
    record: z.number().int().nullable().describe('From a file: the index of the run (a seed-002 record) in it; else null.'),
  })
  .meta({ id: 'BenchmarkNearest' });

export function nearestToJson(r: NearestResult): z.infer<typeof nearestOut> {
  const run = r.result.run;
  return {
    source: r.source,
    distance: r.distance,
    candidates: r.candidates,
    ties: r.ties,
    tags: r.exact,
    target: r.target,
    parameters: r.result.parameters,
    profile: r.result.tags,
    metrics: r.result.metrics,
    run: run && {
      uid: run.uid,
      repo: run.repo,
      sha: run.sha,
      branch: run.branch,
      architecture: run.architecture,
      format: run.format,
      created_at: run.createdAt.toISOString(),
    },
    record: r.result.record,
  };
}
