#!/usr/bin/env python3
"""Synthetic node-exporter-like data for benches/compare-prometheus.sh.

One catalog of series (what one node_exporter host exposes: cpu, memory,
filesystems, network, disks, vmstat, netstat, hwmon, collector timings),
repeated per host, feeds three outputs so every measurement uses the same
kind of data:

  series-json   label sets, one JSON object per line, for
                `promtool tsdb bench write` and `tsdb_compare write`
  openmetrics   an OpenMetrics file with timestamps (scrape timestamps with a
                few ms of jitter, counters and gauges that move like real
                ones), for `promtool tsdb create-blocks-from openmetrics` and
                `tsdb_compare disk`
  exposition    one static Prometheus text-format body, for the RSS runs

Everything is seeded, so the same arguments give the same bytes.
"""

import argparse
import json
import random
import sys
import time

CPUS = 8
CPU_MODES = ["idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user"]
# Share of a cpu each mode takes, roughly a lightly loaded web host.
CPU_MODE_SHARE = {
    "idle": 0.82, "iowait": 0.01, "irq": 0.0, "nice": 0.001,
    "softirq": 0.005, "steal": 0.002, "system": 0.05, "user": 0.11,
}
FILESYSTEMS = [
    ("/dev/vda1", "ext4", "/"),
    ("/dev/vda15", "vfat", "/boot/efi"),
    ("/dev/vdb", "xfs", "/var/lib/postgresql"),
    ("tmpfs", "tmpfs", "/run"),
]
NET_DEVICES = ["eth0", "eth1", "lo"]
DISKS = ["vda", "vdb", "sr0"]
MEMORY_GAUGES = [
    "MemTotal", "MemFree", "MemAvailable", "Buffers", "Cached", "SwapCached",
    "Active", "Inactive", "Active_anon", "Inactive_anon", "Active_file",
    "Inactive_file", "Unevictable", "Mlocked", "SwapTotal", "SwapFree", "Dirty",
    "Writeback", "AnonPages", "Mapped", "Shmem", "KReclaimable", "Slab",
    "SReclaimable", "SUnreclaim", "KernelStack", "PageTables", "CommitLimit",
    "Committed_AS", "VmallocTotal",
]
CONSTANT_MEMORY = {"MemTotal", "SwapTotal", "SwapFree", "CommitLimit", "VmallocTotal", "Mlocked", "Unevictable"}
VMSTAT = ["pgfault", "pgmajfault", "pgpgin", "pgpgout", "pswpin", "pswpout", "oom_kill",
          "pgscan_kswapd", "pgsteal_kswapd", "numa_hit"]
NETSTAT = [
    "Tcp_ActiveOpens", "Tcp_PassiveOpens", "Tcp_RetransSegs", "Tcp_InSegs", "Tcp_OutSegs",
    "Tcp_InErrs", "Tcp_OutRsts", "Tcp_CurrEstab", "Udp_InDatagrams", "Udp_OutDatagrams",
    "Udp_InErrors", "Udp_NoPorts", "Icmp_InMsgs", "Icmp_OutMsgs", "Ip_Forwarding",
    "TcpExt_ListenDrops", "TcpExt_ListenOverflows", "TcpExt_SyncookiesSent",
    "TcpExt_TCPTimeouts", "Ip6_InOctets",
]
HWMON = [("platform_coretemp_0", f"temp{i}") for i in range(1, 7)]
COLLECTORS = [
    "arp", "bcache", "bonding", "btrfs", "conntrack", "cpu", "cpufreq", "diskstats",
    "dmi", "edac", "entropy", "fibrechannel", "filefd", "filesystem", "hwmon",
    "infiniband", "loadavg", "meminfo", "netclass", "netdev",
]


class Series:
    """One series: its family, type, labels (without instance/job) and how
    its value moves from one 15 s scrape to the next."""

    __slots__ = ("family", "kind", "name", "labels", "model", "args")

    def __init__(self, family, kind, labels, model, *args):
        self.family = family
        self.kind = kind  # "counter" or "gauge"
        self.name = family + "_total" if kind == "counter" else family
        self.labels = labels
        self.model = model
        self.args = args


