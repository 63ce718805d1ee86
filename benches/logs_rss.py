#!/usr/bin/env python3
"""Memory of `belfry serve` while it ingests logs at a steady rate.

Starts `belfry serve` on a fresh data directory, posts LMS-like NDJSON
lines to `POST /api/belfry/logs` at RATE lines a second for DURATION
seconds (batches every 100 ms), and samples the server's VmRSS and VmHWM
from /proc every second. Prints the samples and a summary line; exits
non-zero when the server falls behind (a 429 or an error) or its peak RSS
passes --max-rss-mb.

    benches/logs_rss.py --belfry target/release/belfry --rate 5000 --duration 120
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

SERVICES = ["lms-api", "lms-worker", "lms-auth", "lms-grader"]
PATHS = [
    "/api/v1/courses/{id}",
    "/api/v1/courses/{id}/modules",
    "/api/v1/assignments/{id}/submissions",
    "/api/v1/quiz/{id}/submit",
    "/api/v1/grades/export",
    "/login",
]


def line(rng: random.Random, ts: float) -> str:
    service = rng.choice(SERVICES)
    path = rng.choice(PATHS).format(id=rng.randrange(1, 5000))
    roll = rng.random()
    rec = {
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts * 1000) % 1000:03d}Z",
        "service": service,
        "request_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "user_id": f"{rng.randrange(100000, 120000)}",
        "path": path,
        "duration_ms": round(rng.lognormvariate(3.0, 1.0), 1),
    }
    if roll < 0.03:
        rec.update(
            level="ERROR",
            status=500,
            message=f"unhandled exception in {path}",
            error="Traceback (most recent call last):\n  File \"lms/views.py\", line 212, in render\n"
            f"ValueError: invalid rubric {rng.randrange(1, 900)}",
        )
    elif roll < 0.10:
        rec.update(level="WARNING", status=429, message=f"rate limit reached on {path}")
    else:
        rec.update(level="INFO", status=200, message=f"GET {path} 200", method="GET")
    return json.dumps(rec, separators=(",", ":"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_status_kib(pid: int) -> dict:
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for row in f:
            key, _, rest = row.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(rest.split()[0])
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--belfry", required=True, help="the belfry binary")
    ap.add_argument("--rate", type=int, default=5000, help="lines per second")
    ap.add_argument("--duration", type=int, default=120, help="seconds of ingest")
    ap.add_argument("--max-rss-mb", type=float, default=150.0, help="fail when peak RSS passes this")
    args = ap.parse_args()

    data = tempfile.mkdtemp(prefix="belfry-logs-rss-")
    port = free_port()
    server = subprocess.Popen(
        [args.belfry, "serve", "--data-dir", data, "--listen", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            print("belfry did not start listening", file=sys.stderr)
            return 1
        time.sleep(1.0)
        base = proc_status_kib(server.pid)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        rng = random.Random(7)
        per_batch = max(1, args.rate // 10)
        start = time.monotonic()
        next_sample = start
        sent = 0
        sent_bytes = 0
        samples = []
        tick = 0
        while True:
            now = time.monotonic()
            if now - start >= args.duration:
                break
            wall = time.time()
            body = "\n".join(line(rng, wall + i * 1e-4) for i in range(per_batch)) + "\n"
            conn.request("POST", "/api/belfry/logs", body=body, headers={"Content-Type": "application/x-ndjson"})
            resp = conn.getresponse()
            answer = resp.read()
            if resp.status != 200:
                print(f"ingest answered {resp.status}: {answer[:300]!r}", file=sys.stderr)
                return 1
            sent += per_batch
            sent_bytes += len(body)
            if now >= next_sample:
                s = proc_status_kib(server.pid)
                samples.append((round(now - start), s["VmRSS"], s["VmHWM"]))
                print(f"{now - start:7.1f}s lines={sent:>9} rss={s['VmRSS'] / 1024:7.1f}MiB hwm={s['VmHWM'] / 1024:7.1f}MiB", flush=True)
                next_sample += 1.0
            tick += 1
            # Hold the rate: the next batch leaves at its slot.
            delay = start + tick / 10 - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        elapsed = time.monotonic() - start
        final = proc_status_kib(server.pid)
        peak_mb = final["VmHWM"] / 1024
        print(
            f"logs_rss: {sent} lines ({sent_bytes} bytes) in {elapsed:.1f}s = {sent / elapsed:.0f} lines/s; "
            f"RSS baseline {base['VmRSS'] / 1024:.1f} MiB, end {final['VmRSS'] / 1024:.1f} MiB, peak (VmHWM) {peak_mb:.1f} MiB"
        )
        if sent / elapsed < 0.95 * args.rate:
            print(f"the client could not hold {args.rate} lines/s", file=sys.stderr)
            return 1
        if peak_mb > args.max_rss_mb:
            print(f"peak RSS {peak_mb:.1f} MiB is over {args.max_rss_mb} MiB", file=sys.stderr)
            return 1
        return 0
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        subprocess.run(["rm", "-rf", data])


if __name__ == "__main__":
    sys.exit(main())
