//! Release health: sessions counted per project, release, environment and
//! hour (by when the session started, so every update of one session
//! lands in the same bucket), kept in `state.redb` and in memory.
//!
//! A bucket holds Relay's three kinds of count: pre-aggregated counts
//! from `sessions` items; individual sessions by `sid` with the worst
//! outcome any update reported (so a session's many updates count once,
//! and `ok` → `crashed` moves it instead of adding one); and users by
//! their hashed `did` with their worst outcome (so one user is one user
//! per bucket however many sessions they had). Crash-free sessions are
//! `1 - crashed / sessions`, crash-free users `1 - users with a crash /
//! users`, adoption a release's share of its environment's sessions (and
//! users) over the last 24 hours — Sentry's definitions.
//!
//! Every change also bumps `belfry_error_sessions_total{project, release,
//! environment, status}` (`init` per session, then `errored` when a
//! session first reports errors or worse, `abnormal`, `crashed`), so a
//! rule can alert on `crashed / init`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::model::Labels;
use crate::privacy::UserIdHasher;
use crate::selfmetrics::{CounterVec, Registry};
use crate::state::{StateStore, StateWriter, WriteOp, tables};

use super::ErrorsError;
use super::session::{AggregateRow, ReleaseKey, SessionItem, SessionOutcome, SessionUpdate};
use super::tsdb_counters::TsdbCounters;

const HOUR: i64 = 3_600;
const DAY: f64 = 86_400.0;
/// Sessions Relay still takes from the past (it drops older ones).
const MAX_AGE_SECS: f64 = 5.0 * DAY;
/// Clock skew tolerated for a `started` in the future.
const MAX_FUTURE_SECS: f64 = 300.0;
/// Distinct session ids (and, apart, users) one bucket tracks; past it
/// sessions still count, as aggregates, and users are no longer told
/// apart (counted in `belfry_error_session_ids_dropped_total`).
pub const MAX_IDS_PER_BUCKET: usize = 100_000;

pub const SESSIONS_SERIES: &str = "belfry_error_sessions_total";

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Bucket {
    project: u64,
    release: String,
    environment: String,
    /// Start of the hour, seconds since the epoch.
    hour: i64,
    /// Counts from `sessions` items, by outcome rank.
    aggregated: [u64; 4],
    /// Individual sessions: `sid` → worst outcome rank.
    #[serde(default)]
    sessions: HashMap<String, u8>,
    /// Users: hashed `did` → worst outcome rank.
    #[serde(default)]
    users: HashMap<String, u8>,
    first_seen: f64,
    last_seen: f64,
}

impl Bucket {
    fn by_outcome(&self) -> [u64; 4] {
        let mut counts = self.aggregated;
        for rank in self.sessions.values() {
            counts[usize::from(*rank).min(3)] += 1;
        }
        counts
    }
}

type BucketKey = (u64, String, String, i64);

fn storage_key(k: &BucketKey) -> String {
    let names = serde_json::to_string(&(&k.1, &k.2)).expect("strings serialize");
    format!("{:020}/{:020}/{names}", k.0, k.3)
}

/// Session counts by outcome, and users.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct HealthCounts {
    pub sessions: u64,
    pub healthy: u64,
    pub errored: u64,
    pub abnormal: u64,
    pub crashed: u64,
    /// Distinct users (hashed `did`s) over the period.
    pub users: u64,
    pub crashed_users: u64,
}

impl HealthCounts {
    pub fn crash_free_sessions(&self) -> Option<f64> {
        (self.sessions > 0).then(|| 1.0 - self.crashed as f64 / self.sessions as f64)
    }

    pub fn crash_free_users(&self) -> Option<f64> {
        (self.users > 0).then(|| 1.0 - self.crashed_users as f64 / self.users as f64)
    }
}

/// One release in one environment, as the releases API shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReleaseHealthSummary {
    pub version: String,
    pub environment: String,
    pub counts: HealthCounts,
    /// Share of the environment's sessions over the last 24 hours.
    pub adoption: Option<f64>,
    pub users_adoption: Option<f64>,
    pub first_seen: f64,
    pub last_seen: f64,
}

/// One hour of one release in one environment.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HealthPoint {
    pub hour: i64,
    pub environment: String,
    pub counts: HealthCounts,
}

pub struct ReleaseHealth {
    buckets: Mutex<BTreeMap<BucketKey, Bucket>>,
    writer: StateWriter,
    hasher: UserIdHasher,
    counters: Arc<TsdbCounters>,
    dropped_ids: Arc<CounterVec>,
    retention_secs: f64,
}