def host_catalog():
    """The series one host exposes, ~280 of them."""
    s = []
    for cpu in range(CPUS):
        for mode in CPU_MODES:
            # cpu seconds advance by share * 15 s, with noise, 2 decimals
            s.append(Series("node_cpu_seconds", "counter", {"cpu": str(cpu), "mode": mode},
                            "counter_float", CPU_MODE_SHARE[mode] * 15.0, 2))
        for mode in ["guest", "guest_nice"]:
            s.append(Series("node_cpu_guest_seconds", "counter", {"cpu": str(cpu), "mode": mode},
                            "const", 0.0))
    for m in MEMORY_GAUGES:
        fam = f"node_memory_{m}_bytes"
        if m in CONSTANT_MEMORY:
            s.append(Series(fam, "gauge", {}, "const", float(random_pages(m) * 4096)))
        else:
            s.append(Series(fam, "gauge", {}, "walk_int", float(random_pages(m) * 4096), 4096, 64))
    for device, fstype, mountpoint in FILESYSTEMS:
        lbl = {"device": device, "fstype": fstype, "mountpoint": mountpoint}
        s.append(Series("node_filesystem_size_bytes", "gauge", dict(lbl), "const", 53660876800.0))
        s.append(Series("node_filesystem_free_bytes", "gauge", dict(lbl), "walk_int", 21474836480.0, 4096, 256))
        s.append(Series("node_filesystem_avail_bytes", "gauge", dict(lbl), "walk_int", 18790481920.0, 4096, 256))
        s.append(Series("node_filesystem_files", "gauge", dict(lbl), "const", 3276800.0))
        s.append(Series("node_filesystem_files_free", "gauge", dict(lbl), "walk_int", 2911232.0, 1, 20))
        s.append(Series("node_filesystem_readonly", "gauge", dict(lbl), "const", 0.0))
        s.append(Series("node_filesystem_device_error", "gauge", dict(lbl), "const", 0.0))
    for dev in NET_DEVICES:
        lbl = {"device": dev}
        s.append(Series("node_network_receive_bytes", "counter", dict(lbl), "counter_int", 180000.0))
        s.append(Series("node_network_transmit_bytes", "counter", dict(lbl), "counter_int", 220000.0))
        s.append(Series("node_network_receive_packets", "counter", dict(lbl), "counter_int", 900.0))
        s.append(Series("node_network_transmit_packets", "counter", dict(lbl), "counter_int", 850.0))
        s.append(Series("node_network_receive_errs", "counter", dict(lbl), "counter_int", 0.001))
        s.append(Series("node_network_transmit_errs", "counter", dict(lbl), "counter_int", 0.0))
        s.append(Series("node_network_receive_drop", "counter", dict(lbl), "counter_int", 0.05))
        s.append(Series("node_network_transmit_drop", "counter", dict(lbl), "counter_int", 0.0))
        s.append(Series("node_network_up", "gauge", dict(lbl), "const", 1.0))
        s.append(Series("node_network_mtu_bytes", "gauge", dict(lbl), "const", 1500.0 if dev != "lo" else 65536.0))
        s.append(Series("node_network_speed_bytes", "gauge", dict(lbl), "const", 125000000.0))
    for dev in DISKS:
        lbl = {"device": dev}
        s.append(Series("node_disk_reads_completed", "counter", dict(lbl), "counter_int", 30.0))
        s.append(Series("node_disk_writes_completed", "counter", dict(lbl), "counter_int", 120.0))
        s.append(Series("node_disk_read_bytes", "counter", dict(lbl), "counter_int_mult", 30.0, 4096))
        s.append(Series("node_disk_written_bytes", "counter", dict(lbl), "counter_int_mult", 120.0, 4096))
        s.append(Series("node_disk_io_time_seconds", "counter", dict(lbl), "counter_float", 0.4, 3))
        s.append(Series("node_disk_read_time_seconds", "counter", dict(lbl), "counter_float", 0.05, 3))
        s.append(Series("node_disk_write_time_seconds", "counter", dict(lbl), "counter_float", 0.6, 3))
        s.append(Series("node_disk_io_now", "gauge", dict(lbl), "small_int", 3))
    for name, base in [("node_load1", 0.8), ("node_load5", 0.7), ("node_load15", 0.6)]:
        s.append(Series(name, "gauge", {}, "walk_float", base, 0.05, 2))
    s.append(Series("node_context_switches", "counter", {}, "counter_int", 45000.0))
    s.append(Series("node_intr", "counter", {}, "counter_int", 30000.0))
    s.append(Series("node_forks", "counter", {}, "counter_int", 60.0))
    s.append(Series("node_procs_running", "gauge", {}, "small_int", 6))
    s.append(Series("node_procs_blocked", "gauge", {}, "small_int", 1))
    s.append(Series("node_boot_time_seconds", "gauge", {}, "const", 1.7e9))
    s.append(Series("node_time_seconds", "gauge", {}, "clock"))
    s.append(Series("node_entropy_available_bits", "gauge", {}, "const", 256.0))
    s.append(Series("node_filefd_allocated", "gauge", {}, "walk_int", 3200.0, 1, 10))
    s.append(Series("node_filefd_maximum", "gauge", {}, "const", 9223372036854775807.0))
    for v in VMSTAT:
        s.append(Series(f"node_vmstat_{v}", "gauge", {}, "counter_int", 200.0 if v.startswith("pg") else 0.01))
    for v in NETSTAT:
        s.append(Series(f"node_netstat_{v}", "gauge", {}, "counter_int", 40.0))
    for chip, sensor in HWMON:
        s.append(Series("node_hwmon_temp_celsius", "gauge", {"chip": chip, "sensor": sensor},
                        "walk_float", 45.0, 1.0, 0))
    for c in COLLECTORS:
        s.append(Series("node_scrape_collector_duration_seconds", "gauge", {"collector": c}, "duration"))
        s.append(Series("node_scrape_collector_success", "gauge", {"collector": c}, "const", 1.0))
    return s


