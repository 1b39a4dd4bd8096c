import type pg from 'pg';

/**
 * A Python Eventix 4.4 database as its SQLModel tables define it (seed 004's schema for
 * eventix_task, with every field the MIGRATION_GUIDE's field table lists; events, triggers and
 * schedules as the guide's "From the Python Eventix" importer section documents them). The
 * events table keeps its time without a zone, as SQLModel's default DateTime column did, to
 * exercise --timezone.
 */
export const PYTHON_EVENTIX_SCHEMA = `
create table eventix_task (
  id serial primary key,
  uid varchar unique not null,
  task varchar not null,
  namespace varchar default 'default',
  status varchar not null,
  priority integer default 0,
  eta timestamp with time zone,
  scheduled timestamp with time zone,
  args jsonb,
  kwargs jsonb,
  unique_key varchar,
  retry boolean default true,
  max_retries integer,
  error_eta_inc integer default 15,
  error_eta_max integer default 300,
  store_result boolean default true,
  result_expires integer default 604800,
  error_expires integer,
  result jsonb,
  expires timestamp with time zone,
  worker_id varchar,
  worker_expires timestamp with time zone,
  operator varchar default 'unknown',
  revision integer default 1,
  created_at timestamp with time zone default now(),
  updated_at timestamp with time zone default now()
);
create index idx_task_priority_eta on eventix_task(priority, eta);
create index idx_task_status on eventix_task(status);
create table eventix_schedule (
  id serial primary key,
  name varchar unique not null,
  schedule varchar not null,
  task varchar not null,
  namespace varchar default 'default',
  args jsonb,
  kwargs jsonb,
  priority integer default 0,
  timezone varchar,
  enabled boolean default true
);
create table eventix_trigger (
  id serial primary key,
  name varchar unique not null,
  event_name varchar not null,
  namespace varchar,
  code text,
  task varchar,
  args jsonb,
  kwargs jsonb,
  priority integer default 0
);
create table eventix_event (
  id serial primary key,
  uid varchar,
  name varchar not null,
  namespace varchar default 'default',
  payload jsonb,
  priority integer default 0,
  operator varchar,
  created_at timestamp without time zone default now()
);
`;

export const UID = {
  scheduled: '11111111-1111-4111-8111-111111111111',
  processing: '22222222-2222-4222-8222-222222222222',
  done: '33333333-3333-4333-8333-333333333333',
  error: '44444444-4444-4444-8444-444444444444',
  retry: '55555555-5555-4555-8555-555555555555',
  badKwargs: '66666666-6666-4666-8666-666666666666',
};

/** Realistic rows, a few of them bad (the comments say how), and `bulk` plain scheduled tasks besides. */
export async function fillPythonEventix(c: pg.ClientBase, opts: { bulk?: number } = {}): Promise<void> {
  await c.query(PYTHON_EVENTIX_SCHEMA);
  await c.query(
    `insert into eventix_task (uid, task, namespace, status, priority, eta, args, kwargs, unique_key, max_retries, error_eta_inc, error_eta_max,
       result, expires, worker_id, worker_expires, operator, revision, created_at, updated_at) values
     ($1, 'send_mail', 'mail', 'scheduled', -10, '2030-01-01T00:00:00Z', '["a@example.com"]', '{"subject": "hi"}', 'mail-a', null, 15, 300,
       null, null, null, null, 'alice', 1, '2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z'),
     ($2, 'crunch', 'default', 'processing', -5, '2025-01-02T00:00:00Z', '[1, 2]', '{}', null, 3, 15, 300,
       null, null, 'py-worker-1', '2025-01-02T00:05:00Z', 'unknown', 4, '2025-01-02T00:00:00Z', '2025-01-02T00:01:00Z'),
     ($3, 'crunch', 'default', 'done', 0, '2025-01-03T00:00:00Z', '[]', '{}', null, 5, 15, 300,
       '{"answer": 42}', '2025-01-10T00:00:00Z', null, null, 'bob', 2, '2025-01-03T00:00:00Z', '2025-01-03T00:00:09Z'),
     ($4, 'crunch', 'default', 'error', 0, '2025-01-04T00:00:00Z', '[]', '{}', null, 0, 15, 300,
       '{"type": "ValueError", "message": "bad input"}', null, null, null, null, 7, '2025-01-04T00:00:00Z', '2025-01-04T00:10:00Z'),
     -- Doubled in place past its cap by Python's backoff: imported at the cap.
     ($5, 'crunch', 'default', 'retry', 2, '2025-01-05T00:00:00Z', '[]', '{}', null, 2, 480, 300,
       '"timeout"', null, null, null, null, 3, '2025-01-05T00:00:00Z', '2025-01-05T00:00:00Z'),
     -- Bad: kwargs a list.
     ($6, 'crunch', 'default', 'scheduled', 0, '2025-01-06T00:00:00Z', '[]', '[1]', null, 5, 15, 300,
       null, null, null, null, null, 1, '2025-01-06T00:00:00Z', '2025-01-06T00:00:00Z'),
     -- Bad: not a UUID; a status Eventix does not know; a backoff of 0.
     ('not-a-uuid', 'crunch', 'default', 'scheduled', 0, now(), '[]', '{}', null, 5, 15, 300, null, null, null, null, null, 1, now(), now()),
     ('77777777-7777-4777-8777-777777777777', 'crunch', 'default', 'paused', 0, now(), '[]', '{}', null, 5, 15, 300, null, null, null, null, null, 1, now(), now()),
     ('88888888-8888-4888-8888-888888888888', 'crunch', 'default', 'scheduled', 0, now(), '[]', '{}', null, 5, 0, 300, null, null, null, null, null, 1, now(), now())`,
    [UID.scheduled, UID.processing, UID.done, UID.error, UID.retry, UID.badKwargs],
  );
  if (opts.bulk) {
    await c.query(
      `insert into eventix_task (uid, task, status, priority, eta, args, kwargs, created_at, updated_at)
       select gen_random_uuid()::text, 'bulk', 'scheduled', (i % 7) - 3, '2030-01-01T00:00:00Z', jsonb_build_array(i), '{}', now(), now()
       from generate_series(1, $1) as i`,
      [opts.bulk],
    );
  }
  await c.query(
    `insert into eventix_schedule (name, schedule, task, namespace, args, kwargs, priority, timezone) values
     ('nightly', '0 3 * * *', 'report', 'default', '["daily"]', '{}', -5, 'Europe/Berlin'),
     ('every-minute', '* * * * *', 'ping', 'default', null, null, 0, null),
     ('broken', 'not a cron', 'ping', 'default', null, null, 0, null)`,
  );
  await c.query(
    `insert into eventix_trigger (name, event_name, namespace, code, task, args, kwargs, priority) values
     ('on-push', 'git.push', null, E'def run(event):\\n    return Task(task="build")', null, null, null, 0),
     ('on-signup', 'user.signup', 'default', null, 'send_mail', '["welcome"]', '{}', -1)`,
  );
  await c.query(
    `insert into eventix_event (uid, name, namespace, payload, priority, operator, created_at) values
     ('99999999-9999-4999-8999-999999999999', 'git.push', 'default', '{"branch": "main"}', 0, 'ci', '2025-01-07 12:00:00'),
     (null, 'user.signup', 'default', '{"user": "carol"}', -2, null, '2025-01-08 09:30:00')`,
  );
}