fn rank(o: SessionOutcome) -> u8 {
    o as u8
}

impl ReleaseHealth {
    /// Loads the stored buckets younger than `retention_secs`. Blocking.
    pub fn open(
        state: &StateStore,
        writer: StateWriter,
        hasher: UserIdHasher,
        counters: Arc<TsdbCounters>,
        retention_secs: f64,
        registry: &Registry,
    ) -> Result<ReleaseHealth, ErrorsError> {
        let mut buckets = BTreeMap::new();
        for (key, value) in state.scan(tables::ERROR_RELEASE_SESSIONS)? {
            match serde_json::from_slice::<Bucket>(&value) {
                Ok(b) => {
                    buckets.insert((b.project, b.release.clone(), b.environment.clone(), b.hour), b);
                }
                Err(e) => {
                    tracing::warn!(key, error = %e, "cannot read a stored session bucket; it is skipped")
                }
            }
        }
        Ok(ReleaseHealth {
            buckets: Mutex::new(buckets),
            writer,
            hasher,
            counters,
            dropped_ids: registry.counter_vec(
                "belfry_error_session_ids_dropped_total",
                "Sessions or users not told apart because an hour of one release held errors' MAX_IDS_PER_BUCKET already, by kind.",
                &["kind"],
            ),
            retention_secs,
        })
    }

    /// Checks an item's times before anything is counted.
    pub fn check_times(item: &SessionItem, now: f64) -> Result<(), ErrorsError> {
        let starts: Vec<f64> = match item {
            SessionItem::Update(u) => vec![u.started],
            SessionItem::Aggregates(a) => a.rows.iter().map(|r| r.started).collect(),
        };
        let name = match item {
            SessionItem::Update(_) => "session",
            SessionItem::Aggregates(_) => "sessions",
        };
        for started in starts {
            if started < now - MAX_AGE_SECS {
                return Err(ErrorsError::BadItem {
                    item: name,
                    message: "\"started\" is more than 5 days ago (sessions that old are dropped)".into(),
                });
            }
            if started > now + MAX_FUTURE_SECS {
                return Err(ErrorsError::BadItem {
                    item: name,
                    message: "\"started\" is in the future".into(),
                });
            }
        }
        Ok(())
    }

    /// Counts the items into their buckets and stores the changed ones;
    /// returns once they are durable.
    pub async fn record(
        &self,
        project: &str,
        project_id: u64,
        items: Vec<SessionItem>,
        now: f64,
    ) -> Result<(), ErrorsError> {
        if items.is_empty() {
            return Ok(());
        }
        let pending = {
            let mut buckets = self.buckets.lock();
            let mut changed: Vec<BucketKey> = Vec::new();
            let mut increments: Vec<(Labels, f64)> = Vec::new();
            for item in items {
                match item {
                    SessionItem::Update(u) => {
                        let key = bucket_key(project_id, &u.key, u.started);
                        self.apply_update(&mut buckets, &key, &u, project, &mut increments);
                        changed.push(key);
                    }
                    SessionItem::Aggregates(a) => {
                        for row in &a.rows {
                            let key = bucket_key(project_id, &a.key, row.started);
                            self.apply_row(&mut buckets, &key, row, project, &mut increments);
                            changed.push(key);
                        }
                    }
                }
            }
            self.counters.add_all(increments);
            changed.sort();
            changed.dedup();
            let mut ops: Vec<WriteOp> = changed
                .iter()
                .filter_map(|k| buckets.get(k).map(|b| (k, b)))
                .map(|(k, b)| WriteOp::put(tables::ERROR_RELEASE_SESSIONS, storage_key(k), to_json(b)))
                .collect();
            ops.extend(self.prune(&mut buckets, now));
            self.writer.enqueue(ops)
        };
        pending.durable().await?;
        Ok(())
    }

    fn labels(project: &str, key: &BucketKey, status: &str) -> Labels {
        Labels::from_pairs(&[
            ("__name__", SESSIONS_SERIES),
            ("project", project),
            ("release", &key.1),
            ("environment", &key.2),
            ("status", status),
        ])
    }