def random_pages(name):
    # Deterministic per name so every host reports plausible sizes.
    return 1000 + (sum(map(ord, name)) * 7919) % 2000000


def all_series(count):
    """(instance, Series) for `count` series: whole hosts, then a partial
    one, each host's catalog in the same order."""
    catalog = host_catalog()
    out = []
    host = 0
    while len(out) < count:
        host += 1
        instance = f"host-{host:05d}"
        for s in catalog:
            if len(out) == count:
                break
            out.append((instance, s))
    return out


def full_labels(instance, s):
    labels = {"__name__": s.name, "instance": instance, "job": "node"}
    labels.update(s.labels)
    return labels


def label_text(instance, s, with_target=True):
    pairs = []
    if with_target:
        pairs.append(("instance", instance))
        pairs.append(("job", "node"))
    else:
        # The scraper adds instance/job itself; keep the host apart.
        pairs.append(("host", instance))
    pairs.extend(sorted(s.labels.items()))
    return s.name + "{" + ",".join(f'{k}="{v}"' for k, v in pairs) + "}"


def fmt_value(v):
    if v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return repr(v)


def value_walk(s, rng, steps, t_ms):
    """The series' values at each step (15 s apart)."""
    m = s.model
    out = []
    if m == "const":
        return [s.args[0]] * steps
    if m == "counter_float":
        mean, decimals = s.args
        v = round(rng.uniform(1e4, 1e6), decimals)
        for _ in range(steps):
            v = round(v + max(0.0, rng.gauss(mean, mean * 0.3)), decimals)
            out.append(v)
        return out
    if m in ("counter_int", "counter_int_mult"):
        mean = s.args[0]
        mult = s.args[1] if m == "counter_int_mult" else 1
        v = float(rng.randrange(10**6, 10**10)) * mult
        for _ in range(steps):
            if mean < 1:
                v += mult if rng.random() < mean else 0
            else:
                v += float(max(0, int(rng.gauss(mean * 15, mean * 5)))) * mult
            out.append(v)
        return out
    if m == "walk_int":
        base, unit, spread = s.args
        v = base
        for _ in range(steps):
            v = max(0.0, v + rng.randint(-spread, spread) * unit)
            out.append(v)
        return out
    if m == "walk_float":
        base, step, decimals = s.args
        v = base
        for _ in range(steps):
            v = round(max(0.0, v + rng.uniform(-step, step) + (base - v) * 0.05), decimals)
            out.append(v)
        return out
    if m == "small_int":
        hi = s.args[0]
        return [float(rng.randint(0, hi)) for _ in range(steps)]
    if m == "duration":
        # Durations measured in ns, printed in seconds: up to 9 significant
        # digits that change every scrape, the hardest values to compress.
        return [round(rng.lognormvariate(-7.0, 0.6), 9) for _ in range(steps)]
    if m == "clock":
        return [t / 1000.0 for t in t_ms]
    raise ValueError(f"unknown value model {m}")


