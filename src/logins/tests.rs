//! The detector against a recording sink, a moving clock and geo
//! databases written by the tests.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, UNIX_EPOCH};

use super::test_mmdb::{MmdbWriter, city_record};
use super::*;
use crate::config::{BurstConfig, LoginsConfig};
use crate::model::alert_recorder::AlertRecorder;
use crate::model::{LoginEvent, LoginEventSink, PromDuration};
use crate::selfmetrics::Registry;
use crate::state::StateStore;

const GB: &str = "81.2.69.160";
const US: &str = "216.160.83.56";
const SE: &str = "89.160.20.112";
/// In the database with a location too imprecise for travel.
const VAGUE_FR: &str = "2.16.0.9";
const HOUR: u64 = 3600;
const DAY: u64 = 86_400;

fn write_db(dir: &Path) -> PathBuf {
    let mut w = MmdbWriter::new("GeoLite2-City");
    w.insert(
        "81.2.69.0".parse().unwrap(),
        24,
        &city_record("GB", Some((51.5142, -0.0931, 10))),
    );
    w.insert(
        "216.160.83.0".parse().unwrap(),
        24,
        &city_record("US", Some((47.2513, -122.3149, 20))),
    );
    w.insert(
        "89.160.20.0".parse().unwrap(),
        24,
        &city_record("SE", Some((58.4167, 15.6167, 50))),
    );
    w.insert(
        "2.16.0.0".parse().unwrap(),
        16,
        &city_record("FR", Some((48.86, 2.35, 1000))),
    );
    let path = dir.join("City.mmdb");
    std::fs::write(&path, w.to_bytes()).unwrap();
    path
}

struct Fixture {
    _dir: tempfile::TempDir,
    db: PathBuf,
    store: Arc<StateStore>,
    sink: Arc<AlertRecorder>,
    now: Arc<AtomicU64>,
    registry: Arc<Registry>,
    detector: Arc<LoginDetector>,
}

fn config(db: &Path) -> LoginsConfig {
    let mut c = LoginsConfig {
        geoip_database: Some(db.display().to_string()),
        ..LoginsConfig::default()
    };
    c.failed_bursts.per_source = BurstConfig {
        threshold: 3,
        window: PromDuration::from_secs(60),
    };
    c.failed_bursts.per_user = BurstConfig {
        threshold: 3,
        window: PromDuration::from_secs(60),
    };
    c
}

fn fixture(edit: impl FnOnce(&mut LoginsConfig)) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let db = write_db(dir.path());
    let store = StateStore::open(dir.path()).unwrap();
    let mut c = config(&db);
    edit(&mut c);
    let sink = Arc::new(AlertRecorder::default());
    let now = Arc::new(AtomicU64::new(1_700_000_000));
    let registry = Registry::new();
    let detector = open(&store, &sink, &now, &registry, &c);
    Fixture {
        _dir: dir,
        db,
        store,
        sink,
        now,
        registry,
        detector,
    }
}

fn open(
    store: &Arc<StateStore>,
    sink: &Arc<AlertRecorder>,
    now: &Arc<AtomicU64>,
    registry: &Registry,
    c: &LoginsConfig,
) -> Arc<LoginDetector> {
    let clock_now = now.clone();
    let clock: Clock = Arc::new(move || UNIX_EPOCH + Duration::from_secs(clock_now.load(Ordering::SeqCst)));
    LoginDetector::with_clock(
        sink.clone(),
        Some(store.clone()),
        c,
        "http://belfry:9900",
        registry,
        clock,
    )
    .unwrap()
}

impl Fixture {
    /// A login at the clock's now, which then moves on by `after` seconds.
    fn login(&self, success: bool, user: Option<&str>, source: &str, after: u64) {
        let at = UNIX_EPOCH + Duration::from_secs(self.now.load(Ordering::SeqCst));
        self.detector.logins(vec![LoginEvent {
            at,
            success,
            user: user.map(str::to_string),
            source: Some(source.parse::<IpAddr>().unwrap()),
        }]);
        self.now.fetch_add(after, Ordering::SeqCst);
    }

    fn metric(&self, series: &str) -> f64 {
        let text = self.registry.render();
        text.lines()
            .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{series} not in {text}"))
    }
}

