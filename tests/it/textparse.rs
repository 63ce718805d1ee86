//! The exposition parser against Prometheus's own parser test inputs
//! (`../shared/conformance/textparse/`), each in the format its name says.

use std::collections::HashMap;
use std::path::Path;

use belfry::exposition::{Entry, Format, ParsedSample, Parser};
use belfry::model::MetricType;

use crate::support;

/// The format a corpus file's name says it is in.
fn format_of(name: &str) -> Format {
    if name.contains(".om.") || name.contains("openmetrics") {
        Format::OpenMetrics
    } else {
        Format::PrometheusText
    }
}

fn read(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join("textparse").join(name)).unwrap_or_else(|e| panic!("reading {name}: {e}"))
}

fn parse_all(body: &[u8], format: Format, keep_created: bool) -> Vec<ParsedSample<'_>> {
    Parser::new(body, format)
        .keep_created_series(keep_created)
        .filter_map(|entry| match entry {
            Ok(Entry::Sample(s)) => Some(s),
            Ok(_) => None,
            Err(e) => panic!("{e}"),
        })
        .collect()
}

/// Sample lines counted without the parser: lines that are neither blank
/// nor comments, and (when `created` is false) not `_created` lines.
fn independent_count(body: &[u8], created: bool) -> usize {
    String::from_utf8_lossy(body)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter(|l| {
            let name = l.split(['{', ' ']).next().unwrap_or("");
            created || !name.ends_with("_created")
        })
        .count()
}

fn label<'a>(s: &'a ParsedSample<'_>, name: &str) -> Option<&'a str> {
    s.labels.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_ref())
}

#[test]
fn every_corpus_file_parses_completely() {
    let Some(dir) = support::shared_conformance_dir() else {
        return;
    };
    let mut names: Vec<String> = std::fs::read_dir(dir.join("textparse"))
        .expect("textparse corpus")
        .map(|e| e.expect("dir entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.len() >= 7, "corpus shrank: {names:?}");
    for name in &names {
        let body = read(&dir, name);
        let format = format_of(name);
        let mut metadata = 0;
        let mut samples = 0;
        for entry in Parser::new(&body, format) {
            match entry {
                Ok(Entry::Sample(_)) => samples += 1,
                Ok(_) => metadata += 1,
                Err(e) => panic!("{name} ({format:?}): {e}"),
            }
        }
        // `_created` series are kept by default, as Prometheus stores them.
        assert_eq!(samples, independent_count(&body, true), "{name}: sample count");
        if format == Format::OpenMetrics {
            let without_created = parse_all(&body, format, false).len();
            assert_eq!(
                without_created,
                independent_count(&body, false),
                "{name}: count with _created skipped"
            );
        }
        let meta_lines = String::from_utf8_lossy(&body)
            .lines()
            .filter(|l| l.starts_with("# HELP ") || l.starts_with("# TYPE ") || l.starts_with("# UNIT "))
            .count();
        assert_eq!(metadata, meta_lines, "{name}: metadata count");
    }
}

#[test]
fn text_corpus_spot_checks() {
    let Some(dir) = support::shared_conformance_dir() else {
        return;
    };
    let body = read(&dir, "metrics-test.prom");
    let s = parse_all(&body, Format::PrometheusText, false);
    assert_eq!(s[0].name, "go_gc_duration_seconds");
    // Summary quantiles are normalised as Prometheus 3 does.
    assert_eq!(label(&s[0], "quantile"), Some("0.0"));
    assert_eq!(s[0].value, 2.391e-05);
    assert_eq!(s[0].metric_type, MetricType::Summary);
    let bucket = s
        .iter()
        .find(|s| {
            s.name == "prometheus_tsdb_compaction_chunk_size_bytes_bucket" && label(s, "le") == Some("32.0")
        })
        .expect("le=\"32\" normalised to 32.0");
    assert_eq!(bucket.value, 662.0);
    let inf = s
        .iter()
        .find(|s| label(s, "le") == Some("+Inf"))
        .expect("+Inf bucket");
    assert_eq!(inf.value, 13867.0);
    let sum = s
        .iter()
        .find(|s| s.name == "prometheus_tsdb_compaction_chunk_size_bytes_sum")
        .expect("sum");
    assert_eq!(sum.value, 3.886707e6);

    // Commas inside a label value stay inside it.
    let body = read(&dir, "alltypes.237mfs.prom.txt");
    let s = parse_all(&body, Format::PrometheusText, false);
    assert!(
        s.iter().any(|s| s
            .labels
            .iter()
            .any(|(_, v)| v == "netgo,builtinassets,stringlabels")),
        "comma-containing label value"
    );
}

#[test]
fn text_corpus_with_and_without_metadata_agree() {
    let Some(dir) = support::shared_conformance_dir() else {
        return;
    };
    let with_meta = read(&dir, "alltypes.237mfs.prom.txt");
    let without = read(&dir, "alltypes.237mfs.nometa.prom.txt");
    let a = parse_all(&with_meta, Format::PrometheusText, false);
    let b = parse_all(&without, Format::PrometheusText, false);
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.name, y.name);
        assert_eq!(x.value.to_bits(), y.value.to_bits(), "{}", x.name);
        assert_eq!(x.timestamp_ms, y.timestamp_ms);
        assert_eq!(y.metric_type, MetricType::Unknown);
        for ((xn, xv), (yn, yv)) in x.labels.iter().zip(&y.labels) {
            assert_eq!(xn, yn);
            if xv != yv {
                // Only le/quantile may differ, by spelling, not by value.
                assert!(
                    xn == "le" || xn == "quantile",
                    "{}: {xn}={xv:?} vs {yv:?}",
                    x.name
                );
                assert_eq!(xv.parse::<f64>().ok(), yv.parse::<f64>().ok());
            }
        }
    }
    let types: HashMap<MetricType, usize> = a.iter().fold(HashMap::new(), |mut m, s| {
        *m.entry(s.metric_type).or_default() += 1;
        m
    });
    for kind in [
        MetricType::Counter,
        MetricType::Gauge,
        MetricType::Histogram,
        MetricType::Summary,
    ] {
        assert!(
            types.get(&kind).copied().unwrap_or(0) > 0,
            "no {kind} samples: {types:?}"
        );
    }
}

