#!/usr/bin/env python3
"""An Eventix worker in Python 3, standard library only, over the HTTP protocol (README, "Write a
worker in any language"): long-poll claim, heartbeat, complete, fail, and release at shutdown.
Settings: EVENTIX_URL, EVENTIX_TOKEN (a worker-scope token), EVENTIX_NAMESPACE."""
import json, os, signal, socket, threading, traceback, urllib.error, urllib.request

URL = os.environ.get("EVENTIX_URL", "http://127.0.0.1:8080").rstrip("/")
TOKEN = os.environ.get("EVENTIX_TOKEN")
NAMESPACE = os.environ.get("EVENTIX_NAMESPACE", "default")
WORKER_ID = f"py-{socket.gethostname()}-{os.getpid()}"
LEASE_SECONDS = 30
stopping = threading.Event()


class Shutdown(Exception):
    """Raised by a handler that gives its task up because the worker is stopping."""


def wait_for_stop(*args, **kwargs):
    # Stands in for long work that checks `stopping` and gives up cleanly.
    stopping.wait()
    raise Shutdown()


# Task name -> handler(*args, **kwargs). Only these names are claimed.
HANDLERS = {
    "py.add": lambda *args, **kwargs: sum(args),
    "py.divide": lambda a, b: a / b,  # b = 0 fails the attempt with ZeroDivisionError
    "py.wait": wait_for_stop,
}


def call(path, body, timeout=30):
    """POST JSON; answer (status, parsed body). Problems (4xx, 5xx) are application/problem+json."""
    req = urllib.request.Request(URL + path, json.dumps(body).encode(), {"content-type": "application/json"})
    if TOKEN:
        req.add_header("authorization", f"Bearer {TOKEN}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def heartbeat(task, lease, finished):
    # Renew at a third of the lease; omitting lease_seconds keeps the claim's length.
    while not finished.wait(LEASE_SECONDS / 3):
        try:
            status, body = call(f"/tasks/{task['uid']}/heartbeat", lease)
        except OSError:
            continue  # unreachable for now: the lease still has two thirds left
        if status == 409:
            return  # no longer ours (lease expired and re-claimed): our outcome will be refused


def run(task):
    lease = {"worker_id": WORKER_ID, "fencing_token": task["fencing_token"]}
    uid, finished = task["uid"], threading.Event()
    threading.Thread(target=heartbeat, args=(task, lease, finished), daemon=True).start()
    try:
        if stopping.is_set():
            raise Shutdown()  # claimed just as we were asked to stop: hand it straight back
        result = HANDLERS[task["task"]](*task["args"], **task["kwargs"])
        status, body = call(f"/tasks/{uid}/complete", {**lease, "result": result})
        outcome = "done"
    except Shutdown:
        status, body = call(f"/tasks/{uid}/release", lease)
        outcome = f"released ({body.get('status')})"
    except Exception as e:
        error = {"class": type(e).__name__, "message": str(e), "stack": traceback.format_exc()}
        status, body = call(f"/tasks/{uid}/fail", {**lease, "error": error})
        outcome = f"failed ({body.get('status')})"
    finally:
        finished.set()
    print(f"{task['task']} {uid}: {outcome}" if status == 200 else f"{uid}: {status} {body}", flush=True)


def main():
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.set())
    print(f"worker {WORKER_ID} polling {URL} for {sorted(HANDLERS)}", flush=True)
    claim = {"worker_id": WORKER_ID, "namespace": NAMESPACE, "tasks": sorted(HANDLERS), "limit": 1,
             "lease_seconds": LEASE_SECONDS, "wait_seconds": 2}
    while not stopping.is_set():
        try:
            status, body = call("/workers/claim", claim, timeout=10)
        except OSError as e:
            status, body = 0, str(e)
        if status != 200:
            print(f"claim: {status} {body}", flush=True)
            stopping.wait(1)  # back off, then try again
            continue
        for task in body["tasks"]:
            run(task)
    print("stopped", flush=True)


if __name__ == "__main__":
    main()
