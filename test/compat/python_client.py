#!/usr/bin/env python3
"""The Python Eventix's client and HTTP worker, as calls on the wire, against the Python-Eventix
compatible API (MIGRATION_GUIDE, "The Python-Eventix compatible API"). Standard library only.

It sends what the Python client sends (TEventixTask.model_dump(), datetimes as isoformat(), naive
ones included) and reads the answers the way it does (raise_errors: `detail` if present, else the
whole body, for error_class and error_payload). It exits 1 on the first mismatch.

Settings: EVENTIX_URL (the mount: .../compat/eventix/v4, or the server's root with
EVENTIX_COMPAT_ROOT), EVENTIX_TOKEN (admin scope, optional), EVENTIX_NAMESPACE, EVENTIX_EVENT (an
event name one trigger turns into a task)."""
import datetime
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid

URL = os.environ.get("EVENTIX_URL", "http://127.0.0.1:8080/compat/eventix/v4").rstrip("/")
TOKEN = os.environ.get("EVENTIX_TOKEN")
NAMESPACE = os.environ.get("EVENTIX_NAMESPACE", "py-compat")
EVENT = os.environ.get("EVENTIX_EVENT", "py.compat.event")
WORKER_ID = f"py-compat-{os.getpid()}"

TASK_FIELDS = {
    "uid", "unique_key", "eta", "scheduled", "status", "priority", "namespace", "task", "args", "kwargs",
    "worker_id", "worker_expires", "retry", "max_retries", "error_eta_inc", "error_eta_max", "store_result",
    "result", "error_expires", "result_expires", "expires", "operator", "revision",
}


def check(condition, message):
    if not condition:
        print(f"MISMATCH: {message}", flush=True)
        sys.exit(1)


def utcnow_naive():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def encode(value):
    # lsrestclient's LSoftJSONEncoder: datetimes as isoformat(), naive or aware as they are.
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    raise TypeError(f"not JSON: {value!r}")


def call(method, path, body=None, params=None):
    """One request; answers (status, parsed JSON or None, raw bytes)."""
    query = f"?{urllib.parse.urlencode(params, doseq=True)}" if params else ""
    data = None if body is None else json.dumps(body, default=encode).encode()
    req = urllib.request.Request(URL + path + query, data=data, method=method)
    if data is not None:
        req.add_header("content-type", "application/json")
    if TOKEN:
        req.add_header("authorization", f"Bearer {TOKEN}")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            raw = r.read()
            return r.status, (json.loads(raw) if raw else None), raw
    except urllib.error.HTTPError as e:
        raw = e.read()
        return e.code, (json.loads(raw) if raw else None), raw


def python_error(answer):
    """What the Python client's raise_errors finds: (error_class, error_payload)."""
    detail = answer.get("detail", answer) if isinstance(answer, dict) else answer
    check(isinstance(detail, dict), f"an error body raise_errors can read: {answer!r}")
    return detail.get("error_class"), detail.get("error_payload", {})


def new_task(task, *args, priority=0, unique_key=None, **kwargs):
    """TEventixTask(...).model_dump(): every field, server-managed ones included."""
    now = utcnow_naive()
    return {
        "uid": str(uuid.uuid4()), "revision": None, "version": 1, "created_time": now, "updated_time": now,
        "unique_key": unique_key, "eta": now, "scheduled": now, "status": "scheduled", "priority": priority,
        "namespace": NAMESPACE, "task": task, "args": args, "kwargs": kwargs, "worker_id": None,
        "worker_expires": None, "retry": True, "max_retries": None, "error_eta_inc": 15, "error_eta_max": 300,
        "store_result": True, "result": None, "error_expires": None, "result_expires": 604800, "expires": None,
        "operator": "unknown",
    }


def parse_time(value):
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))


def as_model(answer, what):
    """TEventixTask.model_validate_json: every field there, revision a str (pydantic-db-backend's type)."""
    check(isinstance(answer, dict), f"{what}: a task object, got {answer!r}")
    missing = TASK_FIELDS - set(answer)
    check(not missing, f"{what}: fields missing: {sorted(missing)}")
    check(isinstance(answer["revision"], str) and answer["revision"].isdigit(), f"{what}: revision {answer['revision']!r}")
    check(answer["status"] in ("scheduled", "processing", "done", "error", "retry"), f"{what}: status {answer['status']!r}")
    for field in ("eta", "scheduled", "expires", "worker_expires"):
        if answer[field] is not None:
            parse_time(answer[field])
    return answer


def schedule(task):
    status, answer, _ = call("POST", "/task", task)
    check(status == 200, f"POST /task: {status} {answer}")
    return as_model(answer, "POST /task")