    fn apply_update(
        &self,
        buckets: &mut BTreeMap<BucketKey, Bucket>,
        key: &BucketKey,
        u: &SessionUpdate,
        project: &str,
        increments: &mut Vec<(Labels, f64)>,
    ) {
        let bucket = buckets
            .entry(key.clone())
            .or_insert_with(|| new_bucket(key, u.started));
        bucket.first_seen = bucket.first_seen.min(u.started);
        bucket.last_seen = bucket.last_seen.max(u.timestamp);
        let new = rank(u.outcome);
        let old = match bucket.sessions.get(&u.sid).copied() {
            Some(r) => Some(r),
            None if bucket.sessions.len() >= MAX_IDS_PER_BUCKET => {
                // Untracked: counted once, when it starts, with what it
                // has so far.
                self.dropped_ids.with(&["session"]).inc();
                if !u.init {
                    return;
                }
                bucket.aggregated[usize::from(new)] += 1;
                None
            }
            None => {
                bucket.sessions.insert(u.sid.clone(), new);
                None
            }
        };
        let old_rank = match old {
            None => {
                increments.push((Self::labels(project, key, "init"), 1.0));
                0
            }
            Some(r) if new > r => {
                bucket.sessions.insert(u.sid.clone(), new);
                r
            }
            Some(_) => {
                self.record_user(bucket, u.did.as_deref(), new);
                return;
            }
        };
        step_increments(project, key, old_rank, new, increments);
        self.record_user(bucket, u.did.as_deref(), new);
    }

    fn apply_row(
        &self,
        buckets: &mut BTreeMap<BucketKey, Bucket>,
        key: &BucketKey,
        row: &AggregateRow,
        project: &str,
        increments: &mut Vec<(Labels, f64)>,
    ) {
        let bucket = buckets
            .entry(key.clone())
            .or_insert_with(|| new_bucket(key, row.started));
        bucket.first_seen = bucket.first_seen.min(row.started);
        bucket.last_seen = bucket.last_seen.max(row.started);
        let counts = [row.exited, row.errored, row.abnormal, row.crashed];
        for (slot, n) in bucket.aggregated.iter_mut().zip(counts) {
            *slot = slot.saturating_add(n);
        }
        let total = row.total();
        if total > 0 {
            increments.push((Self::labels(project, key, "init"), total as f64));
        }
        let errored = row.errored + row.abnormal + row.crashed;
        for (status, n) in [
            ("errored", errored),
            ("abnormal", row.abnormal),
            ("crashed", row.crashed),
        ] {
            if n > 0 {
                increments.push((Self::labels(project, key, status), n as f64));
            }
        }
        if total > 0 {
            self.record_user(bucket, row.did.as_deref(), rank(row.worst()));
        }
    }

    fn record_user(&self, bucket: &mut Bucket, did: Option<&str>, outcome: u8) {
        let Some(did) = did else { return };
        let token = self.hasher.token(did);
        let full = bucket.users.len() >= MAX_IDS_PER_BUCKET;
        match bucket.users.get_mut(&token) {
            Some(r) => *r = (*r).max(outcome),
            None if full => self.dropped_ids.with(&["user"]).inc(),
            None => {
                bucket.users.insert(token, outcome);
            }
        }
    }

    /// Drops buckets older than the retention; returns their deletes.
    fn prune(&self, buckets: &mut BTreeMap<BucketKey, Bucket>, now: f64) -> Vec<WriteOp> {
        let horizon = (now - self.retention_secs) as i64;
        let old: Vec<BucketKey> = buckets.keys().filter(|k| k.3 + HOUR < horizon).cloned().collect();
        old.iter()
            .map(|k| {
                buckets.remove(k);
                WriteOp::delete(tables::ERROR_RELEASE_SESSIONS, storage_key(k))
            })
            .collect()
    }

