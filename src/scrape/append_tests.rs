use std::time::Duration;

use super::*;
use crate::model::{Matcher, is_stale_nan};
use crate::selfmetrics::Registry;
use crate::tsdb::suite::select_all;
use crate::tsdb::{ExemplarStore, MemStorage};

fn target() -> Labels {
    Labels::from_pairs(&[("instance", "h:9100"), ("job", "node")])
}

fn ok(body: &str) -> Result<Fetched, ScrapeFailure> {
    Ok(Fetched {
        body: body.as_bytes().to_vec(),
        content_type: Some("text/plain; version=0.0.4".into()),
    })
}

struct Harness {
    storage: MemStorage,
    metrics: ScrapeMetrics,
    opts: ScrapeOptions,
    cache: SeriesCache,
    exemplars: ExemplarStore,
}

impl Harness {
    fn new(opts: ScrapeOptions) -> Self {
        Harness {
            storage: MemStorage::new(),
            metrics: ScrapeMetrics::new(&Registry::new()),
            opts,
            cache: SeriesCache::default(),
            exemplars: ExemplarStore::new(100, &Registry::new()),
        }
    }

    fn scrape(&mut self, fetched: Result<Fetched, ScrapeFailure>, ts: i64) -> ScrapeResult {
        let target = target();
        let sink = Sink {
            storage: &self.storage,
            target: &target,
            opts: &self.opts,
            metrics: &self.metrics,
            exemplars: Some(&self.exemplars),
        };
        store_scrape(&sink, fetched, ts, Duration::from_millis(5), &mut self.cache)
    }

    /// Every stored sample of the series named `name`.
    fn series(&self, name: &str) -> Vec<(Labels, i64, f64)> {
        select_all(
            &self.storage,
            &[Matcher::equal("__name__", name)],
            i64::MIN,
            i64::MAX,
        )
        .into_iter()
        .flat_map(|(l, samples)| samples.into_iter().map(move |(t, v)| (l.clone(), t, v)))
        .collect()
    }

    fn value(&self, name: &str, ts: i64) -> Vec<(Labels, f64)> {
        self.series(name)
            .into_iter()
            .filter(|(_, t, _)| *t == ts)
            .map(|(l, _, v)| (l, v))
            .collect()
    }
}

fn default_opts() -> ScrapeOptions {
    ScrapeOptions {
        honor_timestamps: true,
        ..ScrapeOptions::default()
    }
}

fn rules(yaml: &str) -> Vec<RelabelConfig> {
    serde_norway::from_str(yaml).unwrap()
}

#[test]
fn samples_and_report_series_get_target_labels() {
    let mut h = Harness::new(default_opts());
    let r = h.scrape(
        ok("# TYPE a counter\n# HELP a An a.\na_total{x=\"1\"} 3\nb 4\n"),
        1000,
    );
    assert!(r.error.is_none(), "{:?}", r.error);
    let a = h.value("a_total", 1000);
    assert_eq!(
        a[0].0,
        Labels::from_pairs(&[
            ("__name__", "a_total"),
            ("instance", "h:9100"),
            ("job", "node"),
            ("x", "1")
        ])
    );
    assert_eq!(a[0].1, 3.0);
    assert_eq!(
        h.value("up", 1000)[0],
        (
            Labels::from_pairs(&[("__name__", "up"), ("instance", "h:9100"), ("job", "node")]),
            1.0
        )
    );
    assert_eq!(h.value("scrape_samples_scraped", 1000)[0].1, 2.0);
    assert_eq!(h.value("scrape_samples_post_metric_relabeling", 1000)[0].1, 2.0);
    assert_eq!(h.value("scrape_series_added", 1000)[0].1, 2.0);
    assert!((h.value("scrape_duration_seconds", 1000)[0].1 - 0.005).abs() < 1e-9);
    let md = r.metadata.unwrap();
    assert_eq!(
        (md[0].metric.as_str(), md[0].kind.as_str(), md[0].help.as_str()),
        ("a", "counter", "An a.")
    );

    // Second scrape: same series, nothing added.
    h.scrape(ok("a_total{x=\"1\"} 4\nb 5\n"), 2000);
    assert_eq!(h.value("scrape_series_added", 2000)[0].1, 0.0);
}

