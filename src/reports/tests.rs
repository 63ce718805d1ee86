//! Reports built over an in-memory store: sections carry the data, a
//! missing metric is "no data", a query that fails is a failed block, and
//! the history's alerts are counted.

use std::sync::Arc;

use crate::config::ReportsConfig;
use crate::model::Labels;
use crate::promql::EngineOptions;
use crate::rules::{AlertHistory, AlertTransition};
use crate::selfmetrics::Registry;
use crate::state::StateStore;
use crate::tsdb::{MemStorage, Storage};

use super::model::{Block, Period, Report};
use super::{Sources, build_report, html_mail, text};

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
/// 2026-03-10 00:00 UTC.
const END: i64 = 1_773_100_800_000;

fn sources(storage: Arc<MemStorage>, options: EngineOptions) -> Sources {
    Sources {
        storage,
        query_options: options,
        registry: Registry::new(),
        logql: None,
        errors: None,
        history: None,
        audit: None,
        limit_hits: None,
    }
}

/// Appends series in one batch, in time order across them (the store
/// refuses a sample older than what it already holds by too much).
/// A series' labels and its value at a time.
type SeriesFn<'a> = (Vec<(&'a str, &'a str)>, &'a dyn Fn(i64) -> f64);

fn append(storage: &MemStorage, series: &[SeriesFn], times: &[i64]) {
    let labels: Vec<Labels> = series.iter().map(|(p, _)| Labels::from_pairs(p)).collect();
    let mut app = storage.appender();
    for &t in times {
        for (l, (_, f)) in labels.iter().zip(series) {
            app.append(l, t, f(t)).unwrap();
        }
    }
    app.commit().unwrap();
}

fn hourly_week() -> Vec<i64> {
    (0..=7 * 24).map(|h| END - 7 * DAY + h * HOUR).collect()
}

fn section<'a>(r: &'a Report, id: &str) -> &'a [Block] {
    &r.sections
        .iter()
        .find(|s| s.id == id)
        .unwrap_or_else(|| panic!("no section {id}"))
        .blocks
}

fn week() -> Period {
    Period {
        start_ms: END - 7 * DAY,
        end_ms: END,
    }
}

#[test]
fn capacity_forecasts_a_filling_disk_and_says_no_data_for_the_rest() {
    let storage = Arc::new(MemStorage::new());
    // 100 GB; free space falls from 60 GB by 4 GB a day: 40% used a week
    // ago, 68% now, 90% in 5.5 days.
    let fs = [
        ("instance", "db1:9100"),
        ("mountpoint", "/var/lib/postgresql"),
        ("fstype", "ext4"),
    ];
    let mut size = vec![("__name__", "node_filesystem_size_bytes")];
    size.extend(fs);
    let mut avail = vec![("__name__", "node_filesystem_avail_bytes")];
    avail.extend(fs);
    let hours = |t: i64| (t - (END - 7 * DAY)) as f64 / HOUR as f64;
    append(
        &storage,
        &[(size, &|_| 100e9), (avail, &|t| 60e9 - 4e9 * hours(t) / 24.0)],
        &hourly_week(),
    );
    let src = sources(storage, EngineOptions::default());
    let r = build_report(
        &src,
        &ReportsConfig::default(),
        "weekly",
        week(),
        "http://belfry.example",
    )
    .unwrap();

    let Block::Table(t) = &section(&r, "disk")[1] else {
        panic!("{:?}", section(&r, "disk"))
    };
    let row: Vec<&str> = t.rows[0].iter().map(|c| c.text.as_str()).collect();
    assert_eq!(row[0], "db1:9100 /var/lib/postgresql");
    assert_eq!(row[1], "68.0%");
    assert_eq!(row[2], "+28.0 pp");
    assert_eq!(row[3], "90.0%");
    assert!(row[4].starts_with("in 5 d 12 h"), "{row:?}");

    for id in ["memory", "db_connections", "celery_queue", "redis_memory"] {
        assert!(
            matches!(section(&r, id), [Block::NoData { .. }]),
            "{id}: {:?}",
            section(&r, id)
        );
    }
    let html = html_mail(&r);
    assert!(html.contains("No data</strong>: memory"), "{html}");
    assert!(r.failed_sections().is_empty());
}