#[test]
fn openmetrics_corpus_spot_checks() {
    let Some(dir) = support::shared_conformance_dir() else {
        return;
    };
    let body = read(&dir, "alltypes.5mfs.om.txt");
    let s = parse_all(&body, Format::OpenMetrics, false);
    assert!(s.iter().all(|s| !s.name.ends_with("_created")));
    // A bucket with an exemplar: value kept, exemplar dropped.
    let b = s
        .iter()
        .find(|s| label(s, "le") == Some("-0.0002899999999999998"))
        .expect("bucket with exemplar");
    assert_eq!(b.value, 3.0);
    assert_eq!(b.timestamp_ms, None);
    assert_eq!(b.metric_type, MetricType::Histogram);
    let c = s
        .iter()
        .find(|s| s.name == "rpc_requests_total")
        .expect("counter");
    assert_eq!(c.metric_type, MetricType::Counter);
    assert_eq!(c.value, 22.0);

    let body = read(&dir, "dump-openmetrics-roundtrip-test.prom");
    let s = parse_all(&body, Format::OpenMetrics, false);
    assert_eq!(s[0].timestamp_ms, Some(1_700_215_884_373));
    assert_eq!(s[0].value, 1.0267820369e10);
    assert!(s.iter().all(|s| s.timestamp_ms.is_some()));

    let body = read(&dir, "dump-openmetrics-test.prom");
    let s = parse_all(&body, Format::OpenMetrics, false);
    let ts: Vec<i64> = s.iter().take(5).filter_map(|s| s.timestamp_ms).collect();
    assert_eq!(ts, [0, 60_000, 120_000, 180_000, 240_000]);

    let body = read(&dir, "1histogram.om.txt");
    let s = parse_all(&body, Format::OpenMetrics, false);
    assert!(s.iter().any(|s| label(s, "le") == Some("10.0") && s.value == 1.0));
}

#[test]
fn corpus_truncated_openmetrics_fails_with_missing_eof() {
    let Some(dir) = support::shared_conformance_dir() else {
        return;
    };
    let body = read(&dir, "alltypes.5mfs.om.txt");
    let cut = &body[..body.len() - "# EOF\n".len()];
    let err = Parser::new(cut, Format::OpenMetrics)
        .find_map(Result::err)
        .expect("a body without # EOF is an error");
    assert!(err.message.contains("# EOF"), "{err}");
}