    /// Every release of `project` (in `environment` if given), newest
    /// first seen first.
    pub fn releases(&self, project: u64, environment: Option<&str>, now: f64) -> Vec<ReleaseHealthSummary> {
        let buckets = self.buckets.lock();
        let mut groups: BTreeMap<(String, String), Vec<&Bucket>> = BTreeMap::new();
        for b in buckets.values().filter(|b| b.project == project) {
            if environment.is_some_and(|e| e != b.environment) {
                continue;
            }
            groups
                .entry((b.release.clone(), b.environment.clone()))
                .or_default()
                .push(b);
        }
        // The last 24 hours of each environment, for adoption.
        let since = (now - DAY) as i64 - HOUR;
        let recent = |b: &&Bucket| b.hour + HOUR > since;
        let mut env_totals: HashMap<String, HealthCounts> = HashMap::new();
        for b in buckets.values().filter(|b| b.project == project).filter(recent) {
            if environment.is_some_and(|e| e != b.environment) {
                continue;
            }
            let _ = env_totals.entry(b.environment.clone()).or_default();
        }
        for (env, total) in env_totals.iter_mut() {
            let all: Vec<&Bucket> = buckets
                .values()
                .filter(|b| b.project == project && &b.environment == env)
                .filter(recent)
                .collect();
            *total = counts(&all);
        }
        let mut out: Vec<ReleaseHealthSummary> = groups
            .into_iter()
            .map(|((version, environment), list)| {
                let recent_list: Vec<&Bucket> = list.iter().copied().filter(recent).collect();
                let mine = counts(&recent_list);
                let env = env_totals.get(&environment);
                let share = |a: u64, b: u64| (b > 0).then(|| a as f64 / b as f64);
                ReleaseHealthSummary {
                    adoption: env.and_then(|e| share(mine.sessions, e.sessions)),
                    users_adoption: env.and_then(|e| share(mine.users, e.users)),
                    first_seen: list.iter().map(|b| b.first_seen).fold(f64::INFINITY, f64::min),
                    last_seen: list.iter().map(|b| b.last_seen).fold(0.0, f64::max),
                    counts: counts(&list),
                    version,
                    environment,
                }
            })
            .collect();
        out.sort_by(|a, b| {
            b.first_seen
                .total_cmp(&a.first_seen)
                .then(a.environment.cmp(&b.environment))
        });
        out
    }

    /// One release's hours, oldest first, per environment.
    pub fn series(&self, project: u64, release: &str) -> Vec<HealthPoint> {
        let buckets = self.buckets.lock();
        let mut points: Vec<HealthPoint> = buckets
            .values()
            .filter(|b| b.project == project && b.release == release)
            .map(|b| HealthPoint {
                hour: b.hour,
                environment: b.environment.clone(),
                counts: counts(&[b]),
            })
            .collect();
        points.sort_by(|a, b| a.hour.cmp(&b.hour).then(a.environment.cmp(&b.environment)));
        points
    }
}

fn step_increments(project: &str, key: &BucketKey, old: u8, new: u8, increments: &mut Vec<(Labels, f64)>) {
    let errored = rank(SessionOutcome::Errored);
    if old < errored && new >= errored {
        increments.push((ReleaseHealth::labels(project, key, "errored"), 1.0));
    }
    for outcome in [SessionOutcome::Abnormal, SessionOutcome::Crashed] {
        if new == rank(outcome) && old < new {
            increments.push((ReleaseHealth::labels(project, key, outcome.as_str()), 1.0));
        }
    }
}

fn bucket_key(project: u64, key: &ReleaseKey, started: f64) -> BucketKey {
    let hour = (started as i64).div_euclid(HOUR) * HOUR;
    (project, key.release.clone(), key.environment.clone(), hour)
}

fn new_bucket(key: &BucketKey, started: f64) -> Bucket {
    Bucket {
        project: key.0,
        release: key.1.clone(),
        environment: key.2.clone(),
        hour: key.3,
        first_seen: started,
        last_seen: started,
        ..Bucket::default()
    }
}

/// Sums buckets; a user seen in several counts once, with their worst.
fn counts(buckets: &[&Bucket]) -> HealthCounts {
    let mut by_outcome = [0u64; 4];
    let mut users: HashMap<&str, u8> = HashMap::new();
    for b in buckets {
        for (total, n) in by_outcome.iter_mut().zip(b.by_outcome()) {
            *total += n;
        }
        for (token, r) in &b.users {
            let e = users.entry(token.as_str()).or_insert(0);
            *e = (*e).max(*r);
        }
    }
    HealthCounts {
        sessions: by_outcome.iter().sum(),
        healthy: by_outcome[0],
        errored: by_outcome[1],
        abnormal: by_outcome[2],
        crashed: by_outcome[3],
        users: users.len() as u64,
        crashed_users: users
            .values()
            .filter(|r| **r == rank(SessionOutcome::Crashed))
            .count() as u64,
    }
}

fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("session buckets serialize")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errors::session::{parse_aggregates, parse_session};
    use crate::privacy::UserIdKey;

    fn open(dir: &std::path::Path, counters: Arc<TsdbCounters>) -> ReleaseHealth {
        let state = StateStore::open(dir).unwrap();
        let writer = StateWriter::start(state.clone());
        let hasher = UserIdHasher::new(&UserIdKey::from_secret(&crate::config::Secret::new(
            "key-for-tests-0123456789",
        )));
        ReleaseHealth::open(&state, writer, hasher, counters, 90.0 * DAY, &Registry::new()).unwrap()
    }

    fn session(sid: &str, did: &str, status: &str, started: f64, release: &str) -> SessionItem {
        let json = format!(
            r#"{{"sid":"{sid}","did":"{did}","init":true,"started":{started},"status":"{status}",
                "attrs":{{"release":"{release}","environment":"production"}}}}"#
        );
        SessionItem::Update(parse_session(json.as_bytes(), started).unwrap())
    }

    #[tokio::test]
    async fn counts_sessions_users_and_adoption_as_sentry() {
        let dir = tempfile::tempdir().unwrap();
        let counters = Arc::new(TsdbCounters::default());
        let health = open(dir.path(), counters.clone());
        let now = 1_800_000_000.0;
        let t = now - 600.0;
        // Release 1.0: s1 ok then crashed (one session), s2 errored, s3
        // exited; users a (crashed, also healthy in s3) and b.
        let items = vec![
            session("s1", "a", "ok", t, "1.0"),
            session("s1", "a", "crashed", t, "1.0"),
            session("s2", "b", "errored", t, "1.0"),
            session("s3", "a", "exited", t, "1.0"),
        ];
        health.record("lms", 1, items, now).await.unwrap();
        // Release 2.0: aggregates, 6 sessions, one crash, no users.
        let agg = parse_aggregates(
            format!(
                r#"{{"attrs":{{"release":"2.0","environment":"production"}},
                "aggregates":[{{"started":{t},"exited":4,"errored":1,"crashed":1}}]}}"#
            )
            .as_bytes(),
        )
        .unwrap();
        health
            .record("lms", 1, vec![SessionItem::Aggregates(agg)], now)
            .await
            .unwrap();
        let releases = health.releases(1, None, now);
        let r1 = releases.iter().find(|r| r.version == "1.0").unwrap();
        assert_eq!(r1.counts.sessions, 3);
        assert_eq!(
            (r1.counts.crashed, r1.counts.errored, r1.counts.healthy),
            (1, 1, 1)
        );
        assert_eq!((r1.counts.users, r1.counts.crashed_users), (2, 1));
        assert!((r1.counts.crash_free_sessions().unwrap() - 2.0 / 3.0).abs() < 1e-9);
        assert!((r1.counts.crash_free_users().unwrap() - 0.5).abs() < 1e-9);
        assert!((r1.adoption.unwrap() - 3.0 / 9.0).abs() < 1e-9);
        let r2 = releases.iter().find(|r| r.version == "2.0").unwrap();
        assert_eq!(r2.counts.sessions, 6);
        assert!(r2.counts.crash_free_users().is_none());
        assert!((r2.adoption.unwrap() - 6.0 / 9.0).abs() < 1e-9);
        // The series: s1 counted init once and crashed once.
        let release = ReleaseKey {
            release: "1.0".into(),
            environment: "production".into(),
        };
        let key = bucket_key(1, &release, t);
        assert_eq!(
            counters.get(&ReleaseHealth::labels("lms", &key, "init")),
            Some(3.0)
        );
        assert_eq!(
            counters.get(&ReleaseHealth::labels("lms", &key, "crashed")),
            Some(1.0)
        );
        assert_eq!(
            counters.get(&ReleaseHealth::labels("lms", &key, "errored")),
            Some(2.0)
        );
        drop(health);
        // Stored: a restart answers the same.
        std::thread::sleep(std::time::Duration::from_millis(100));
        let health = open(dir.path(), Arc::new(TsdbCounters::default()));
        let again = health.releases(1, Some("production"), now);
        assert_eq!(again, releases);
        assert_eq!(health.series(1, "1.0").len(), 1);
    }

    #[test]
    fn refuses_sessions_too_old_or_in_the_future() {
        let now = 1_800_000_000.0;
        let old = session("s", "a", "ok", now - 6.0 * DAY, "1");
        assert!(
            ReleaseHealth::check_times(&old, now)
                .unwrap_err()
                .to_string()
                .contains("5 days")
        );
        let future = session("s", "a", "ok", now + 3_600.0, "1");
        assert!(ReleaseHealth::check_times(&future, now).is_err());
        assert!(ReleaseHealth::check_times(&session("s", "a", "ok", now, "1"), now).is_ok());
    }
}