#[test]
fn a_query_that_fails_is_a_failed_section_in_the_mail() {
    let storage = Arc::new(MemStorage::new());
    append(
        &storage,
        &[(
            vec![("__name__", "celery_queue_length"), ("queue_name", "grading")],
            &|_| 10.0,
        )],
        &hourly_week(),
    );
    // Too small for a week of samples.
    let options = EngineOptions {
        max_samples: 10,
        ..EngineOptions::default()
    };
    let r = build_report(
        &sources(storage, options),
        &ReportsConfig::default(),
        "weekly",
        week(),
        "",
    )
    .unwrap();
    let blocks = section(&r, "celery_queue");
    let [Block::Failed { error, .. }] = blocks else {
        panic!("{blocks:?}")
    };
    assert!(error.contains("samples"), "{error}");
    assert_eq!(r.failed_sections(), vec!["Celery queue depth"]);
    let t = text(&r);
    assert!(t.contains("FAILED: celery queue depth"), "{t}");
}

#[test]
fn daily_counts_the_alert_history_and_names_missing_sources() {
    let dir = tempfile::tempdir().unwrap();
    let history = Arc::new(AlertHistory::new(StateStore::open(dir.path()).unwrap()));
    let change = |at_ms, name: &str, sev: &str, from: &str, to: &str| AlertTransition {
        at_ms,
        group: "lms-api-alerts".into(),
        alertname: name.into(),
        labels: [("severity".to_string(), sev.to_string())].into(),
        from: from.into(),
        to: to.into(),
        value: 1.0,
        summary: String::new(),
    };
    history
        .record(&[
            change(END - 2 * HOUR, "LMSAPIDown", "critical", "pending", "firing"),
            change(END - HOUR, "LMSAPIDown", "critical", "firing", "inactive"),
            change(
                END - 3 * HOUR,
                "LMSAPILatencyHigh",
                "warning",
                "pending",
                "firing",
            ),
            // Before the period: not counted.
            change(END - 2 * DAY, "LMSDBDown", "critical", "pending", "firing"),
        ])
        .unwrap();
    let mut src = sources(Arc::new(MemStorage::new()), EngineOptions::default());
    src.history = Some(history);
    let period = Period {
        start_ms: END - DAY,
        end_ms: END,
    };
    let r = build_report(&src, &ReportsConfig::default(), "daily", period, "http://b").unwrap();
    let Block::Figures(f) = &section(&r, "alerts")[0] else {
        panic!()
    };
    assert_eq!(
        (f[0].value.as_str(), f[1].value.as_str(), f[2].value.as_str()),
        ("2", "1", "1")
    );
    let Block::Table(t) = &section(&r, "alerts")[1] else {
        panic!()
    };
    assert_eq!(t.rows.len(), 2);
    assert_eq!(t.rows[0][0].text, "LMSAPIDown", "critical first");
    assert_eq!(t.rows[0][0].href, "http://b/alerts?q=LMSAPIDown");
    // No errors store or logs on this server: failed, with the reason.
    assert!(
        matches!(&section(&r, "errors")[0], Block::Failed { error, .. } if error.contains("no errors store"))
    );
    assert!(
        matches!(&section(&r, "logs")[0], Block::Failed { error, .. } if error.contains("no logs store"))
    );
    assert!(matches!(&section(&r, "endpoints")[0], Block::NoData { .. }));
    assert_eq!(
        r.url,
        format!("http://b/reports/daily?from={}&to={END}", END - DAY)
    );
}

#[test]
fn unknown_reports_are_refused() {
    let src = sources(Arc::new(MemStorage::new()), EngineOptions::default());
    let e = build_report(&src, &ReportsConfig::default(), "hourly", week(), "").unwrap_err();
    assert!(e.to_string().contains("\"hourly\""), "{e}");
}