#[test]
fn honor_labels_false_exports_conflicts() {
    let mut h = Harness::new(default_opts());
    h.scrape(ok("m{job=\"inner\",exported_job=\"x\",instance=\"i\"} 1\n"), 1000);
    let m = &h.value("m", 1000)[0].0;
    assert_eq!(m.get("job"), Some("node"));
    assert_eq!(m.get("instance"), Some("h:9100"));
    assert_eq!(m.get("exported_instance"), Some("i"));
    assert_eq!(m.get("exported_job"), Some("x"), "the scraped exported_job stays");
    assert_eq!(m.get("exported_exported_job"), Some("inner"));
}

#[test]
fn honor_labels_true_keeps_scraped_values() {
    let mut h = Harness::new(ScrapeOptions {
        honor_labels: true,
        ..default_opts()
    });
    h.scrape(ok("m{job=\"inner\"} 1\n"), 1000);
    let m = &h.value("m", 1000)[0].0;
    assert_eq!(m.get("job"), Some("inner"));
    assert_eq!(m.get("instance"), Some("h:9100"));
    assert_eq!(m.get("exported_job"), None);
}

#[test]
fn metric_relabel_drop_and_counts() {
    let mut h = Harness::new(ScrapeOptions {
        metric_relabel_configs: rules("- {source_labels: [__name__], regex: 'go_.*', action: drop}"),
        ..default_opts()
    });
    h.scrape(ok("go_gc 1\ngo_threads 2\nkeep_me 3\n"), 1000);
    assert!(h.value("go_gc", 1000).is_empty());
    assert_eq!(h.value("keep_me", 1000).len(), 1);
    assert_eq!(h.value("scrape_samples_scraped", 1000)[0].1, 3.0);
    assert_eq!(h.value("scrape_samples_post_metric_relabeling", 1000)[0].1, 1.0);
}

#[test]
fn sample_limit_fails_the_whole_scrape() {
    let mut h = Harness::new(ScrapeOptions {
        sample_limit: 2,
        ..default_opts()
    });
    let r = h.scrape(ok("a 1\nb 2\nc 3\n"), 1000);
    let e = r.error.unwrap().to_string();
    assert!(e.contains("sample limit exceeded"), "{e}");
    assert!(
        h.value("a", 1000).is_empty(),
        "nothing of a failed scrape is stored"
    );
    assert_eq!(h.value("up", 1000)[0].1, 0.0);
    assert_eq!(h.metrics.sample_limit_exceeded.get(), 1);
    assert_eq!(h.metrics.failures.get(), 1);
}

/// Each label limit fails the scrape with its own message and counts under
/// its own `limit` label; the other two stay at zero.
#[test]
fn each_label_limit_fails_the_scrape_and_counts_under_its_name() {
    let cases = [
        (
            ScrapeOptions {
                label_limit: 4,
                ..default_opts()
            },
            "a{x=\"1\",y=\"2\"} 1\n",
            LabelLimit::Count,
            "label_limit exceeded (metric: a, number of labels: 5, limit: 4)",
        ),
        (
            ScrapeOptions {
                label_name_length_limit: 8,
                ..default_opts()
            },
            "a{short=\"1\",much_longer=\"2\"} 1\n",
            LabelLimit::NameLength,
            "label_name_length_limit exceeded (metric: a, label name: much_longer, length: 11, limit: 8)",
        ),
        (
            ScrapeOptions {
                // The target's own `instance="h:9100"` is 6 long.
                label_value_length_limit: 6,
                ..default_opts()
            },
            "a{x=\"longer1\"} 1\n",
            LabelLimit::ValueLength,
            "label_value_length_limit exceeded (metric: a, label name: x, length: 7, limit: 6)",
        ),
    ];
    for (opts, body, hit, message) in cases {
        let mut h = Harness::new(opts);
        // Within every limit first: the same options accept a plain series.
        assert!(h.scrape(ok("a{x=\"1\"} 1\n"), 500).error.is_none(), "{message}");
        let e = h.scrape(ok(body), 1000).error.unwrap();
        assert!(
            matches!(e, ScrapeFailure::LabelLimit { limit, .. } if limit == hit),
            "{e:?}"
        );
        assert_eq!(e.to_string(), message);
        assert_eq!(h.value("up", 1000)[0].1, 0.0);
        for limit in LabelLimit::ALL {
            let want = u64::from(limit == hit);
            assert_eq!(
                h.metrics.label_limit(limit).get(),
                want,
                "{} after {message}",
                limit.as_str()
            );
        }
    }
}

