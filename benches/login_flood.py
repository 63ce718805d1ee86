#!/usr/bin/env python3
"""Does a login flood move query latency? Starts `belfry serve`, makes a
read token over the open API (which closes it), then runs
PromQL range queries with the token from a few threads for a while, alone
and again while another thread sends wrong-password logins at a fixed
rate (100/s by default), and prints the query p50/p99 of both runs and
their ratio. Password checks run on their own bounded pool
(auth.password_hashing), so the flood should cost queries nothing but the
cores that pool takes.

    python3 benches/login_flood.py --belfry target/measure/belfry [--rate 100] [--seconds 30]
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(url, method="GET", body=None, headers=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        req.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def percentile(values, p):
    values = sorted(values)
    if not values:
        return float("nan")
    k = min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))
    return values[k]


def run_queries(base, token, seconds, threads):
    query = urllib.parse.urlencode(
        {"query": "sum by (handler) (rate(belfry_http_requests_total[1m]))", "start": time.time() - 3600,
         "end": time.time(), "step": "15"}
    )
    url = f"{base}/api/v1/query_range?{query}"
    headers = {"authorization": f"Bearer {token}"}
    latencies = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def worker():
        mine = []
        while time.monotonic() < deadline:
            t0 = time.perf_counter()
            status, _ = request(url, headers=headers)
            mine.append(time.perf_counter() - t0)
            assert status == 200, status
        with lock:
            latencies.extend(mine)

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return latencies


def flood(base, rate, stop, outcomes):
    interval = 1.0 / rate
    next_at = time.monotonic()
    lock = threading.Lock()

    def attempt(n):
        status, _ = request(f"{base}/api/belfry/login", "POST", {"user": f"guess{n % 50}", "password": "wrong-password"})
        with lock:
            outcomes[status] = outcomes.get(status, 0) + 1

    n = 0
    while not stop.is_set():
        threading.Thread(target=attempt, args=(n,), daemon=True).start()
        n += 1
        next_at += interval
        time.sleep(max(0.0, next_at - time.monotonic()))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--belfry", required=True)
    ap.add_argument("--rate", type=float, default=100.0)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--threads", type=int, default=4)
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="belfry-login-flood-")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    config = os.path.join(tmp, "belfry.yml")
    # Every address is 127.0.0.1 here: the per-address throttle would stop
    # the flood at its door, which is its job but not what is measured.
    with open(config, "w") as f:
        f.write("global: {scrape_interval: 1s}\n"
                "scrape_configs: [{job_name: belfry, static_configs: [{targets: ['127.0.0.1:%d']}]}]\n"
                "auth: {login_throttle: {max_failures: 100000000}, lockout: {max_failures: 100000000}}\n" % port)
    server = subprocess.Popen(
        [args.belfry, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", os.path.join(tmp, "data"),
         "--config", config],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):
            try:
                if request(f"{base}/-/ready")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        status, body = request(f"{base}/api/belfry/tokens", "POST", {"name": "bench", "scopes": ["read"]})
        assert status == 201, body
        token = json.loads(body)["data"]["secret"]
        # The flood names users that do not exist: each costs the same
        # argon2 work as a wrong password (the decoy hash).
        time.sleep(min(20.0, args.seconds / 2))  # some samples to query

        quiet = run_queries(base, token, args.seconds, args.threads)
        stop = threading.Event()
        outcomes = {}
        flooder = threading.Thread(target=flood, args=(base, args.rate, stop, outcomes))
        flooder.start()
        loud = run_queries(base, token, args.seconds, args.threads)
        stop.set()
        flooder.join()

        load = os.getloadavg()[0]
        q50, q99 = percentile(quiet, 50) * 1000, percentile(quiet, 99) * 1000
        l50, l99 = percentile(loud, 50) * 1000, percentile(loud, 99) * 1000
        print(f"queries alone:      {len(quiet)} in {args.seconds:.0f}s, p50 {q50:.2f} ms, p99 {q99:.2f} ms")
        print(f"with {args.rate:.0f} logins/s: {len(loud)} in {args.seconds:.0f}s, p50 {l50:.2f} ms, p99 {l99:.2f} ms")
        print(f"login answers: {dict(sorted(outcomes.items()))}")
        print(f"p99 ratio (flood / alone): {l99 / q99:.2f}; load average {load:.1f}")
    finally:
        server.terminate()
        server.wait(timeout=60)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
