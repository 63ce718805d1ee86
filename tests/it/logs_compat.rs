//! Logs written by an older format stay readable: `tests/fixtures/logs-v1/`
//! is a logs directory written by index format 1 (`seq` and `timestamp`
//! indexed as terms) — two day indexes and one record left only in the
//! WAL. Today's build opens it as it is, replays the WAL into the format-1
//! day, finds every record with filters, phrases and context, and creates
//! new days in the current format beside the old ones.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use belfry::logql::{Direction, LogqlEngine, QueryData, QueryLimits, RangeParams};
use belfry::logs::index::{Filter, INDEX_FORMAT_VERSION, META_FILE, ReadBudget, SearchQuery};
use belfry::logs::{Entry, Level, LogStore, LogStoreOptions};
use belfry::promql::EngineOptions;
use belfry::selfmetrics::Registry;
use serde_json::json;

/// 2025-12-05T12:00:00Z, the fixture's clock.
const T0: i64 = 1_764_936_000_000_000_000;
const DAY: i64 = 86_400_000_000_000;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn open(dir: &Path, now: i64) -> LogStore {
    let opts = LogStoreOptions {
        commit_interval: Duration::from_secs(3600),
        retention_interval: None,
        clock: Arc::new(move || now),
        ..LogStoreOptions::default()
    };
    LogStore::open(dir, opts, &Registry::default()).unwrap()
}

fn query(text: &str, filters: Vec<Filter>) -> SearchQuery {
    SearchQuery {
        text: text.into(),
        start_ns: 0,
        end_ns: i64::MAX,
        filters,
        limit: 100,
        offset: 0,
        buckets: 10,
    }
}

fn messages(store: &LogStore, text: &str, filters: Vec<Filter>) -> Vec<String> {
    store
        .search(&query(text, filters), &ReadBudget::unlimited())
        .unwrap()
        .lines
        .into_iter()
        .map(|l| l.message)
        .collect()
}

fn format_of(day_dir: &Path) -> u64 {
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(day_dir.join(META_FILE)).unwrap()).unwrap();
    meta["format_version"].as_u64().unwrap()
}

/// A record as a shipper would send it: `fields` (a JSON object) at `ts`.
fn entry_at(ts: i64, fields: serde_json::Value, labels: Vec<(String, String)>) -> Entry {
    let serde_json::Value::Object(fields) = fields else {
        panic!("fields must be a JSON object: {fields}")
    };
    Entry {
        timestamp_ns: Some(ts),
        labels,
        fields,
        ..Entry::default()
    }
}

/// A copy of `tests/fixtures/logs-vN/logs` in a temporary directory (kept
/// while the first value lives); both its days are of format `version`.
fn fixture_copy(version: u64) -> (tempfile::TempDir, PathBuf) {
    let fixture =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/logs-v{version}/logs"));
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("logs");
    copy_dir(&fixture, &dir);
    for day in ["2025-12-04", "2025-12-05"] {
        assert_eq!(format_of(&dir.join("index").join(day)), version, "{day}");
    }
    (tmp, dir)
}