#[test]
fn label_limit_counter_is_rendered_with_a_limit_label() {
    let registry = Registry::new();
    let metrics = ScrapeMetrics::new(&registry);
    metrics.label_limit(LabelLimit::NameLength).inc();
    let text = registry.render();
    for (limit, v) in [
        ("label_limit", 0),
        ("label_name_length_limit", 1),
        ("label_value_length_limit", 0),
    ] {
        let line = format!("belfry_scrape_label_limit_exceeded_total{{limit=\"{limit}\"}} {v}");
        assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
    }
}

#[test]
fn malformed_body_commits_nothing_but_the_report() {
    let mut h = Harness::new(default_opts());
    let r = h.scrape(ok("good 1\nbad{x=} 2\n"), 1000);
    let e = r.error.unwrap().to_string();
    assert!(e.starts_with("parse error: line 2, column"), "{e}");
    assert!(h.value("good", 1000).is_empty());
    assert_eq!(h.value("up", 1000)[0].1, 0.0);
    assert_eq!(h.value("scrape_samples_scraped", 1000)[0].1, 1.0);
}

#[test]
fn vanished_series_and_failures_get_staleness_markers() {
    let mut h = Harness::new(default_opts());
    h.scrape(ok("a 1\nb 2\nc{x=\"1\"} 5 500\n"), 1000);
    h.scrape(ok("a 1\n"), 2000);
    let b = h.value("b", 2000);
    assert!(is_stale_nan(b[0].1), "b vanished: stale at the next scrape");
    assert!(
        h.value("c", 2000).is_empty(),
        "explicit timestamps are not staled"
    );
    assert_eq!(h.value("a", 2000)[0].1, 1.0);

    let r = h.scrape(Err(ScrapeFailure::Status("503 Service Unavailable".into())), 3000);
    assert!(r.error.is_some());
    assert!(
        is_stale_nan(h.value("a", 3000)[0].1),
        "a failed scrape stales the last series"
    );
    assert_eq!(h.value("up", 3000)[0].1, 0.0);
    // A second failure does not mark again.
    h.scrape(Err(ScrapeFailure::Status("503 Service Unavailable".into())), 4000);
    assert!(h.value("a", 4000).is_empty());

    h.scrape(ok("a 7\n"), 5000);
    store_end_of_run(&h.storage, &target(), &h.cache, 6000, &h.metrics);
    assert!(is_stale_nan(h.value("a", 6000)[0].1));
    assert!(is_stale_nan(h.value("up", 6000)[0].1));
}

#[test]
fn timestamps_honored_or_not() {
    let mut h = Harness::new(default_opts());
    h.scrape(ok("a 1 500\n"), 1000);
    assert_eq!(h.series("a")[0].1, 500);
    let mut h = Harness::new(ScrapeOptions {
        honor_timestamps: false,
        ..default_opts()
    });
    h.scrape(ok("a 1 500\n"), 1000);
    assert_eq!(h.series("a")[0].1, 1000);
}