def next_scheduled():
    status, answer, raw = call("GET", "/tasks/next_scheduled", params={"worker_id": WORKER_ID, "namespace": NAMESPACE})
    if status == 204:
        check(raw == b"", f"204 with an empty body, got {raw!r}")
        return None
    check(status == 200, f"next_scheduled: {status} {answer}")
    t = as_model(answer, "next_scheduled")
    check(t["status"] == "processing" and t["worker_id"] == WORKER_ID, f"claimed: {t['status']} {t['worker_id']}")
    check(t["worker_expires"] is not None, "claimed: worker_expires set")
    return t


def set_result(t, result):
    # TaskWorker.task_set_result
    t["status"] = "done"
    if t["store_result"]:
        t["result"] = result
        if t["result_expires"] is not None:
            t["expires"] = utcnow_naive() + datetime.timedelta(seconds=t["result_expires"])
    else:
        t["expires"] = utcnow_naive()
    t["worker_expires"] = None


def set_error(t, error):
    # TaskWorker.task_set_error, for a plain exception
    t["result"] = {
        "error_class": error.__class__.__name__,
        "error_message": str(error),
        "error_status_code": 500,
        "error_traceback": ["  File \"tasks.py\", line 1, in task\n"],
        "error_payload": {},
    }
    if t["retry"] and (t["max_retries"] is None or t["max_retries"] != 0):
        t["status"] = "retry"
        if t["max_retries"] is not None:
            t["max_retries"] -= 1
        t["eta"] = utcnow_naive() + datetime.timedelta(seconds=t["error_eta_inc"])
        t["error_eta_inc"] = min([t["error_eta_inc"] * 2, t["error_eta_max"]])
        t["worker_id"] = None
    else:
        t["status"] = "error"
        if t["error_expires"] is not None:
            t["expires"] = utcnow_naive() + datetime.timedelta(seconds=t["error_expires"])
    t["worker_expires"] = None


def write_back(t):
    # TaskWorker.task_write_back: an expired task is deleted, anything else PUT back whole.
    check(not (t["expires"] is not None and parse_time(str(t["expires"])).replace(tzinfo=None) < utcnow_naive()),
          "the claim's store_result is true, so the worker never deletes")
    return call("PUT", f"/task/{t['uid']}", t)


