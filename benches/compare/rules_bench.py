#!/usr/bin/env python3
"""Inputs of benches/compare-rules.sh: 10,000 LMS-like series served as a
scrape target whose counters advance with wall time, and one rule file of
1,000 rules (500 recording, 500 alerting) over them.

Usage:
  rules_bench.py rules FILE [--groups G] [--rules N]
  rules_bench.py serve PORT

The series (10,000):
  lms_http_requests_total{instance=api-0..19, handler=/api/v1/r0..24, status=2xx..5xx}   2,000
  lms_http_request_duration_seconds_{bucket,sum,count}{instance=api-0..9, handler}      2,500
  node_cpu_seconds_total{instance=node-0..49, cpu=0..7, mode=5 modes}                   2,000
  node_memory_{MemAvailable,MemTotal}_bytes, node_filesystem_{avail,size}_bytes           500
  app_jobs_processed_total{worker=w0..29, queue=q0..99}                                 3,000
Counters grow at a steady per-series rate from the server's start, so
rate() is non-zero; gauges are fixed per series, some above the alerting
thresholds, so a share of the alerts go pending and fire.

Each GET answers the whole body (text format 0.0.4) and prints
`scrape N` to stdout, flushed.
"""

import sys
import time

# A sibling file; Python puts the script's folder on the import path.
import serve_static