#[test]
fn refused_samples_are_counted_not_fatal() {
    let mut h = Harness::new(default_opts());
    h.scrape(ok("a 1 5000\n"), 1000);
    let r = h.scrape(ok("a 2 4000\nb 1\n"), 2000);
    assert!(r.error.is_none());
    assert_eq!(h.metrics.out_of_order.get(), 1);
    assert_eq!(h.value("b", 2000).len(), 1);
}

#[test]
fn openmetrics_by_content_type() {
    let mut h = Harness::new(default_opts());
    let r = h.scrape(
        Ok(Fetched {
            body: b"# TYPE a_seconds counter\n# UNIT a_seconds seconds\na_seconds_total 1\n# EOF\n".to_vec(),
            content_type: Some("application/openmetrics-text; version=1.0.0".into()),
        }),
        1000,
    );
    assert!(r.error.is_none(), "{:?}", r.error);
    assert_eq!(r.metadata.unwrap()[0].unit, "seconds");
    // Without `# EOF` OpenMetrics is malformed.
    let r = h.scrape(
        Ok(Fetched {
            body: b"a_total 1\n".to_vec(),
            content_type: Some("application/openmetrics-text; version=1.0.0".into()),
        }),
        2000,
    );
    assert!(r.error.is_some());
}

fn openmetrics(body: &str) -> Result<Fetched, ScrapeFailure> {
    Ok(Fetched {
        body: body.as_bytes().to_vec(),
        content_type: Some("application/openmetrics-text; version=1.0.0".into()),
    })
}

#[test]
fn exemplars_are_kept_under_the_relabeled_series() {
    let mut h = Harness::new(ScrapeOptions {
        metric_relabel_configs: rules(
            "- {source_labels: [le], regex: '0.5', action: drop}\n\
             - {target_label: region, replacement: eu}",
        ),
        ..default_opts()
    });
    let body = "# TYPE req histogram\n\
                req_bucket{le=\"0.1\"} 1 # {trace_id=\"a\"} 0.05 1.5\n\
                req_bucket{le=\"0.5\"} 2 # {trace_id=\"dropped\"} 0.3\n\
                req_bucket{le=\"+Inf\"} 3 # {trace_id=\"c\"} 7\n\
                req_count 3\n\
                req_sum 7.35\n\
                # EOF\n";
    let r = h.scrape(openmetrics(body), 5000);
    assert!(r.error.is_none(), "{:?}", r.error);
    let any = Matcher::new(crate::model::MatchOp::Regex, "__name__", ".+").unwrap();
    let found = h.exemplars.select(i64::MIN, i64::MAX, &[vec![any]]);
    let got: Vec<(String, String, String, f64, i64)> = found
        .iter()
        .flat_map(|s| {
            s.exemplars.iter().map(|e| {
                (
                    s.series_labels.get("le").unwrap_or("").to_string(),
                    s.series_labels.get("region").unwrap_or("").to_string(),
                    e.labels.get("trace_id").unwrap_or("").to_string(),
                    e.value,
                    e.ts,
                )
            })
        })
        .collect();
    // Its own timestamp (1.5 s) or the scrape's; the dropped series' none.
    assert_eq!(
        got,
        [
            ("+Inf".into(), "eu".into(), "c".into(), 7.0, 5000),
            ("0.1".into(), "eu".into(), "a".into(), 0.05, 1500),
        ]
    );
    assert_eq!(found[0].series_labels.get("job"), Some("node"));
}

#[test]
fn a_failed_scrape_keeps_no_exemplars() {
    let mut h = Harness::new(ScrapeOptions {
        sample_limit: 1,
        ..default_opts()
    });
    let body = "a_total 1 # {trace_id=\"x\"} 1\nb_total 1 # {trace_id=\"y\"} 1\n# EOF\n";
    let r = h.scrape(openmetrics(body), 1000);
    assert!(matches!(r.error, Some(ScrapeFailure::SampleLimit { .. })));
    let any = Matcher::new(crate::model::MatchOp::Regex, "__name__", ".+").unwrap();
    assert!(h.exemplars.select(i64::MIN, i64::MAX, &[vec![any]]).is_empty());
}