def main():
    # ── EventixClient.ping(): GET /healthz under the base URL ──
    status, _, _ = call("GET", "/healthz")
    check(status == 200, f"ping: {status}")

    # ── submit: the lower Python priority runs first ──
    low = schedule(new_task("py.add", 20, 22, priority=5))
    urgent = schedule(new_task("py.add", 2, 3, priority=-5))
    check(urgent["priority"] == -5 and low["priority"] == 5, f"priorities kept: {urgent['priority']}, {low['priority']}")
    check(urgent["status"] == "scheduled" and urgent["revision"] == "1", f"submitted: {urgent['status']} {urgent['revision']}")
    print("ok submit", flush=True)

    # ── claim, run, complete ──
    first = next_scheduled()
    check(first is not None and first["uid"] == urgent["uid"], f"the urgent task first, got {first and first['uid']}")
    claimed = dict(first)
    set_result(first, sum(first["args"]))
    status, answer, _ = write_back(first)
    check(status == 200, f"PUT done: {status} {answer}")
    done = as_model(answer, "PUT done")
    check(done["status"] == "done" and done["result"] == 5, f"done: {done['status']} {done['result']}")
    print("ok claim, complete", flush=True)

    # ── the same write-back again: stale, refused as Python's RevisionConflict(revision) ──
    set_result(claimed, 99)
    status, answer, _ = write_back(claimed)
    check(status == 409, f"a repeated write-back: {status} {answer}")
    error_class, payload = python_error(answer)
    check(error_class == "RevisionConflict" and set(payload) == {"revision"}, f"stale: {error_class} {payload}")
    status, answer, _ = call("GET", f"/task/{urgent['uid']}")
    check(status == 200 and answer["result"] == 5, f"the first result stands: {answer}")
    print("ok stale write-back refused", flush=True)

    # ── a failure with retries left (Python clears worker_id), then reschedule ──
    second = next_scheduled()
    check(second is not None and second["uid"] == low["uid"], "the low-priority task second")
    set_error(second, ValueError("not today"))
    status, answer, _ = write_back(second)
    check(status == 200, f"PUT retry: {status} {answer}")
    retried = as_model(answer, "PUT retry")
    check(retried["status"] == "retry" and retried["result"]["error_class"] == "ValueError", f"retry: {retried}")
    check(parse_time(retried["eta"]) > datetime.datetime.now(datetime.timezone.utc), "a retry waits for its backoff")
    check(next_scheduled() is None, "nothing due while the retry backs off")
    at = utcnow_naive() - datetime.timedelta(seconds=1)
    status, answer, _ = call("GET", f"/task/{low['uid']}/reschedule", params={"eta": at.isoformat()})
    check(status == 200, f"reschedule: {status} {answer}")
    back = as_model(answer, "reschedule")
    check(back["status"] == "scheduled", f"rescheduled: {back['status']}")
    check(abs(parse_time(back["eta"]) - at.replace(tzinfo=datetime.timezone.utc)) < datetime.timedelta(milliseconds=2),
          f"the naive eta read as UTC: {back['eta']} for {at.isoformat()}")
    third = next_scheduled()
    check(third is not None and third["uid"] == low["uid"], "the rescheduled task is due")
    set_result(third, sum(third["args"]))
    status, answer, _ = write_back(third)
    check(status == 200 and answer["result"] == 42, f"PUT done after reschedule: {status} {answer}")
    status, answer, _ = call("GET", f"/task/{low['uid']}/reschedule")
    check(status == 422 and python_error(answer)[0] == "WrongTaskStatus", f"reschedule of a done task: {status} {answer}")
    print("ok retry, reschedule", flush=True)

    # ── unique_key: merge, lookups (the client's get_task_by_unique_key_and_namespace), delete ──
    key = f"py-key-{uuid.uuid4()}"
    a = schedule(new_task("py.add", 1, 1, unique_key=key, priority=3))
    b = schedule(new_task("py.add", 2, 2, unique_key=key, priority=-1))
    check(a["uid"] == b["uid"] and b["args"] == [2, 2] and b["priority"] == -1, f"merged: {a['uid']} {b}")
    status, answer, _ = call("GET", f"/task/by_unique_key/{key}", params={"namespace": NAMESPACE})
    check(status == 200 and answer["uid"] == a["uid"], f"by_unique_key: {status} {answer}")
    status, answer, _ = call("GET", f"/task/by_unique_key/{NAMESPACE}/{key}", params={"stati": ["scheduled", "retry"]})
    check(status == 200 and as_model(answer, "by_unique_key")["uid"] == a["uid"], f"by_unique_key/namespace: {status} {answer}")
    status, answer, _ = call("DELETE", f"/task/by_unique_key/{key}", params={"namespace": NAMESPACE})
    check(status == 200 and answer is None, f"DELETE by_unique_key: {status} {answer}")
    status, answer, _ = call("GET", f"/task/by_unique_key/{NAMESPACE}/{key}", params={"stati": ["scheduled", "retry"]})
    check(status == 404 and answer.get("error_class") == "NoTaskFoundForUniqueKey", f"gone: {status} {answer}")
    print("ok unique_key", flush=True)

    # ── event: TEventixEvent.model_dump(); the answer is the triggers' tasks ──
    now = utcnow_naive()
    event = {"uid": str(uuid.uuid4()), "revision": None, "version": 1, "created_time": now, "updated_time": now,
             "namespace": NAMESPACE, "timestamp": now, "priority": -2, "payload": {"n": 7}, "name": EVENT,
             "operator": "unknown"}
    status, answer, _ = call("POST", "/event", event)
    check(status == 200 and isinstance(answer, list) and len(answer) == 1, f"POST /event: {status} {answer}")
    made = as_model(answer[0], "event task")
    check(made["priority"] == -2 and made["namespace"] == NAMESPACE, f"the event's priority and namespace: {made}")
    fourth = next_scheduled()
    check(fourth is not None and fourth["uid"] == made["uid"], "the event's task is claimable")
    set_result(fourth, "handled")
    status, answer, _ = write_back(fourth)
    check(status == 200 and answer["status"] == "done", f"PUT done of the event's task: {status} {answer}")
    print("ok event", flush=True)

    # ── nothing left: 204; an unknown uid: NotFound(uid) ──
    check(next_scheduled() is None, "the queue is empty")
    unknown = str(uuid.uuid4())
    status, answer, _ = call("GET", f"/task/{unknown}")
    error_class, payload = python_error(answer)
    check(status == 404 and error_class == "NotFound" and payload == {"uid": unknown}, f"unknown uid: {status} {answer}")
    status, answer, _ = call("PUT", "/tasks/by_status", {"status": "done", "namespace": NAMESPACE})
    check(status == 200 and answer["max_results"] == 3 and len(answer["data"]) == 3, f"by_status: {status} {answer}")
    print("ok", flush=True)


if __name__ == "__main__":
    main()