INSTANCES_HTTP = 20
HANDLERS = 25
STATUSES = ["2xx", "3xx", "4xx", "5xx"]
INSTANCES_HIST = 10
BUCKETS = ["0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "+Inf"]
NODES = 50
CPUS = 8
MODES = ["idle", "user", "system", "iowait", "steal"]
MOUNTS = ["/", "/var", "/srv", "/tmp"]
WORKERS = 30
QUEUES = 100


def series():
    """(name, labels, kind, rate_or_value) for every series, in a fixed order."""
    out = []
    for i in range(INSTANCES_HTTP):
        for h in range(HANDLERS):
            for s, status in enumerate(STATUSES):
                # 5xx share varies by handler: some handlers cross 5 %.
                share = [0.8, 0.05, 0.1, 0.01 + (h % 10) * 0.01][s]
                out.append(("lms_http_requests_total",
                            f'handler="/api/v1/r{h}",instance="api-{i}",status="{status}"',
                            "counter", 10.0 * share * (1 + i % 3)))
    for i in range(INSTANCES_HIST):
        for h in range(HANDLERS):
            base = f'handler="/api/v1/r{h}",instance="api-{i}"'
            total = 5.0 * (1 + h % 4)
            slow = 0.005 + (h % 7) * 0.004  # share above 2.5 s grows with h
            for k, le in enumerate(BUCKETS):
                frac = min(1.0, (k + 1) / len(BUCKETS) + 0.3) if le not in ("5", "+Inf") else 1.0
                if le == "2.5":
                    frac = 1.0 - slow
                out.append(("lms_http_request_duration_seconds_bucket", f'{base},le="{le}"', "counter",
                            total * frac))
            out.append(("lms_http_request_duration_seconds_sum", base, "counter", total * 0.3))
            out.append(("lms_http_request_duration_seconds_count", base, "counter", total))
    for n in range(NODES):
        busy = 0.2 + (n % 10) * 0.08  # nodes 9, 19, ... run hot
        for c in range(CPUS):
            for mode in MODES:
                r = {"idle": 1 - busy, "user": busy * 0.7, "system": busy * 0.2,
                     "iowait": busy * 0.05, "steal": busy * 0.05}[mode]
                out.append(("node_cpu_seconds_total", f'cpu="{c}",instance="node-{n}",mode="{mode}"',
                            "counter", r))
    for n in range(NODES):
        total = 16e9
        out.append(("node_memory_MemTotal_bytes", f'instance="node-{n}"', "gauge", total))
        out.append(("node_memory_MemAvailable_bytes", f'instance="node-{n}"', "gauge",
                    total * (0.05 + (n % 10) * 0.09)))
        for m in MOUNTS:
            size = 100e9
            out.append(("node_filesystem_size_bytes", f'instance="node-{n}",mountpoint="{m}"', "gauge", size))
            out.append(("node_filesystem_avail_bytes", f'instance="node-{n}",mountpoint="{m}"', "gauge",
                        size * (0.04 + ((n + len(m)) % 10) * 0.1)))
    for w in range(WORKERS):
        for q in range(QUEUES):
            out.append(("app_jobs_processed_total", f'queue="q{q}",worker="w{w}"', "counter",
                        0.1 + (q % 5) * 0.2))
    return out


def write_rules(path, groups, rules):
    per_group = rules // groups
    lines = ["groups:"]
    n = 0
    for g in range(groups):
        lines.append(f"  - name: bench-{g}")
        lines.append("    rules:")
        for r in range(per_group):
            k = n // 12  # a new parameter every 12 rules (6 recording + 6 alerting kinds)
            h = f"/api/v1/r{k % HANDLERS}"
            node = f"node-{k % NODES}"
            q = f"q{k % QUEUES}"
            win = ["1m", "5m", "10m"][k % 3]
            kind = n % 12
            if kind == 0:
                lines += [f"      - record: handler:lms_http_requests:rate{win}_{n}",
                          f"        expr: sum by (instance) (rate(lms_http_requests_total{{handler=\"{h}\"}}[{win}]))"]
            elif kind == 1:
                lines += [f"      - record: handler:lms_http_errors:ratio_{n}",
                          f"        expr: sum(rate(lms_http_requests_total{{handler=\"{h}\",status=\"5xx\"}}[{win}])) / sum(rate(lms_http_requests_total{{handler=\"{h}\"}}[{win}]))"]
            elif kind == 2:
                lines += [f"      - record: handler:lms_http_latency:p99_{n}",
                          f"        expr: histogram_quantile(0.99, sum by (le) (rate(lms_http_request_duration_seconds_bucket{{handler=\"{h}\"}}[{win}])))"]
            elif kind == 3:
                lines += [f"      - record: instance:node_cpu:busy_{n}",
                          f"        expr: 1 - avg by (instance) (rate(node_cpu_seconds_total{{mode=\"idle\",instance=\"{node}\"}}[{win}]))"]
            elif kind == 4:
                lines += [f"      - record: instance:node_memory:available_ratio_{n}",
                          f"        expr: node_memory_MemAvailable_bytes{{instance=\"{node}\"}} / node_memory_MemTotal_bytes{{instance=\"{node}\"}}"]
            elif kind == 5:
                lines += [f"      - record: queue:app_jobs:rate_{n}",
                          f"        expr: sum by (queue) (rate(app_jobs_processed_total{{queue=\"{q}\"}}[{win}]))"]
            elif kind == 6:
                lines += [f"      - alert: LmsHttpErrorsHigh{n}",
                          f"        expr: sum by (handler) (rate(lms_http_requests_total{{handler=\"{h}\",status=\"5xx\"}}[{win}])) / sum by (handler) (rate(lms_http_requests_total{{handler=\"{h}\"}}[{win}])) > 0.05",
                          "        for: 1m",
                          "        labels: {severity: page}",
                          "        annotations:",
                          "          summary: '{{ $labels.handler }} fails {{ $value | humanizePercentage }} of requests'"]
            elif kind == 7:
                lines += [f"      - alert: LmsLatencyHigh{n}",
                          f"        expr: histogram_quantile(0.99, sum by (le, instance) (rate(lms_http_request_duration_seconds_bucket{{handler=\"{h}\"}}[{win}]))) > 2",
                          "        for: 2m",
                          "        labels: {severity: ticket}",
                          "        annotations:",
                          "          summary: 'p99 on {{ $labels.instance }} is {{ $value | humanizeDuration }}'"]
            elif kind == 8:
                lines += [f"      - alert: NodeCpuBusy{n}",
                          f"        expr: 1 - avg by (instance) (rate(node_cpu_seconds_total{{mode=\"idle\"}}[{win}])) > 0.9",
                          "        for: 1m",
                          "        labels: {severity: ticket}",
                          "        annotations:",
                          "          summary: '{{ $labels.instance }} CPU at {{ $value | humanizePercentage }}'"]
            elif kind == 9:
                lines += [f"      - alert: NodeMemoryLow{n}",
                          f"        expr: node_memory_MemAvailable_bytes{{instance=~\"node-{k % 5}.*\"}} / node_memory_MemTotal_bytes < 0.1",
                          "        for: 30s",
                          "        labels: {severity: page}",
                          "        annotations:",
                          "          summary: '{{ $labels.instance }} has {{ $value | humanizePercentage }} memory left'"]
            elif kind == 10:
                lines += [f"      - alert: NodeDiskFilling{n}",
                          f"        expr: node_filesystem_avail_bytes{{mountpoint=\"{MOUNTS[k % 4]}\"}} / node_filesystem_size_bytes < 0.1",
                          "        labels: {severity: ticket}",
                          "        annotations:",
                          "          summary: '{{ $labels.mountpoint }} on {{ $labels.instance }} at {{ $value | humanizePercentage }}'"]
            else:
                lines += [f"      - alert: QueueStalled{n}",
                          f"        expr: sum by (queue) (rate(app_jobs_processed_total{{queue=\"{q}\"}}[{win}])) < 5",
                          "        for: 1m",
                          "        labels: {severity: ticket}",
                          "        annotations:",
                          "          summary: 'queue {{ $labels.queue }} processes {{ $value | humanize }}/s'"]
            n += 1
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def serve(port):
    all_series = series()
    start = time.time()
    help_lines = {}
    for name, _, kind, _ in all_series:
        help_lines.setdefault(name, f"# TYPE {name} {kind}\n")

    def body():
        elapsed = time.time() - start
        parts = []
        last = None
        for name, labels, kind, v in all_series:
            if name != last:
                parts.append(help_lines[name])
                last = name
            value = 1000.0 + v * elapsed if kind == "counter" else v
            parts.append(f"{name}{{{labels}}} {value:.6g}\n")
        return "".join(parts).encode()

    serve_static.serve(port, body, banner=f"serving {len(all_series)} series")


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    cmd, arg = sys.argv[1], sys.argv[2]
    if cmd == "rules":
        groups, rules = 10, 1000
        rest = sys.argv[3:]
        while rest:
            if rest[0] == "--groups":
                groups = int(rest[1])
            elif rest[0] == "--rules":
                rules = int(rest[1])
            else:
                sys.exit(f"unknown option {rest[0]}")
            rest = rest[2:]
        write_rules(arg, groups, rules)
    elif cmd == "serve":
        serve(int(arg))
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
