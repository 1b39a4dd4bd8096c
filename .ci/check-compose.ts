/**
 * Static check of docker-compose.yml. Neither the development machine nor CI has a Docker engine, so
 * `docker compose config` cannot run; this catches, without Docker, the mistakes that would otherwise
 * surface only on a user's first `docker compose up`:
 *
 * - the file parses as YAML (duplicate keys included) and has a `services` mapping;
 * - every service has an `image` or a `build`, and every `depends_on` names another existing service;
 * - every EVENTIX_* / DATABASE_URL variable in a service's `environment` is a key of `envSchema` in
 *   src/config.ts, and its value (unless compose interpolates it) passes the same validation Eventix
 *   applies at start, so a typo or a bad value fails here instead of exiting 2 in the container;
 * - every `build` context is a folder and its dockerfile exists; relative bind mounts exist;
 * - every named volume a service mounts is declared under the top-level `volumes`.
 *
 * Usage: node --import tsx .ci/check-compose.ts [path/to/docker-compose.yml]
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { ConfigError, envSchema, loadConfig } from '../src/config.ts';

type Mapping = Record<string, unknown>;

const isMapping = (v: unknown): v is Mapping => typeof v === 'object' && v !== null && !Array.isArray(v);

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const file = path.resolve(process.argv[2] ?? path.join(ROOT, 'docker-compose.yml'));
const base = path.dirname(file);
const relative = path.relative(process.cwd(), file);
const shown = relative && !relative.startsWith('..') ? relative : file;
const KNOWN = new Set(Object.keys(envSchema.shape));
const OURS = /^(EVENTIX_|DATABASE_URL$)/;

const problems: string[] = [];
let checkedVariables = 0;
let builds = 0;

function finish(summary: string): never {
  if (problems.length > 0) {
    console.error(`${shown}: ${problems.length} problem${problems.length === 1 ? '' : 's'}:`);
    for (const p of problems) console.error(`  - ${p}`);
    process.exit(1);
  }
  console.log(summary);
  process.exit(0);
}

let text = '';
try {
  text = readFileSync(file, 'utf8');
} catch (err) {
  problems.push(`cannot be read: ${err instanceof Error ? err.message : String(err)}`);
  finish('');
}
let doc: unknown;
try {
  doc = parse(text, { prettyErrors: true });
} catch (err) {
  problems.push(`does not parse: ${(err instanceof Error ? err.message : String(err)).trimEnd()}`);
  finish('');
}
if (!isMapping(doc) || !isMapping(doc.services) || Object.keys(doc.services).length === 0) {
  problems.push('has no `services` mapping');
  finish('');
}
const services = doc.services as Record<string, unknown>;
const declaredVolumes = new Set(isMapping(doc.volumes) ? Object.keys(doc.volumes) : []);
const usedVolumes = new Set<string>();

/** `environment` as [name, value] pairs; a value of undefined means "passed through from the host". */
function environmentOf(name: string, env: unknown): [string, string | undefined][] {
  if (env === undefined) return [];
  if (Array.isArray(env)) {
    return env.map((item): [string, string | undefined] => {
      const s = String(item);
      const eq = s.indexOf('=');
      return eq === -1 ? [s, undefined] : [s.slice(0, eq), s.slice(eq + 1)];
    });
  }
  if (isMapping(env)) {
    return Object.entries(env).map(([k, v]): [string, string | undefined] => {
      if (typeof v === 'boolean') problems.push(`service ${name}: ${k} is a YAML boolean; quote it ("${v}") as compose requires`);
      return [k, v === null || v === undefined ? undefined : String(v)];
    });
  }
  problems.push(`service ${name}: environment must be a mapping or a list`);
  return [];
}

function checkEnvironment(name: string, env: unknown): void {
  const ours: Record<string, string> = {};
  for (const [key, value] of environmentOf(name, env)) {
    if (!OURS.test(key)) continue;
    checkedVariables++;
    if (!KNOWN.has(key)) {
      problems.push(`service ${name}: ${key} is not a variable Eventix reads (not a key of envSchema in src/config.ts)`);
      continue;
    }
    // `${VAR}` / `$VAR` are filled in by compose from the host at `up` time; only literal values can be checked.
    if (value !== undefined && !value.includes('$')) ours[key] = value;
  }
  try {
    loadConfig(ours);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const issue of err.issues) problems.push(`service ${name}: ${issue.variable}: ${issue.message}`);
  }
}