def cmd_series_json(args):
    out = sys.stdout
    for instance, s in all_series(args.count):
        out.write(json.dumps(full_labels(instance, s), separators=(",", ":")) + "\n")


def cmd_exposition(args):
    rng = random.Random(args.seed)
    series = all_series(args.count)
    by_family = {}
    for instance, s in series:
        by_family.setdefault(s.family, []).append((instance, s))
    out = []
    for family, members in by_family.items():
        out.append(f"# HELP {members[0][1].name} Synthetic {family}.\n")
        out.append(f"# TYPE {members[0][1].name} {members[0][1].kind}\n")
        for instance, s in members:
            v = value_walk(s, rng, 1, [int(time.time() * 1000)])[0]
            out.append(f"{label_text(instance, s, with_target=False)} {fmt_value(v)}\n")
    sys.stdout.write("".join(out))


def cmd_openmetrics(args):
    rng = random.Random(args.seed)
    series = all_series(args.count)
    steps = args.hours * 3600 // args.interval
    interval_ms = args.interval * 1000
    end_ms = args.end_ms if args.end_ms else (int(time.time()) // 3600 - 1) * 3600 * 1000
    start_ms = end_ms - steps * interval_ms
    # One scrape timestamp per host and step, shared by the host's series,
    # a few ms late as real scrapes are.
    host_ts = {}
    for instance, _ in series:
        if instance in host_ts:
            continue
        offset = rng.randrange(0, interval_ms)
        ts = [start_ms + offset + i * interval_ms + rng.randint(0, args.jitter_ms) for i in range(steps)]
        host_ts[instance] = (ts, [f"{t // 1000}.{t % 1000:03d}" for t in ts])
    by_family = {}
    for instance, s in series:
        by_family.setdefault(s.family, []).append((instance, s))
    out = sys.stdout
    samples = 0
    for family, members in by_family.items():
        kind = members[0][1].kind
        out.write(f"# TYPE {family} {kind}\n")
        out.write(f"# HELP {family} Synthetic {family}.\n")
        for instance, s in members:
            ts, ts_text = host_ts[instance]
            prefix = label_text(instance, s) + " "
            values = value_walk(s, rng, steps, ts)
            out.write("".join(f"{prefix}{fmt_value(v)} {tt}\n" for v, tt in zip(values, ts_text)))
            samples += steps
    out.write("# EOF\n")
    print(f"{samples} samples, {len(series)} series, {steps} per series, "
          f"from {start_ms} to {end_ms} ms", file=sys.stderr)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("series-json", help="label sets, one JSON object per line")
    a.add_argument("--count", type=int, required=True)
    a.set_defaults(func=cmd_series_json)
    a = sub.add_parser("exposition", help="one Prometheus text-format body")
    a.add_argument("--count", type=int, required=True)
    a.add_argument("--seed", type=int, default=1)
    a.set_defaults(func=cmd_exposition)
    a = sub.add_parser("openmetrics", help="an OpenMetrics file with timestamps")
    a.add_argument("--count", type=int, required=True)
    a.add_argument("--hours", type=int, default=24)
    a.add_argument("--interval", type=int, default=15, help="seconds between scrapes")
    a.add_argument("--jitter-ms", type=int, default=5)
    a.add_argument("--end-ms", type=int, default=0, help="last timestamp (default: an hour ago)")
    a.add_argument("--seed", type=int, default=1)
    a.set_defaults(func=cmd_openmetrics)
    args = p.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
