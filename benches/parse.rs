//! Exposition parser throughput on a node-exporter-like body (10k+ samples,
//! 2–6 labels each, HELP/TYPE per family), in both formats.
//!
//! `cargo bench --bench parse -- --quick`; criterion reports elements/s,
//! where an element is one sample.

use std::fmt::Write as _;
use std::hint::black_box;

use belfry::exposition::{Entry, Format, Parser};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// A body shaped like a busy host's node_exporter: per-CPU counters,
/// per-device and per-mount gauges, a few histograms.
fn node_exporter_body(format: Format) -> (String, usize) {
    let om = format == Format::OpenMetrics;
    let mut out = String::new();
    let mut samples = 0;
    let counter = |out: &mut String, name: &str, help: &str| {
        let family = if om { name.trim_end_matches("_total") } else { name };
        let _ = writeln!(out, "# HELP {family} {help}");
        let _ = writeln!(out, "# TYPE {family} counter");
    };
    let gauge = |out: &mut String, name: &str, help: &str| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} gauge");
    };
    let modes = [
        "guest", "idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user",
    ];
    counter(
        &mut out,
        "node_cpu_seconds_total",
        "Seconds the CPUs spent in each mode.",
    );
    for cpu in 0..128 {
        for (i, mode) in modes.iter().enumerate() {
            let v = 12345.67 * (cpu as f64 + 1.0) + i as f64 * 0.01;
            let _ = writeln!(out, "node_cpu_seconds_total{{cpu=\"{cpu}\",mode=\"{mode}\"}} {v}");
            samples += 1;
        }
    }
    let net = [
        (
            "node_network_receive_bytes_total",
            "Network device statistic receive_bytes.",
        ),
        (
            "node_network_receive_packets_total",
            "Network device statistic receive_packets.",
        ),
        (
            "node_network_transmit_bytes_total",
            "Network device statistic transmit_bytes.",
        ),
        (
            "node_network_transmit_packets_total",
            "Network device statistic transmit_packets.",
        ),
        (
            "node_network_receive_drop_total",
            "Network device statistic receive_drop.",
        ),
    ];
    for (name, help) in net {
        counter(&mut out, name, help);
        for dev in 0..400 {
            let v = 1.234_567_89e10 + dev as f64;
            let _ = writeln!(out, "{name}{{device=\"veth{dev:04x}\"}} {v:e}");
            samples += 1;
        }
    }
    let fs = [
        (
            "node_filesystem_avail_bytes",
            "Filesystem space available to non-root users in bytes.",
        ),
        ("node_filesystem_size_bytes", "Filesystem size in bytes."),
        ("node_filesystem_files_free", "Filesystem total free file nodes."),
    ];
    for (name, help) in fs {
        gauge(&mut out, name, help);
        for m in 0..600 {
            let _ = writeln!(
                out,
                "{name}{{device=\"/dev/mapper/vg0-lv{m}\",fstype=\"ext4\",mountpoint=\"/var/lib/docker/overlay2/{m:08x}/merged\"}} {}",
                1_048_576 * (m + 7)
            );
            samples += 1;
        }
    }
    gauge(
        &mut out,
        "node_hwmon_temp_celsius",
        "Hardware monitor for temperature (input)",
    );
    for chip in 0..40 {
        for sensor in 0..25 {
            let _ = writeln!(
                out,
                "node_hwmon_temp_celsius{{chip=\"platform_coretemp_{chip}\",sensor=\"temp{sensor}\",host=\"web-01\",rack=\"r12\",zone=\"eu-west-1a\",role=\"app\"}} {}.5",
                30 + sensor
            );
            samples += 1;
        }
    }
    let les = [
        "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf",
    ];
    let _ = writeln!(out, "# HELP http_request_duration_seconds Request latency.");
    let _ = writeln!(out, "# TYPE http_request_duration_seconds histogram");
    for handler in 0..300 {
        for (i, le) in les.iter().enumerate() {
            let _ = writeln!(
                out,
                "http_request_duration_seconds_bucket{{handler=\"/api/v1/item/{handler}\",method=\"GET\",code=\"200\",le=\"{le}\"}} {}",
                handler * 10 + i
            );
            samples += 1;
        }
        let _ = writeln!(
            out,
            "http_request_duration_seconds_sum{{handler=\"/api/v1/item/{handler}\",method=\"GET\",code=\"200\"}} 17.{handler}"
        );
        let _ = writeln!(
            out,
            "http_request_duration_seconds_count{{handler=\"/api/v1/item/{handler}\",method=\"GET\",code=\"200\"}} {}",
            handler * 10 + 11
        );
        samples += 2;
    }
    if om {
        out.push_str("# EOF\n");
    }
    (out, samples)
}

fn bench_parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    for (label, format) in [
        ("text", Format::PrometheusText),
        ("openmetrics", Format::OpenMetrics),
    ] {
        let (body, samples) = node_exporter_body(format);
        // Guard the benchmark itself: it must parse completely.
        let parsed = Parser::new(body.as_bytes(), format)
            .map(|e| e.expect("bench body parses"))
            .filter(|e| matches!(e, Entry::Sample(_)))
            .count();
        assert_eq!(parsed, samples);
        group.throughput(Throughput::Elements(samples as u64));
        group.bench_function(format!("node_exporter_{label}_{samples}_samples"), |b| {
            b.iter(|| {
                let mut n = 0usize;
                for entry in Parser::new(black_box(body.as_bytes()), format) {
                    if let Ok(Entry::Sample(s)) = entry {
                        n += s.labels.len();
                        black_box(&s);
                    }
                }
                n
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_parse);
criterion_main!(benches);
