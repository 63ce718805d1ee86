//! `LoginDetector`: the logs store hands it the login events of every
//! stored batch (`model::LoginEventSink`); it keeps each user's login
//! history and the failure counters, and raises the unusual patterns as
//! alerts through the dispatcher's `model::AlertSink`.
//!
//! Decisions run on the events' own times (when the records say the logins
//! happened); alerts start at the clock's now. A user's history changes
//! only on a successful login that the geo database places, and the
//! changed rows are queued to `state.redb`'s writer with each batch (group
//! committed, off the ingesting thread). The failure counters live in
//! memory only: a restart loses at most one window of them.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use parking_lot::{Mutex, RwLock};
use tokio_util::sync::CancellationToken;

use super::LoginsError;
use super::alerts::Detection;
use super::burst::{BurstCounter, BurstRule, Counted};
use super::distance::great_circle_km;
use super::geo::{GeoDb, Place};
use super::history::{Histories, UserHistory};
use super::metrics::{FAILING_USERS, LoginMetrics, SOURCES, USERS};
use crate::config::LoginsConfig;
use crate::model::{Alert, AlertSink, LoginEvent, LoginEventSink};
use crate::selfmetrics::Registry;
use crate::state::tables::LOGIN_USERS;
use crate::state::{StateStore, StateWriter, WriteOp};

/// The detector's idea of now; tests move it.
pub type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// Two places closer than this (after their accuracy radii) are never
/// impossible travel: neighbouring cities, a mobile carrier's addresses
/// placed a town apart.
pub const MIN_TRAVEL_KM: f64 = 100.0;

/// How often expired histories and counters are dropped.
const MAINTENANCE_EVERY: Duration = Duration::from_secs(60);

struct State {
    histories: Histories,
    sources: BurstCounter<IpAddr>,
    failing_users: BurstCounter<String>,
}

pub struct LoginDetector {
    sink: Arc<dyn AlertSink>,
    external_url: String,
    clock: Clock,
    config: RwLock<LoginsConfig>,
    geo: RwLock<Option<Arc<GeoDb>>>,
    state: Mutex<State>,
    writer: Option<StateWriter>,
    metrics: LoginMetrics,
}