function checkDependsOn(name: string, dependsOn: unknown): void {
  if (dependsOn === undefined) return;
  const names = Array.isArray(dependsOn) ? dependsOn.map(String) : isMapping(dependsOn) ? Object.keys(dependsOn) : undefined;
  if (!names) {
    problems.push(`service ${name}: depends_on must be a list or a mapping`);
    return;
  }
  for (const dep of names) {
    if (dep === name) problems.push(`service ${name}: depends_on names itself`);
    else if (!(dep in services)) problems.push(`service ${name}: depends_on names "${dep}", which is not a service`);
  }
}

function checkBuild(name: string, build: unknown): void {
  if (build === undefined) return;
  const spec = typeof build === 'string' ? { context: build } : isMapping(build) ? build : undefined;
  if (!spec) {
    problems.push(`service ${name}: build must be a path or a mapping`);
    return;
  }
  builds++;
  const context = typeof spec.context === 'string' ? spec.context : '.';
  if (/^[a-z]+:\/\//i.test(context) || context.startsWith('git@')) return; // remote context: nothing local to check
  const contextDir = path.resolve(base, context);
  if (!existsSync(contextDir) || !statSync(contextDir).isDirectory()) {
    problems.push(`service ${name}: build context "${context}" is not a folder (${contextDir})`);
    return;
  }
  if (spec.dockerfile_inline !== undefined) return;
  const dockerfile = typeof spec.dockerfile === 'string' ? spec.dockerfile : 'Dockerfile';
  const dockerfilePath = path.resolve(contextDir, dockerfile);
  if (!existsSync(dockerfilePath)) problems.push(`service ${name}: dockerfile "${dockerfile}" does not exist (${dockerfilePath})`);
}

function checkVolumes(name: string, volumes: unknown): void {
  if (volumes === undefined) return;
  if (!Array.isArray(volumes)) {
    problems.push(`service ${name}: volumes must be a list`);
    return;
  }
  for (const v of volumes) {
    let source: string | undefined;
    let type: string;
    if (typeof v === 'string') {
      const parts = v.split(':');
      // "target" alone is an anonymous volume; a source that looks like a path is a bind mount.
      source = parts.length > 1 ? parts[0] : undefined;
      type = source === undefined ? 'anonymous' : /^[./~]/.test(source) ? 'bind' : 'volume';
    } else if (isMapping(v)) {
      source = typeof v.source === 'string' ? v.source : undefined;
      type = typeof v.type === 'string' ? v.type : 'volume';
    } else {
      problems.push(`service ${name}: a volumes entry is neither a string nor a mapping`);
      continue;
    }
    if (type === 'volume' && source !== undefined) {
      usedVolumes.add(source);
      if (!declaredVolumes.has(source)) problems.push(`service ${name}: volume "${source}" is not declared under the top-level volumes`);
    } else if (type === 'bind' && source !== undefined && !source.startsWith('~') && !existsSync(path.resolve(base, source))) {
      problems.push(`service ${name}: bind mount source "${source}" does not exist`);
    }
  }
}

for (const [name, service] of Object.entries(services)) {
  if (!isMapping(service)) {
    problems.push(`service ${name}: must be a mapping`);
    continue;
  }
  if (service.image === undefined && service.build === undefined) problems.push(`service ${name}: has neither image nor build`);
  checkDependsOn(name, service.depends_on);
  checkEnvironment(name, service.environment);
  checkBuild(name, service.build);
  checkVolumes(name, service.volumes);
}

const names = Object.keys(services);
finish(
  `${shown} OK: ${names.length} services (${names.join(', ')}), ${checkedVariables} Eventix variables valid against envSchema, ` +
    `${builds} builds with existing context and Dockerfile, ${usedVolumes.size} named volume${usedVolumes.size === 1 ? '' : 's'} declared`,
);