#[test]
fn format_1_logs_open_replay_and_answer_every_query() {
    let (_tmp, dir) = fixture_copy(1);
    let index = dir.join("index");

    let store = open(&dir, T0);
    let all = store
        .search(&query("", vec![]), &ReadBudget::unlimited())
        .unwrap();
    let got: Vec<(&str, Level, &str)> = all
        .lines
        .iter()
        .map(|l| (l.message.as_str(), l.level, l.service.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("login ok after replay", Level::Info, "lms-auth"),
            ("cache miss for course outline", Level::Debug, "lms-api"),
            ("database connection pool exhausted", Level::Critical, "lms-api"),
            ("grade export slower than 2s", Level::Warning, "lms-worker"),
            ("grading failed for quiz submission", Level::Error, "lms-grader"),
            ("GET /api/v1/courses/1042 200", Level::Info, "lms-api"),
        ],
        "the five committed records and the one replayed from the WAL, newest first"
    );
    assert_eq!(all.total, 6);

    // Every field of a format-1 line reads back.
    let first = all.lines.last().unwrap();
    assert_eq!(first.timestamp_ns, T0 - DAY - 5_000_000_000);
    assert_eq!(
        first.request_id.as_deref(),
        Some("7d0c1f7e-0b1a-4a53-9a8e-3c2f9f0a1b2c")
    );
    assert_eq!(first.user.as_deref(), Some("u_1f2e3d4c5b6a7988"));
    assert_eq!(first.path.as_deref(), Some("/api/v1/courses/1042"));
    assert_eq!(first.status, Some(200));
    assert!(
        (first.duration.unwrap() - 0.0125).abs() < 1e-12,
        "{:?}",
        first.duration
    );
    assert_eq!(
        serde_json::Value::Object(first.labels.clone()),
        json!({"env": "prod", "host": "web-1"})
    );
    assert_eq!(
        serde_json::Value::Object(first.fields.clone()),
        json!({"course_id": 1042})
    );
    let critical = &all.lines[2];
    assert_eq!(
        critical.error.as_deref(),
        Some("OperationalError: too many clients already")
    );
    assert_eq!(
        serde_json::Value::Object(critical.fields.clone()),
        json!({"pool": {"size": 20, "waiting": 57}})
    );

    // Words, phrases, exact filters and time ranges on format-1 days.
    assert_eq!(
        messages(&store, "\"connection pool\"", vec![]),
        ["database connection pool exhausted"]
    );
    assert_eq!(
        messages(&store, "rubric", vec![]),
        ["grading failed for quiz submission"]
    );
    assert_eq!(
        messages(
            &store,
            "",
            vec![Filter::RequestId("0a9b8c7d-6e5f-4a3b-8c1d-2e3f4a5b6c7d".into())]
        ),
        ["grading failed for quiz submission"]
    );
    assert_eq!(
        messages(&store, "", vec![Filter::Field("host".into(), "worker-2".into())]),
        ["grade export slower than 2s"]
    );
    assert_eq!(
        messages(
            &store,
            "",
            vec![Filter::Field("task".into(), "grades.export".into())]
        ),
        ["grade export slower than 2s"]
    );
    let mut day_one = query("", vec![Filter::Level(vec![Level::Error, Level::Info])]);
    day_one.end_ns = T0 - DAY;
    let day_one: Vec<String> = store
        .search(&day_one, &ReadBudget::unlimited())
        .unwrap()
        .lines
        .into_iter()
        .map(|l| l.message)
        .collect();
    assert_eq!(
        day_one,
        [
            "grading failed for quiz submission",
            "GET /api/v1/courses/1042 200"
        ]
    );

    // Context finds a line by its id on a format-1 day, and its service's
    // next line on the next day.
    let (line, around) = store.context(first.id, None, 1, 1).unwrap();
    assert_eq!(line.message, "GET /api/v1/courses/1042 200");
    let around: Vec<&str> = around.iter().map(|l| l.message.as_str()).collect();
    assert_eq!(
        around,
        [
            "GET /api/v1/courses/1042 200",
            "database connection pool exhausted"
        ]
    );

    // A new day is created in the current format; the old days keep theirs
    // and take new records too.
    let later = |ts: i64, msg: &str| {
        entry_at(
            ts,
            json!({"level": "info", "service": "lms-api", "msg": msg}),
            vec![],
        )
    };
    store
        .ingest(
            "test",
            vec![
                later(T0 + DAY / 2, "tomorrow's record"),
                later(T0 + 1, "today's second record"),
            ],
        )
        .unwrap();
    store.flush().unwrap();
    store.close().unwrap();
    drop(store);
    assert_eq!(
        format_of(&index.join("2025-12-06")),
        u64::from(INDEX_FORMAT_VERSION)
    );
    assert_eq!(format_of(&index.join("2025-12-05")), 1);

    let store = open(&dir, T0 + DAY / 2 + 1);
    let all = store
        .search(&query("record", vec![]), &ReadBudget::unlimited())
        .unwrap();
    let got: Vec<String> = all.lines.into_iter().map(|l| l.message).collect();
    assert_eq!(got, ["tomorrow's record", "today's second record"]);
    let (line, _) = store.context(first.id + 1, None, 0, 0).unwrap();
    assert_eq!(line.message, "grading failed for quiz submission");
    store.close().unwrap();
}

fn engine(store: LogStore) -> LogqlEngine {
    LogqlEngine::new(
        Arc::new(store),
        QueryLimits::default(),
        EngineOptions::default(),
        &Registry::default(),
    )
}

/// The lines of a LogQL log query over the whole fixture, newest first.
fn logql_lines(engine: &LogqlEngine, query: &str) -> Vec<String> {
    let params = RangeParams {
        start_ns: T0 - 3 * DAY,
        end_ns: T0 + DAY,
        step_ns: 60_000_000_000,
        limit: 100,
        direction: Direction::Backward,
    };
    let QueryData::Streams(streams) = engine.query_range(query, &params).unwrap().data else {
        panic!("{query}: not a log query")
    };
    let mut lines: Vec<(i64, String)> = streams.into_iter().flat_map(|s| s.entries).collect();
    lines.sort_by_key(|(t, _)| std::cmp::Reverse(*t));
    lines.into_iter().map(|(_, l)| l).collect()
}

/// A LogQL metric query's single value at `T0 + 1 s`.
fn logql_value(engine: &LogqlEngine, query: &str) -> f64 {
    let QueryData::Vector(v) = engine.query_instant(query, T0 + 1_000_000_000).unwrap().data else {
        panic!("{query}: not an instant vector")
    };
    v.iter().map(|s| s.v).sum()
}