fn ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn cap(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

impl LoginDetector {
    /// Reads the stored histories (when `state` is given) and the geo
    /// database. Blocks: call it off the async executor. A geo database
    /// that cannot be used is reported and counted, not refused.
    pub fn open(
        sink: Arc<dyn AlertSink>,
        state: Option<Arc<StateStore>>,
        config: &LoginsConfig,
        external_url: &str,
        registry: &Registry,
    ) -> Result<Arc<LoginDetector>, LoginsError> {
        Self::with_clock(
            sink,
            state,
            config,
            external_url,
            registry,
            Arc::new(SystemTime::now),
        )
    }

    pub fn with_clock(
        sink: Arc<dyn AlertSink>,
        state: Option<Arc<StateStore>>,
        config: &LoginsConfig,
        external_url: &str,
        registry: &Registry,
        clock: Clock,
    ) -> Result<Arc<LoginDetector>, LoginsError> {
        let metrics = LoginMetrics::new(registry);
        let mut histories = Histories::default();
        if let Some(store) = &state {
            store.scan_each(LOGIN_USERS, |token, bytes| match UserHistory::from_bytes(bytes) {
                Ok(h) => {
                    histories.users.insert(token.to_string(), h);
                }
                Err(problem) => {
                    metrics.state_errors.inc();
                    tracing::warn!(
                        user = token,
                        problem,
                        "skipping a stored login history that cannot be read"
                    );
                }
            })?;
        }
        let detector = Arc::new(LoginDetector {
            sink,
            external_url: external_url.trim_end_matches('/').to_string(),
            clock,
            config: RwLock::new(config.clone()),
            geo: RwLock::new(None),
            state: Mutex::new(State {
                histories,
                sources: BurstCounter::default(),
                failing_users: BurstCounter::default(),
            }),
            writer: state.map(StateWriter::start),
            metrics,
        });
        detector.load_geo(config.geoip_database.as_deref().map(PathBuf::from));
        detector.maintain();
        Ok(detector)
    }

    /// Takes a reloaded configuration: thresholds at once, and the geo
    /// database read again (a fixed or replaced file goes live). Blocks.
    pub fn reconfigure(&self, config: &LoginsConfig) {
        *self.config.write() = config.clone();
        self.load_geo(config.geoip_database.as_deref().map(PathBuf::from));
    }

    fn load_geo(&self, path: Option<PathBuf>) {
        let m = &self.metrics;
        let Some(path) = path else {
            *self.geo.write() = None;
            m.geo_ok.set(1.0);
            m.geo_loaded.set(0.0);
            return;
        };
        match GeoDb::open(&path) {
            Ok(db) => {
                tracing::info!(file = %path.display(), database_type = db.database_type(), "geo database loaded for the login checks");
                *self.geo.write() = Some(Arc::new(db));
                m.geo_ok.set(1.0);
                m.geo_loaded.set(1.0);
            }
            Err(e) => {
                tracing::warn!(
                    file = %path.display(),
                    error = %e,
                    "logins.geoip_database cannot be used: the new-country and impossible-travel checks are off until it is fixed and Belfry reloaded; failed-login bursts are still counted"
                );
                *self.geo.write() = None;
                m.geo_errors.inc();
                m.geo_ok.set(0.0);
                m.geo_loaded.set(0.0);
            }
        }
    }

    /// Whether a geo database is in use.
    pub fn has_geo(&self) -> bool {
        self.geo.read().is_some()
    }

    fn locate(&self, ip: IpAddr) -> Option<Place> {
        let geo = self.geo.read().clone()?;
        let result = geo.lookup(ip);
        let label = match &result {
            Ok(Some(_)) => "found",
            Ok(None) => "not_found",
            Err(_) => "error",
        };
        self.metrics.lookups.with(&[label]).inc();
        result
            .inspect_err(|e| tracing::debug!(error = %e, "geo lookup failed"))
            .ok()
            .flatten()
    }

    /// Drops histories not seen within `country_history` and failure
    /// counters past their window, and deletes the dropped rows.
    pub fn maintain(&self) {
        let config = self.config.read().clone();
        let now = ms((self.clock)());
        let gone = {
            let mut s = self.state.lock();
            let gone = s
                .histories
                .expire(now.saturating_sub(duration_ms(config.country_history.0)));
            s.sources
                .expire(now, duration_ms(config.failed_bursts.per_source.window.0));
            s.failing_users
                .expire(now, duration_ms(config.failed_bursts.per_user.window.0));
            self.update_gauges(&s);
            gone
        };
        self.persist(
            gone.into_iter()
                .map(|k| WriteOp::delete(LOGIN_USERS, k))
                .collect(),
        );
    }

    /// Runs [`LoginDetector::maintain`] every minute until `shutdown`.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(MAINTENANCE_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tick.tick() => {
                    let this = self.clone();
                    let _ = tokio::task::spawn_blocking(move || this.maintain()).await;
                }
            }
        }
    }

    /// Waits until every history queued so far is durable. Blocks.
    pub fn flush(&self) {
        if let Some(w) = &self.writer
            && let Err(e) = w.write_blocking(Vec::new())
        {
            tracing::error!(error = %e, "cannot save the login histories");
        }
    }

    fn persist(&self, ops: Vec<WriteOp>) {
        if ops.is_empty() {
            return;
        }
        if let Some(w) = &self.writer {
            w.write_detached(ops);
        }
    }

    fn update_gauges(&self, s: &State) {
        let t = &self.metrics.tracked;
        t.with(&[USERS]).set(s.histories.users.len() as f64);
        t.with(&[SOURCES]).set(s.sources.len() as f64);
        t.with(&[FAILING_USERS]).set(s.failing_users.len() as f64);
    }

    /// The detections of `events`, in order, with the rows to write.
    fn detect(&self, events: Vec<LoginEvent>) -> (Vec<Detection>, Vec<WriteOp>) {
        let config = self.config.read().clone();
        let now = ms((self.clock)());
        let resend = duration_ms(config.resolve_after.0) / 4;
        let source_rule = BurstRule {
            threshold: config.failed_bursts.per_source.threshold as usize,
            window_ms: duration_ms(config.failed_bursts.per_source.window.0),
            resend_ms: resend,
            cap: cap(config.max_sources),
        };
        let user_rule = BurstRule {
            threshold: config.failed_bursts.per_user.threshold as usize,
            window_ms: duration_ms(config.failed_bursts.per_user.window.0),
            resend_ms: resend,
            cap: cap(config.max_users),
        };
        let mut found = Vec::new();
        let mut writes = Vec::new();
        // Geo lookups before the lock: they are the slow part.
        let placed: Vec<Option<Place>> = events
            .iter()
            .map(|e| {
                // A failure is placed only to name the country of its address's burst.
                let wanted = (e.success && e.user.is_some()) || (!e.success && source_rule.threshold > 0);
                e.source.filter(|_| wanted).and_then(|ip| self.locate(ip))
            })
            .collect();
        let mut guard = self.state.lock();
        let s = &mut *guard;
        for (event, place) in events.into_iter().zip(placed) {
            let at = ms(event.at);
            let outcome = if event.success { "success" } else { "failure" };
            self.metrics.events.with(&[outcome]).inc();
            if !event.success {
                if let Some(ip) = event.source {
                    match s.sources.record(&ip, at, now, source_rule) {
                        Counted::Full => self.metrics.limit_hits.with(&[SOURCES]).inc(),
                        Counted::Tracked { alert: true, .. } => found.push(Detection::BurstSource {
                            source: ip,
                            country: place.as_ref().map(|p| p.country.clone()),
                            failures: source_rule.threshold,
                            window: config.failed_bursts.per_source.window.0,
                        }),
                        Counted::Tracked { .. } => {}
                    }
                }
                if let Some(user) = &event.user {
                    match s.failing_users.record(user, at, now, user_rule) {
                        Counted::Full => self.metrics.limit_hits.with(&[FAILING_USERS]).inc(),
                        Counted::Tracked { alert: true, .. } => found.push(Detection::BurstUser {
                            user: user.clone(),
                            failures: user_rule.threshold,
                            window: config.failed_bursts.per_user.window.0,
                        }),
                        Counted::Tracked { .. } => {}
                    }
                }
                continue;
            }
            let (Some(user), Some(place), Some(source)) = (event.user, place, event.source) else {
                continue;
            };
            if !s.histories.users.contains_key(&user) {
                let stale = now.saturating_sub(duration_ms(config.country_history.0));
                for gone in s.histories.make_room(cap(config.max_users), stale) {
                    self.metrics.limit_hits.with(&[USERS]).inc();
                    writes.push(WriteOp::delete(LOGIN_USERS, gone));
                }
            }
            let h = s.histories.users.entry(user.clone()).or_default();
            h.forget_before(at.saturating_sub(duration_ms(config.country_history.0)));
            if config.new_country && !h.countries.is_empty() && !h.countries.contains_key(&place.country) {
                found.push(Detection::NewCountry {
                    user: user.clone(),
                    country: place.country.clone(),
                    source,
                    known: h.countries.keys().cloned().collect(),
                });
            }
            if config.impossible_travel
                && let Some(trip) = travel(h, &place, at, &config)
            {
                found.push(Detection::Travel {
                    user: user.clone(),
                    from_country: trip.from_country,
                    country: place.country.clone(),
                    source,
                    km: trip.km,
                    minutes: trip.minutes,
                });
            }
            h.record(&place, at);
            let row = h.to_bytes();
            writes.push(WriteOp::put(LOGIN_USERS, user, row));
        }
        self.update_gauges(s);
        (found, writes)
    }
}