#[test]
fn a_new_country_alerts_but_not_a_first_login_nor_a_known_country() {
    let f = fixture(|_| {});
    f.login(true, Some("u_a"), GB, DAY);
    assert!(
        f.sink.take().is_empty(),
        "a first login has no history to differ from"
    );
    f.login(true, Some("u_a"), GB, DAY);
    f.login(true, Some("u_a"), US, DAY);
    let alert = f.sink.last();
    assert_eq!(f.sink.take(), [UNUSUAL_COUNTRY]);
    assert_eq!(
        alert.labels.to_string(),
        r#"{alertname="LMSUnusualLoginCountry", category="login_anomaly", country="US", severity="warning", source="216.160.83.56", user="u_a"}"#
    );
    assert_eq!(
        alert.starts_at,
        UNIX_EPOCH + Duration::from_secs(1_700_000_000 + 2 * DAY)
    );
    assert_eq!(alert.ends_at, alert.starts_at + Duration::from_secs(HOUR));
    // Both are known now.
    f.login(true, Some("u_a"), US, DAY);
    f.login(true, Some("u_a"), GB, DAY);
    assert!(f.sink.take().is_empty());
    assert_eq!(
        f.metric(r#"belfry_logins_alerts_total{alertname="LMSUnusualLoginCountry"}"#),
        1.0
    );
}

#[test]
fn countries_older_than_the_history_are_forgotten() {
    let f = fixture(|c| c.country_history = PromDuration::from_secs(30 * DAY));
    f.login(true, Some("u_a"), GB, 10 * DAY);
    f.login(true, Some("u_a"), SE, 25 * DAY);
    assert_eq!(f.sink.take(), [UNUSUAL_COUNTRY]);
    // GB was last seen 35 days ago, SE 25: GB is new again.
    f.login(true, Some("u_a"), GB, DAY);
    assert_eq!(f.sink.take(), [UNUSUAL_COUNTRY]);
    // Away longer than the history: no history, no alert.
    f.now.fetch_add(40 * DAY, Ordering::SeqCst);
    f.login(true, Some("u_a"), US, DAY);
    assert!(f.sink.take().is_empty());
}

#[test]
fn impossible_travel_needs_speed_distance_and_precise_places() {
    let f = fixture(|c| c.new_country = false);
    // London, then near Seattle an hour later: about 7,700 km/h.
    f.login(true, Some("u_a"), GB, HOUR);
    f.login(true, Some("u_a"), US, 0);
    let alert = f.sink.last();
    assert_eq!(f.sink.take(), [IMPOSSIBLE_TRAVEL]);
    assert_eq!(alert.labels.get("country"), Some("US"));
    assert!(
        alert
            .annotations
            .get("summary")
            .unwrap()
            .contains("after a login in GB")
    );
    // Back after a day: 320 km/h is possible.
    f.now.fetch_add(DAY, Ordering::SeqCst);
    f.login(true, Some("u_a"), GB, 60);
    assert!(f.sink.take().is_empty());
    // A place 1000 km vague is not used for travel.
    f.login(true, Some("u_a"), VAGUE_FR, 60);
    f.login(true, Some("u_a"), SE, 60);
    assert!(f.sink.take().is_empty());
    // A faster limit than any plane lets the same trip pass.
    let slow = fixture(|c| {
        c.new_country = false;
        c.max_speed_kmh = 10_000.0;
    });
    slow.login(true, Some("u_b"), GB, HOUR);
    slow.login(true, Some("u_b"), US, 0);
    assert!(slow.sink.take().is_empty());
}

#[test]
fn failed_login_bursts_fire_per_source_and_per_user_once_per_burst() {
    let f = fixture(|_| {});
    // Three users from one address within a minute.
    for user in ["u_1", "u_2", "u_3"] {
        f.login(false, Some(user), US, 10);
    }
    let alert = f.sink.last();
    assert_eq!(f.sink.take(), [BURST_SOURCE]);
    assert_eq!(alert.labels.get("source"), Some(US));
    assert_eq!(alert.labels.get("country"), Some("US"));
    assert_eq!(alert.labels.get("user"), None);
    // One user from three addresses.
    for source in ["198.51.100.1", "198.51.100.2", "198.51.100.3"] {
        f.login(false, Some("u_9"), source, 10);
    }
    let alert = f.sink.last();
    assert_eq!(f.sink.take(), [BURST_USER]);
    assert_eq!(alert.labels.get("user"), Some("u_9"));
    // The burst goes on: no re-send before a quarter of resolve_after.
    f.login(false, Some("u_9"), "198.51.100.4", 10);
    assert!(f.sink.take().is_empty());
    f.now.fetch_add(HOUR / 4, Ordering::SeqCst);
    for _ in 0..3 {
        f.login(false, Some("u_9"), "198.51.100.4", 1);
    }
    assert_eq!(f.sink.take(), [BURST_SOURCE, BURST_USER]);
    // Spread out over more than the window: nothing.
    for _ in 0..3 {
        f.login(false, Some("u_5"), "192.0.2.5", 61);
    }
    assert!(f.sink.take().is_empty());
    assert_eq!(f.metric(r#"belfry_logins_events_total{outcome="failure"}"#), 13.0);
}

#[test]
fn without_a_usable_geo_database_only_bursts_run_and_a_reload_fixes_it() {
    let f = fixture(|_| {});
    std::fs::write(&f.db, b"not a database").unwrap();
    f.detector.reconfigure(&config(&f.db));
    assert!(!f.detector.has_geo());
    assert_eq!(f.metric("belfry_logins_geoip_database_ok"), 0.0);
    assert_eq!(f.metric("belfry_logins_geoip_database_errors_total"), 1.0);
    f.login(true, Some("u_a"), GB, DAY);
    f.login(true, Some("u_a"), US, 60);
    for _ in 0..3 {
        f.login(false, Some("u_b"), GB, 1);
    }
    let source_alert = f.sink.0.lock()[0].clone();
    assert_eq!(f.sink.take(), [BURST_SOURCE, BURST_USER]);
    assert_eq!(source_alert.labels.get("source"), Some(GB));
    assert_eq!(
        source_alert.labels.get("country"),
        None,
        "no database, no country"
    );
    // Fixed and reloaded.
    write_db(f.db.parent().unwrap());
    f.detector.reconfigure(&config(&f.db));
    assert!(f.detector.has_geo());
    assert_eq!(f.metric("belfry_logins_geoip_database_ok"), 1.0);
    assert_eq!(f.metric("belfry_logins_geoip_database_loaded"), 1.0);
    // No database configured at all is not a problem.
    let mut none = config(&f.db);
    none.geoip_database = None;
    f.detector.reconfigure(&none);
    assert_eq!(f.metric("belfry_logins_geoip_database_ok"), 1.0);
    assert_eq!(f.metric("belfry_logins_geoip_database_loaded"), 0.0);
}

#[test]
fn histories_survive_a_restart_and_expired_ones_are_deleted() {
    let f = fixture(|_| {});
    f.login(true, Some("u_a"), GB, DAY);
    f.detector.flush();
    let c = config(&f.db);
    let again = open(&f.store, &f.sink, &f.now, &Registry::new(), &c);
    again.logins(vec![LoginEvent {
        at: UNIX_EPOCH + Duration::from_secs(f.now.load(Ordering::SeqCst)),
        success: true,
        user: Some("u_a".into()),
        source: Some(US.parse().unwrap()),
    }]);
    assert_eq!(f.sink.take(), [UNUSUAL_COUNTRY]);
    again.flush();
    assert!(
        f.store
            .get(crate::state::tables::LOGIN_USERS, "u_a")
            .unwrap()
            .is_some()
    );
    // Unseen for longer than the history: dropped from memory and disk.
    f.now.fetch_add(31 * DAY, Ordering::SeqCst);
    again.maintain();
    again.flush();
    assert!(
        f.store
            .get(crate::state::tables::LOGIN_USERS, "u_a")
            .unwrap()
            .is_none()
    );
}

#[test]
fn the_user_cap_forgets_the_longest_unseen_and_counts_it() {
    let f = fixture(|c| c.max_users = 2);
    for user in ["u_1", "u_2", "u_3"] {
        f.login(true, Some(user), GB, 60);
    }
    assert_eq!(f.metric(r#"belfry_logins_limit_hits_total{limit="users"}"#), 1.0);
    assert_eq!(f.metric(r#"belfry_logins_tracked{kind="users"}"#), 2.0);
    f.detector.flush();
    assert!(
        f.store
            .get(crate::state::tables::LOGIN_USERS, "u_1")
            .unwrap()
            .is_none()
    );
    // u_1 was forgotten: its next login is a first one again.
    f.login(true, Some("u_1"), US, 60);
    assert!(f.sink.take().is_empty());
}

#[test]
fn the_source_cap_leaves_new_addresses_uncounted_and_counts_that() {
    let f = fixture(|c| c.max_sources = 1);
    f.login(false, None, GB, 1);
    for _ in 0..3 {
        f.login(false, None, US, 1);
    }
    assert!(f.sink.take().is_empty());
    assert_eq!(
        f.metric(r#"belfry_logins_limit_hits_total{limit="sources"}"#),
        3.0
    );
}

#[test]
fn a_disabled_section_looks_at_nothing() {
    let f = fixture(|c| c.enabled = false);
    for _ in 0..5 {
        f.login(false, Some("u_1"), GB, 1);
    }
    assert!(f.sink.take().is_empty());
    assert_eq!(f.metric(r#"belfry_logins_events_total{outcome="failure"}"#), 0.0);
}

#[test]
fn events_stamped_at_the_record_times_decide_not_arrival() {
    let f = fixture(|c| c.new_country = false);
    let base = f.now.load(Ordering::SeqCst);
    let at = |secs: u64| UNIX_EPOCH + Duration::from_secs(base + secs);
    // One batch, a day apart by their own times: no travel.
    f.detector.logins(vec![
        LoginEvent {
            at: at(0),
            success: true,
            user: Some("u_a".into()),
            source: Some(GB.parse().unwrap()),
        },
        LoginEvent {
            at: at(DAY),
            success: true,
            user: Some("u_a".into()),
            source: Some(US.parse().unwrap()),
        },
    ]);
    assert!(f.sink.take().is_empty());
}
