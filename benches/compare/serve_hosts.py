#!/usr/bin/env python3
"""Serves synthetic node-exporter-like hosts whose values move with time.

Usage: serve_hosts.py --count N --port PORT [--interval S] [--minutes M] [--seed K]

The series and value models are gen.py's (the same catalog the backfill
files use), so a live scrape sees what a backfill stores. Values advance one
step per `--interval` seconds of wall-clock time, not per request: every
scraper reading within one step gets the same body, so two servers scraping
the same target store the same samples. Values are generated up front for
`--minutes` (plus a margin) and hold their last step afterwards. Each
answered scrape prints `scrape N`, flushed, as serve_static.py does.
"""

import argparse
import array
import os
import random
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen  # noqa: E402
from serve_static import serve  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--interval", type=int, default=15)
    p.add_argument("--minutes", type=int, default=30)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()

    rng = random.Random(a.seed)
    steps = a.minutes * 60 // a.interval + 40
    start = time.time()
    times_ms = [int((start + i * a.interval) * 1000) for i in range(steps)]
    # The text format wants each family's lines together.
    by_family = {}
    for instance, s in gen.all_series(a.count):
        by_family.setdefault(s.family, []).append((instance, s))
    series = [m for members in by_family.values() for m in members]
    prefixes = []
    values = []
    for instance, s in series:
        prefixes.append(gen.label_text(instance, s, with_target=False) + " ")
        values.append(array.array("d", gen.value_walk(s, rng, steps, times_ms)))
    headers = {}
    for instance, s in series:
        headers.setdefault(s.family, f"# HELP {s.name} Synthetic {s.family}.\n# TYPE {s.name} {s.kind}\n")

    cache = {"step": -1, "body": b""}
    lock = threading.Lock()

    def body():
        step = min(int((time.time() - start) // a.interval), steps - 1)
        with lock:
            if cache["step"] != step:
                out = []
                family = None
                for (instance, s), prefix, vs in zip(series, prefixes, values):
                    if s.family != family:
                        family = s.family
                        out.append(headers[family])
                    out.append(f"{prefix}{gen.fmt_value(vs[step])}\n")
                cache["step"], cache["body"] = step, "".join(out).encode()
            return cache["body"]

    serve(a.port, body, banner=f"serving {len(series)} series, {steps} steps of {a.interval}s")


if __name__ == "__main__":
    main()
