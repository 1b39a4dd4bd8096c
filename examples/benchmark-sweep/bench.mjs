// The benchmark of the example sweep: Eventix runs it once per (commit, config), without a shell,
// in a checkout of the commit, with
//   EVENTIX_SHA          the commit
//   EVENTIX_CONFIG_FILE  the config, as JSON ({"size": 4096})
//   EVENTIX_OUTPUT_DIR   where to write metrics.json
// It hashes `size` bytes `rounds` times (rounds comes from work.json in the commit, so some
// commits are slower than others) and reports operations per second in Eventix's results format.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const config = JSON.parse(readFileSync(process.env.EVENTIX_CONFIG_FILE, 'utf8'));
const { rounds } = JSON.parse(readFileSync('work.json', 'utf8'));
const data = Buffer.alloc(config.size, 7);

function op() {
  let h = data;
  for (let i = 0; i < rounds; i++) h = createHash('sha256').update(data).update(h).digest();
  return h;
}

const started = process.hrtime.bigint();
let ops = 0;
while (process.hrtime.bigint() - started < 150_000_000n) {
  op();
  ops++;
}
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
console.log(`commit ${process.env.EVENTIX_SHA.slice(0, 7)} size ${config.size}: ${ops} ops in ${seconds.toFixed(3)} s`);

writeFileSync(
  path.join(process.env.EVENTIX_OUTPUT_DIR, 'metrics.json'),
  JSON.stringify({
    format: 'eventix',
    runs: [
      {
        metrics: [
          { name: 'ops_per_sec', value: ops / seconds, unit: 'ops/s', direction: 'higher', tags: { size: config.size } },
          { name: 'mean_us', value: (seconds / ops) * 1e6, unit: 'us', direction: 'lower', tags: { size: config.size } },
        ],
      },
    ],
  }),
);