/// `tests/fixtures/logs-v2/` is a logs directory written by index format
/// 2 (request ids as terms, durations as `f64`): two days and one record
/// only in the WAL. Today's build replays it, finds request ids through
/// the old days' terms, answers LogQL over them, and writes new days in
/// the current format beside them.
#[test]
fn format_2_logs_open_replay_and_answer_search_and_logql() {
    let (_tmp, dir) = fixture_copy(2);
    let index = dir.join("index");

    let store = open(&dir, T0);
    let all = store
        .search(&query("", vec![]), &ReadBudget::unlimited())
        .unwrap();
    let got: Vec<&str> = all.lines.iter().map(|l| l.message.as_str()).collect();
    assert_eq!(
        got,
        [
            "login ok after replay",
            "cache miss for course outline",
            "database connection pool exhausted",
            "task grades.export[5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b] slower than 2s",
            "grading failed for quiz submission",
            "GET /api/v1/courses/1042 200",
        ],
        "five committed records and the one replayed from the WAL, newest first"
    );
    let first = all.lines.last().unwrap();
    assert_eq!(first.duration, Some(0.0125), "an f64 duration of a format-2 day");
    assert_eq!(first.user.as_deref(), Some("u_1f2e3d4c5b6a7988"));
    assert_eq!(
        messages(
            &store,
            "",
            vec![Filter::RequestId("7d0c1f7e-0b1a-4a53-9a8e-3c2f9f0a1b2c".into())]
        ),
        ["cache miss for course outline", "GET /api/v1/courses/1042 200"],
        "a request id across both format-2 days, from their terms"
    );
    assert_eq!(
        messages(&store, "\"connection pool\"", vec![]),
        ["database connection pool exhausted"]
    );

    // New records: today's day is format 2 and takes them as it is; the
    // next day is created in the current format.
    let later = |ts: i64, request_id: &str, msg: &str| {
        entry_at(
            ts,
            json!({
                "level": "info", "service": "lms-api", "request_id": request_id,
                "duration_ms": 20.3, "msg": msg,
            }),
            vec![("app".into(), "lms".into()), ("env".into(), "prod".into())],
        )
    };
    store
        .ingest(
            "test",
            vec![
                later(
                    T0 + 500_000_000,
                    "7d0c1f7e-0b1a-4a53-9a8e-3c2f9f0a1b2c",
                    "same request, later",
                ),
                later(
                    T0 + DAY / 2,
                    "7d0c1f7e-0b1a-4a53-9a8e-3c2f9f0a1b2c",
                    "same request, next day",
                ),
                later(
                    T0 + DAY / 2 + 1,
                    "f00dfeed-0000-4000-8000-000000000001",
                    "another request, next day",
                ),
            ],
        )
        .unwrap();
    store.flush().unwrap();
    assert_eq!(format_of(&index.join("2025-12-05")), 2);
    assert_eq!(
        format_of(&index.join("2025-12-06")),
        u64::from(INDEX_FORMAT_VERSION)
    );
    assert_eq!(
        messages(
            &store,
            "",
            vec![Filter::RequestId("7d0c1f7e-0b1a-4a53-9a8e-3c2f9f0a1b2c".into())]
        ),
        [
            "same request, next day",
            "same request, later",
            "cache miss for course outline",
            "GET /api/v1/courses/1042 200"
        ],
        "one request id over format-2 terms and the format-3 hash column"
    );
    let next_day = store
        .search(
            &query(
                "",
                vec![Filter::RequestId("f00dfeed-0000-4000-8000-000000000001".into())],
            ),
            &ReadBudget::unlimited(),
        )
        .unwrap();
    assert_eq!(next_day.lines.len(), 1);
    assert_eq!(
        next_day.lines[0].duration,
        Some(0.0203),
        "nanoseconds of a format-3 day"
    );

    let engine = engine(store);
    assert_eq!(
        logql_lines(
            &engine,
            r#"{app="lms", request_id="7d0c1f7e-0b1a-4a53-9a8e-3c2f9f0a1b2c"}"#
        ),
        [
            "same request, next day",
            "same request, later",
            "cache miss for course outline",
            "GET /api/v1/courses/1042 200"
        ]
    );
    assert_eq!(
        logql_lines(&engine, r#"{app="lms", request_id=~"f00d.*|0a9b.*"}"#),
        ["another request, next day", "grading failed for quiz submission"]
    );
    assert_eq!(
        logql_lines(&engine, r#"{env="prod"} |= "grades.export" |= "slower""#),
        ["task grades.export[5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b] slower than 2s"]
    );
    assert_eq!(
        logql_lines(
            &engine,
            r#"{service="lms-grader"} | request_id="0a9b8c7d-6e5f-4a3b-8c1d-2e3f4a5b6c7d""#
        ),
        ["grading failed for quiz submission"]
    );
    assert_eq!(
        logql_value(&engine, r#"sum(count_over_time({app="lms"}[3d]))"#),
        7.0,
        "the six fixture lines and today's new one"
    );
    assert_eq!(
        logql_value(
            &engine,
            r#"sum(count_over_time({request_id="7d0c1f7e-0b1a-4a53-9a8e-3c2f9f0a1b2c"}[3d]))"#
        ),
        3.0
    );
    engine.store().close().unwrap();
}
