#!/usr/bin/env python3
"""Idle RSS of the errors subsystem with 10,000 issues.

Starts `belfry serve` on a fresh data directory with one errors project,
sends ISSUES distinct issues (EVENTS_PER_ISSUE events each, with Python
exception-like bodies, a dozen tags and request data) to the envelope
endpoint, stops it, then measures the idle RSS (VmRSS after SETTLE seconds)
of a server started on that data directory — which loads every issue with
its tag summary into memory — against one started on an empty data
directory. The difference is the errors subsystem's idle memory.

    benches/errors_rss.py --belfry target/measure/belfry --issues 10000
"""

import argparse
import http.client
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

KEY = "0123456789abcdef0123456789abcdef"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(belfry, data, config):
    port = free_port()
    proc = subprocess.Popen(
        [belfry, "serve", "--data-dir", data, "--listen", f"127.0.0.1:{port}", "--config", config],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(600):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/-/ready")
            if c.getresponse().status == 200:
                return proc, port
        except OSError:
            pass
        time.sleep(0.1)
    proc.kill()
    sys.exit("belfry did not become ready")


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def event(rng, issue, n):
    return {
        "event_id": uuid.UUID(int=rng.getrandbits(128), version=4).hex,
        "timestamp": time.time(),
        "level": rng.choice(["error", "error", "warning", "fatal"]),
        "platform": "python",
        "release": f"lms@2.{rng.randrange(0, 4)}.0",
        "environment": rng.choice(["production", "staging"]),
        "server_name": f"web-{rng.randrange(1, 4)}",
        "transaction": f"/api/v1/courses/{{id}}/route{issue % 300}",
        "fingerprint": [f"issue-{issue}"],
        "tags": {
            "request_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "course_id": str(rng.randrange(1, 5000)),
            "handler": f"lms.api.views.handler_{issue % 97}",
            "worker": f"uvicorn-{rng.randrange(1, 8)}",
        },
        "user": {"id": str(100000 + rng.randrange(20000))},
        "contexts": {"runtime": {"name": "CPython", "version": "3.11.9"}, "os": {"name": "Linux"}},
        "request": {"url": f"https://lms.example.edu/api/v1/courses/{rng.randrange(5000)}", "method": "POST"},
        "exception": {
            "values": [
                {
                    "type": f"Error{issue % 50}",
                    "value": f"failure number {issue} in step {n}",
                    "stacktrace": {
                        "frames": [
                            {"module": f"lms.mod{issue % 40}", "function": f"f{i}", "lineno": 10 + i, "in_app": True,
                             "vars": {"course_id": str(rng.randrange(5000)), "attempt": str(i)}}
                            for i in range(10)
                        ]
                    },
                }
            ]
        },
    }


def post(port, events):
    body = b"{}\n"
    for e in events:
        payload = json.dumps(e).encode()
        body += json.dumps({"type": "event", "length": len(payload)}).encode() + b"\n" + payload + b"\n"
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request("POST", "/api/1/envelope/", body=body,
              headers={"X-Sentry-Auth": f"Sentry sentry_version=7, sentry_key={KEY}"})
    r = c.getresponse()
    r.read()
    if r.status != 200:
        sys.exit(f"ingest answered {r.status}")


def idle_rss(belfry, data, config, settle):
    proc, _ = start(belfry, data, config)
    time.sleep(settle)
    rss = rss_kb(proc.pid)
    proc.terminate()
    proc.wait()
    return rss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--belfry", required=True)
    ap.add_argument("--issues", type=int, default=10000)
    ap.add_argument("--events-per-issue", type=int, default=3)
    ap.add_argument("--settle", type=float, default=5.0)
    ap.add_argument("--max-mb", type=float, default=30.0)
    args = ap.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        config = os.path.join(tmp, "belfry.yml")
        with open(config, "w") as f:
            f.write(f"errors:\n  projects: [{{id: 1, name: lms, keys: [{KEY}], max_events_per_second: 1000000}}]\n")
        empty, loaded = os.path.join(tmp, "empty"), os.path.join(tmp, "loaded")
        proc, port = start(args.belfry, loaded, config)
        events = [event(rng, i, n) for n in range(args.events_per_issue) for i in range(args.issues)]
        batches = [events[i:i + 100] for i in range(0, len(events), 100)]
        t = time.time()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda b: post(port, b), batches))
        print(f"sent {len(events)} events for {args.issues} issues in {time.time() - t:.1f} s")
        proc.terminate()
        proc.wait()
        base = idle_rss(args.belfry, empty, config, args.settle)
        with_issues = idle_rss(args.belfry, loaded, config, args.settle)
        diff_mb = (with_issues - base) / 1024
        print(f"idle RSS: {base / 1024:.1f} MiB without issues, {with_issues / 1024:.1f} MiB with "
              f"{args.issues} issues: the errors subsystem holds {diff_mb:.1f} MiB (limit {args.max_mb} MiB)")
        if diff_mb > args.max_mb:
            sys.exit(1)


if __name__ == "__main__":
    main()
