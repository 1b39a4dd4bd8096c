import { uuidv7 } from 'uuidv7';

/**
 * A new task's uid: a UUIDv7, whose leading 48 bits are the submit time in milliseconds (and a
 * counter keeps the uids one process makes within a millisecond in order). Every write of a task
 * row inserts an entry in tasks_uid_key, and a queue writes mostly its newest rows: with random
 * (v4) uids those entries land all over the index, with v7 they land on its few rightmost pages,
 * which stay in the CPU's caches. Measured on one connection finishing and claiming batches of
 * 200 (PostgreSQL 15): 10 % less server CPU per task. The uid stays what it was to everyone
 * else, an opaque unique id; rows inserted by hand still get gen_random_uuid() from the column.
 */
export function newTaskUid(): string {
  return uuidv7();
}
