#!/usr/bin/env python3
"""Does a login flood move query latency? Starts `belfry serve`, makes a
read token over the open API (which closes it), then runs
PromQL range queries with the token from a few threads for a while, alone
while another process sends the same rate of `/-/healthy` requests (what
the flooding client alone costs on a shared machine), while it sends
wrong-password logins at that rate (100/s by default), and alone again,
and prints each run's query p50/p99 and the ratios. Password checks run
on their own bounded pool (auth.password_hashing) at nice 19, so the
flood should cost queries little but the caches argon2's memory fills.

    python3 benches/login_flood.py --belfry target/measure/belfry [--rate 100] [--seconds 30]
"""

import argparse
import json
import multiprocessing
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


def flood_process(base, rate, stop, shared, logins):
    outcomes = {}
    flood(base, rate, stop, outcomes, logins)
    shared.update(outcomes)


def flood(base, rate, stop, outcomes, logins=True):
    interval = 1.0 / rate
    next_at = time.monotonic()
    lock = threading.Lock()

    def attempt(n):
        if logins:
            status, _ = request(f"{base}/api/belfry/login", "POST",
                                {"user": f"guess{n % 50}", "password": "wrong-password"})
        else:
            status, _ = request(f"{base}/-/healthy")
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
    ap.add_argument("--password-workers", type=int, default=2, help="auth.password_hashing.workers")
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
                "auth: {login_throttle: {max_failures: 100000000}, lockout: {max_failures: 100000000},\n"
                "       password_hashing: {workers: %d}}\n" % (port, args.password_workers))
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

        # Alone, flooded, alone again: the two quiet runs bound the drift
        # of a store that grows while the bench runs. The flood runs in a
        # process of its own, so its threads never hold the query
        # threads' interpreter lock (which would be the client's latency,
        # not the server's).
        before = run_queries(base, token, args.seconds, args.threads)
        manager = multiprocessing.Manager()

        def flooded(logins):
            stop = manager.Event()
            outcomes = manager.dict()
            flooder = multiprocessing.Process(target=flood_process, args=(base, args.rate, stop, outcomes, logins))
            flooder.start()
            runs = run_queries(base, token, args.seconds, args.threads)
            stop.set()
            flooder.join()
            return runs, dict(outcomes)

        # The same rate of requests that cost nothing (`/-/healthy`): what
        # the flooding client itself takes from the 2 cores it shares.
        control, _ = flooded(False)
        loud, outcomes = flooded(True)
        after = run_queries(base, token, args.seconds, args.threads)

        load = os.getloadavg()[0]
        for name, runs in [("alone, before", before), (f"{args.rate:.0f} /-/healthy/s", control),
                           (f"{args.rate:.0f} logins/s", loud), ("alone, after", after)]:
            print(f"{name:>15}: {len(runs)} queries in {args.seconds:.0f}s, "
                  f"p50 {percentile(runs, 50) * 1000:.2f} ms, p99 {percentile(runs, 99) * 1000:.2f} ms")
        print(f"login answers: {dict(sorted(outcomes.items()))}")
        quiet99 = max(percentile(before, 99), percentile(after, 99))
        print(f"p99 ratio, login flood / worse quiet run: {percentile(loud, 99) / quiet99:.2f}; "
              f"login flood / the same rate of /-/healthy: {percentile(loud, 99) / percentile(control, 99):.2f}; "
              f"load average {load:.1f}")
    finally:
        server.terminate()
        server.wait(timeout=60)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