/// A trip from the user's last login that nobody could have made.
struct Trip {
    from_country: String,
    km: f64,
    minutes: f64,
}

/// The trip from the user's last login to this one, when it is too fast.
fn travel(h: &UserHistory, place: &Place, at_ms: i64, config: &LoginsConfig) -> Option<Trip> {
    let last = h.last.as_ref()?;
    let (from, to) = (last.location()?, place.location?);
    let precise = |r: Option<f64>| r.unwrap_or(0.0) <= config.max_accuracy_radius_km;
    if !precise(from.radius_km) || !precise(to.radius_km) {
        return None;
    }
    let km =
        great_circle_km(from.point, to.point) - from.radius_km.unwrap_or(0.0) - to.radius_km.unwrap_or(0.0);
    if km < MIN_TRAVEL_KM {
        return None;
    }
    let hours = (at_ms - last.at_ms).unsigned_abs() as f64 / 3_600_000.0;
    if hours > 0.0 && km / hours <= config.max_speed_kmh {
        return None;
    }
    Some(Trip {
        from_country: last.country.clone(),
        km,
        minutes: hours * 60.0,
    })
}

impl LoginEventSink for LoginDetector {
    fn logins(&self, events: Vec<LoginEvent>) {
        if !self.config.read().enabled {
            return;
        }
        let (found, writes) = self.detect(events);
        self.persist(writes);
        if found.is_empty() {
            return;
        }
        let now = (self.clock)();
        let resolve_after = self.config.read().resolve_after.0;
        let alerts: Vec<Alert> = found
            .iter()
            .map(|d| {
                self.metrics.alerts.with(&[d.alertname()]).inc();
                d.alert(now, resolve_after, &self.external_url)
            })
            .collect();
        self.sink.send(alerts);
    }
}
