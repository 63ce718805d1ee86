//! The dispatcher: takes alerts from any source (each source is given an
//! `AlertSink` handle that names it, see [`Dispatcher::sink`]), keeps
//! them, routes them into aggregation groups, and owns silences,
//! inhibition and the notification log. The state changes of alerts from
//! sources other than the rules go to the alert history (`received.rs`).
//! `run` is its background loop (queued alerts, lapsed alerts, garbage
//! collection, gauges).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use parking_lot::{Mutex, RwLock};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::error::AlertingError;
use super::fingerprint::fingerprint;
use super::group::{Group, GroupOwner};
use super::inhibit::InhibitRule;
use super::metrics::AlertingMetrics;
use super::nflog::NotificationLog;
use super::notify::Notifier;
use super::notify::discord::DiscordNotifier;
use super::notify::email::EmailNotifier;
use super::notify::msteamsv2::MsTeamsV2Notifier;
use super::notify::pagerduty::PagerdutyNotifier;
use super::notify::slack::SlackNotifier;
use super::notify::telegram::TelegramNotifier;
use super::notify::template::Templates;
use super::notify::webhook::WebhookNotifier;
use super::received::{self, Before};
use super::route::Route;
use super::silence::Silences;
use super::store::{AlertEntry, AlertStore, HeldAlert, StoredAlert};
use crate::config::AlertingConfig;
use crate::config::alerting::TimeInterval;
use crate::model::is_legacy_label_name;
use crate::model::{Alert, AlertChange, AlertHistorySink, AlertSink, AlertSource, Labels};
use crate::selfmetrics::Registry;
use crate::state::{StateStore, StateWriter, WriteOp, tables};

/// At most this many alerts are held; new ones beyond are refused.
pub const DEFAULT_MAX_ALERTS: usize = 50_000;
/// Batches of alerts queued from `AlertSink::send` before drops start.
const QUEUE_BATCHES: usize = 4096;
/// Resolved alerts stay visible this long before they are forgotten.
const RESOLVED_RETENTION: Duration = Duration::from_secs(15 * 60);
const MAINTENANCE_INTERVAL: Duration = Duration::from_secs(30);

/// Alerts a source sent, queued for `run`.
type Batch = (AlertSource, Vec<Alert>);

/// A receiver and its integrations.
pub struct Receiver {
    pub name: String,
    pub integrations: Vec<Arc<dyn Notifier>>,
}

/// Everything derived from the configuration; swapped whole on reload.
pub struct Runtime {
    pub route: Route,
    pub receivers: HashMap<String, Arc<Receiver>>,
    pub inhibit_rules: Vec<InhibitRule>,
    pub time_intervals: HashMap<String, TimeInterval>,
    pub resolve_timeout: Duration,
    /// The configuration as YAML (secrets shown as `<secret>`) for
    /// `/api/v2/status`.
    pub original: String,
}

/// Construction options.
pub struct DispatcherOptions {
    /// The URL users reach Belfry at, put in notifications.
    pub external_url: String,
    /// `state.redb`; without it nothing survives a restart (tests, benches).
    pub state: Option<Arc<StateStore>>,
    pub max_alerts: usize,
    /// Where the state changes of alerts from sources other than the
    /// rules are kept; without it they are not.
    pub history: Option<Arc<dyn AlertHistorySink>>,
}

impl Default for DispatcherOptions {
    fn default() -> Self {
        DispatcherOptions {
            external_url: String::new(),
            state: None,
            max_alerts: DEFAULT_MAX_ALERTS,
            history: None,
        }
    }
}

/// An alert with its computed status, as the API shows it.
#[derive(Clone, Debug)]
pub struct AlertView {
    pub alert: Alert,
    pub fingerprint: u64,
    pub updated_at: SystemTime,
    pub silenced_by: Vec<String>,
    pub inhibited_by: Vec<String>,
    pub receivers: Vec<String>,
    /// Who sent it last (`None`: kept before sources were).
    pub source: Option<AlertSource>,
}

/// One aggregation group as `/api/v2/alerts/groups` shows it: the route's
/// receiver, the group labels and the group's alerts.
#[derive(Clone, Debug)]
pub struct AlertGroupView {
    pub labels: Labels,
    pub receiver: String,
    pub alerts: Vec<AlertView>,
}

/// Where alert flood mode sends critical alerts while it is on, beside
/// their own routes (`flood.rs` sets it).
#[derive(Clone, Debug)]
pub struct FloodRouting {
    pub secondary_receiver: String,
    pub critical_label: String,
    pub critical_values: Vec<String>,
    pub until: SystemTime,
}

impl FloodRouting {
    fn routes(&self, labels: &Labels, now: SystemTime) -> bool {
        now < self.until
            && labels
                .get(&self.critical_label)
                .is_some_and(|v| self.critical_values.iter().any(|c| c == v))
    }
}

/// The key of flood mode's route to the secondary receiver, unlike any
/// route path of the tree (those start with `{`).
pub const FLOOD_ROUTE_KEY: &str = "flood";

pub struct Dispatcher {
    runtime: RwLock<Arc<Runtime>>,
    /// Alert flood mode's extra route, while it is on.
    flood: RwLock<Option<FloodRouting>>,
    alerts: Mutex<AlertStore>,
    groups: Mutex<HashMap<String, Arc<Group>>>,
    groups_cancel: Mutex<CancellationToken>,
    pub(super) silences: Silences,
    pub(super) nflog: NotificationLog,
    pub(super) metrics: AlertingMetrics,
    writer: Option<StateWriter>,
    history: Option<Arc<dyn AlertHistorySink>>,
    queue: mpsc::Sender<Batch>,
    queue_rx: Mutex<Option<mpsc::Receiver<Batch>>>,
    /// Alerts were read from the state store into `alerts`: `run` routes
    /// them into their groups.
    restored: std::sync::atomic::AtomicBool,
    pub(super) external_url: String,
    started: SystemTime,
    /// Test notifications in flight (`receiver_test.rs`).
    pub(super) receiver_tests: super::receiver_test::ReceiverTests,
}

impl Dispatcher {
    /// Builds the dispatcher from a validated config (`None`: no routing
    /// configured; alerts are kept and listed but go nowhere). Reads the
    /// state store, so call it from blocking context or at start-up.
    pub fn new(
        config: Option<&AlertingConfig>,
        options: DispatcherOptions,
        registry: &Registry,
    ) -> Result<Arc<Dispatcher>, AlertingError> {
        let runtime = build_runtime(config)?;
        let (writer, stored_silences, stored_nflog) = match &options.state {
            Some(s) => (
                Some(StateWriter::start(s.clone())),
                s.scan(tables::SILENCES)?,
                s.scan(tables::NFLOG)?,
            ),
            None => (None, Vec::new(), Vec::new()),
        };
        // Held as they were kept, row by row: a copy of the whole table,
        // or of its alerts unpacked, would be freed at once but kept by
        // the allocator.
        let mut alerts = AlertStore::new(options.max_alerts);
        if let Some(s) = &options.state {
            s.scan_each(tables::ALERTS, |key, bytes| {
                let fp = u64::from_str_radix(key, 16);
                match (fp, serde_json::from_slice::<StoredAlert>(bytes)) {
                    (Ok(fp), Ok(a)) => {
                        if alerts.upsert(fp, AlertEntry::from(a)).is_err() {
                            tracing::warn!(fingerprint = key, "skipping a stored alert over max_alerts");
                        }
                    }
                    (Err(e), _) => {
                        tracing::warn!(fingerprint = key, error = %e, "skipping unreadable stored alert")
                    }
                    (_, Err(e)) => {
                        tracing::warn!(fingerprint = key, error = %e, "skipping unreadable stored alert")
                    }
                }
            })?;
        }
        let restored = !alerts.is_empty();
        let (queue, rx) = mpsc::channel(QUEUE_BATCHES);
        Ok(Arc::new(Dispatcher {
            runtime: RwLock::new(Arc::new(runtime)),
            flood: RwLock::new(None),
            alerts: Mutex::new(alerts),
            groups: Mutex::new(HashMap::new()),
            groups_cancel: Mutex::new(CancellationToken::new()),
            silences: Silences::new(stored_silences, writer.clone()),
            nflog: NotificationLog::new(stored_nflog, writer.clone()),
            metrics: AlertingMetrics::new(registry),
            writer,
            history: options.history,
            queue,
            queue_rx: Mutex::new(Some(rx)),
            restored: std::sync::atomic::AtomicBool::new(restored),
            external_url: options.external_url,
            started: SystemTime::now(),
            receiver_tests: Default::default(),
        }))
    }

    /// Applies a new (validated) configuration: receivers are rebuilt, the
    /// aggregation groups are rebuilt from the held alerts, and the
    /// notification log prevents repeats. On error the old one stays.
    pub fn reload(self: &Arc<Self>, config: Option<&AlertingConfig>) -> Result<(), AlertingError> {
        let runtime = Self::prepare(config)?;
        self.install(runtime);
        Ok(())
    }

    /// Builds (and so validates: receivers, template files) what
    /// [`install`](Self::install) applies, touching nothing that runs, so a
    /// reload can check every part of a configuration before applying any.
    pub fn prepare(config: Option<&AlertingConfig>) -> Result<Runtime, AlertingError> {
        build_runtime(config)
    }

    /// Applies a prepared configuration; see [`reload`](Self::reload).
    pub fn install(self: &Arc<Self>, runtime: Runtime) {
        *self.runtime.write() = Arc::new(runtime);
        self.regroup();
    }

    /// Turns flood mode's extra route on or off: the groups are rebuilt
    /// from the held alerts (the notification log prevents repeats), so
    /// critical alerts join or leave the secondary receiver's groups.
    pub fn set_flood_routing(self: &Arc<Self>, routing: Option<FloodRouting>) {
        *self.flood.write() = routing;
        self.regroup();
    }

    /// Whether flood mode routes critical alerts to `group`'s receiver
    /// now: false for every group of the routing tree.
    pub(super) fn flood_group_lapsed(&self, group: &Group, now: SystemTime) -> bool {
        group.route.key == FLOOD_ROUTE_KEY && self.flood.read().as_ref().is_none_or(|f| now >= f.until)
    }

    /// Flood mode's route for an alert with `labels`, when it takes one:
    /// the root's grouping and timing, the secondary receiver.
    fn flood_route(&self, rt: &Runtime, labels: &Labels, now: SystemTime) -> Option<Route> {
        let flood = self.flood.read();
        let f = flood.as_ref().filter(|f| f.routes(labels, now))?;
        let mut route = rt.route.clone();
        route.routes.clear();
        route.matchers.clear();
        route.mute_time_intervals.clear();
        route.active_time_intervals.clear();
        route.key = FLOOD_ROUTE_KEY.to_string();
        route.receiver = f.secondary_receiver.clone();
        Some(route)
    }

    /// Drops every aggregation group and routes the held alerts anew.
    fn regroup(self: &Arc<Self>) {
        {
            let mut groups = self.groups.lock();
            let mut cancel = self.groups_cancel.lock();
            cancel.cancel();
            *cancel = CancellationToken::new();
            groups.clear();
        }
        self.route_held(SystemTime::now());
    }

    /// Routes every held alert into its groups.
    fn route_held(self: &Arc<Self>, now: SystemTime) {
        let held: Vec<(u64, Arc<HeldAlert>)> = self
            .alerts
            .lock()
            .iter()
            .map(|(fp, e)| (*fp, e.alert.clone()))
            .collect();
        for (fp, alert) in held {
            self.route_alert(fp, &alert.labels(), alert, now);
        }
    }

    pub fn runtime(&self) -> Arc<Runtime> {
        self.runtime.read().clone()
    }

    pub fn silences(&self) -> &Silences {
        &self.silences
    }

    pub fn external_url(&self) -> &str {
        &self.external_url
    }

    pub fn started(&self) -> SystemTime {
        self.started
    }

    /// The `AlertSink` a source delivers through: its batches are queued
    /// and taken in by `run`, tagged with `source`.
    pub fn sink(self: &Arc<Self>, source: AlertSource) -> Arc<dyn AlertSink> {
        Arc::new(SourceSink {
            dispatcher: self.clone(),
            source,
        })
    }

    /// Takes alerts from the API (or any async caller inside the runtime):
    /// validates, merges, routes, and hands the state changes of alerts
    /// not from the rules to the history. Returns the first validation
    /// error, after accepting the valid alerts, as Alertmanager does.
    pub fn ingest(self: &Arc<Self>, source: AlertSource, alerts: Vec<Alert>) -> Result<(), AlertingError> {
        let now = SystemTime::now();
        let resolve_timeout = self.runtime.read().resolve_timeout;
        let mut first_error = None;
        let mut ops = Vec::new();
        let mut changes = Vec::new();
        for mut alert in alerts {
            self.metrics.alerts_received.inc();
            if let Err(e) = validate(&alert) {
                self.metrics.alerts_invalid.inc();
                first_error.get_or_insert(e);
                continue;
            }
            let mut timeout = false;
            if alert.starts_at == SystemTime::UNIX_EPOCH {
                alert.starts_at = if alert.ends_at != SystemTime::UNIX_EPOCH && alert.ends_at < now {
                    alert.ends_at
                } else {
                    now
                };
            }
            if alert.ends_at == SystemTime::UNIX_EPOCH {
                alert.ends_at = now + resolve_timeout;
                timeout = true;
            }
            let fp = fingerprint(&alert.labels);
            let mut entry = AlertEntry {
                alert: Arc::new(HeldAlert::new(&alert)),
                updated_at: now,
                timeout,
                source: Some(source),
                recorded_firing: false,
            };
            let upserted = {
                let mut store = self.alerts.lock();
                let before = store.get(fp).map(|e| Before {
                    recorded_firing: e.recorded_firing,
                    ends_at: e.alert.ends_at,
                    updated_at: e.updated_at,
                });
                // A merge keeps the alert active exactly when this copy is.
                let seen = received::arrival(before, source, !alert.is_resolved_at(now), alert.ends_at, now);
                entry.recorded_firing = seen.recorded_firing;
                store.upsert(fp, entry).map(|m| (m, seen.changes))
            };
            let merged = match upserted {
                Ok((m, seen)) => {
                    changes.extend(seen.into_iter().map(|c| AlertChange {
                        at: c.at,
                        source,
                        labels: alert.labels.clone(),
                        firing: c.firing,
                        summary: m.alert.summary().to_string(),
                    }));
                    m
                }
                Err(_) => {
                    self.metrics.alerts_limited.inc();
                    first_error.get_or_insert(AlertingError::BadAlert(
                        "the dispatcher holds its maximum number of alerts; new alerts are refused".into(),
                    ));
                    continue;
                }
            };
            if self.writer.is_some()
                && let Ok(bytes) = serde_json::to_vec(&StoredAlert::from(&merged))
            {
                ops.push(WriteOp::put(tables::ALERTS, format!("{fp:016x}"), bytes));
            }
            self.route_alert(fp, &alert.labels, merged.alert, now);
        }
        if let Some(w) = &self.writer
            && !ops.is_empty()
        {
            w.write_detached(ops);
        }
        self.keep_history(changes);
        match first_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn keep_history(&self, changes: Vec<AlertChange>) {
        if let Some(h) = &self.history
            && !changes.is_empty()
        {
            h.keep(changes);
        }
    }

    /// Puts `alert` (whose labels are `labels`) into the group of every
    /// route that matches it.
    fn route_alert(self: &Arc<Self>, fp: u64, labels: &Labels, alert: Arc<HeldAlert>, now: SystemTime) {
        let rt = self.runtime.read().clone();
        let flood = self.flood_route(&rt, labels, now);
        let mut groups = self.groups.lock();
        for route in rt.route.matching(labels).into_iter().chain(flood.as_ref()) {
            let labels = route.group_labels(labels);
            let key = format!("{}:{}", route.key, labels);
            let group = match groups.get(&key) {
                Some(g) => g.clone(),
                None => {
                    let g = Group::new(key.clone(), labels, route);
                    groups.insert(key, g.clone());
                    let cancel = self.groups_cancel.lock().child_token();
                    tokio::spawn(g.clone().run(self.clone(), cancel));
                    g
                }
            };
            group.insert(fp, alert.clone(), now);
        }
    }

    /// Ids of active silences muting `labels`.
    pub fn silenced_by(&self, labels: &Labels, now: SystemTime) -> Vec<String> {
        self.silences.mutes(labels, now)
    }

    /// Fingerprints of firing alerts that inhibit `labels`.
    pub fn inhibited_by(&self, rt: &Runtime, labels: &Labels, now: SystemTime) -> Vec<u64> {
        let rules: Vec<&InhibitRule> = rt.inhibit_rules.iter().filter(|r| r.is_target(labels)).collect();
        if rules.is_empty() {
            return Vec::new();
        }
        let own = fingerprint(labels);
        let store = self.alerts.lock();
        let mut out: Vec<u64> = store
            .iter()
            .filter(|(fp, e)| **fp != own && !e.alert.is_resolved_at(now))
            .filter(|(_, e)| {
                let source = e.alert.labels();
                rules.iter().any(|r| r.inhibits(&source, labels))
            })
            .map(|(fp, _)| *fp)
            .collect();
        out.sort_unstable();
        out
    }

    /// The alerts that are not resolved, with their status.
    pub fn alerts(&self) -> Vec<AlertView> {
        let now = SystemTime::now();
        let rt = self.runtime();
        let held: Vec<(u64, Alert, SystemTime, Option<AlertSource>)> = self
            .alerts
            .lock()
            .iter()
            .filter(|(_, e)| !e.alert.is_resolved_at(now))
            .map(|(fp, e)| (*fp, e.alert.to_alert(), e.updated_at, e.source))
            .collect();
        let mut out: Vec<AlertView> = held
            .into_iter()
            .map(|(fp, alert, updated_at, source)| {
                let mut receivers: Vec<String> = rt
                    .route
                    .matching(&alert.labels)
                    .iter()
                    .map(|r| r.receiver.clone())
                    .collect();
                receivers.extend(self.flood_route(&rt, &alert.labels, now).map(|r| r.receiver));
                receivers.dedup();
                AlertView {
                    silenced_by: self.silenced_by(&alert.labels, now),
                    inhibited_by: self
                        .inhibited_by(&rt, &alert.labels, now)
                        .into_iter()
                        .map(|fp| format!("{fp:016x}"))
                        .collect(),
                    receivers,
                    fingerprint: fp,
                    updated_at,
                    alert,
                    source,
                }
            })
            .collect();
        out.sort_by(|a, b| a.alert.labels.cmp(&b.alert.labels));
        out
    }

    /// The alerts that are not resolved, grouped as routing groups them
    /// (one group per matching route and group-label values), after
    /// `keep` has filtered them. Groups left empty are not listed; groups
    /// are ordered by labels, then receiver, as Alertmanager orders them.
    pub fn alert_groups(&self, keep: impl Fn(&AlertView) -> bool) -> Vec<AlertGroupView> {
        let rt = self.runtime();
        let mut groups: HashMap<String, AlertGroupView> = HashMap::new();
        for a in self.alerts().into_iter().filter(|a| keep(a)) {
            for route in rt.route.matching(&a.alert.labels) {
                let labels = route.group_labels(&a.alert.labels);
                let key = format!("{}:{}", route.key, labels);
                groups
                    .entry(key)
                    .or_insert_with(|| AlertGroupView {
                        labels,
                        receiver: route.receiver.clone(),
                        alerts: Vec::new(),
                    })
                    .alerts
                    .push(a.clone());
            }
        }
        let mut out: Vec<AlertGroupView> = groups.into_values().collect();
        out.sort_by(|a, b| a.labels.cmp(&b.labels).then_with(|| a.receiver.cmp(&b.receiver)));
        out
    }

    /// The background loop: queued alerts from `AlertSink::send`, restored
    /// alerts at start, and periodic garbage collection.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let Some(mut rx) = self.queue_rx.lock().take() else {
            tracing::error!("alert dispatcher run() called twice; the second call does nothing");
            return;
        };
        if self.restored.swap(false, std::sync::atomic::Ordering::AcqRel) {
            tracing::info!(
                alerts = self.alerts.lock().len(),
                "restored alerts from the state store"
            );
            self.route_held(SystemTime::now());
        }
        let mut tick = tokio::time::interval(MAINTENANCE_INTERVAL);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                batch = rx.recv() => match batch {
                    Some((source, alerts)) => {
                        if let Err(e) = self.ingest(source, alerts) {
                            tracing::warn!(error = %e, source = source.as_str(), "alert source sent an invalid alert");
                        }
                    }
                    None => break,
                },
                _ = tick.tick() => self.maintain().await,
            }
        }
        self.groups_cancel.lock().cancel();
    }

    async fn maintain(&self) {
        let now = SystemTime::now();
        // Before resolved alerts are forgotten: a lapse is recorded first.
        self.record_lapsed(now);
        let gone = self
            .alerts
            .lock()
            .remove_resolved_before(now - RESOLVED_RETENTION);
        if let Some(w) = &self.writer
            && !gone.is_empty()
        {
            w.write_detached(
                gone.iter()
                    .map(|fp| WriteOp::delete(tables::ALERTS, format!("{fp:016x}")))
                    .collect(),
            );
        }
        if let Err(e) = self.silences.gc(now).await {
            tracing::warn!(error = %e, "silence garbage collection failed");
        }
        if let Err(e) = self.nflog.gc(now).await {
            tracing::warn!(error = %e, "notification log garbage collection failed");
        }
        let active = self
            .alerts
            .lock()
            .iter()
            .filter(|(_, e)| !e.alert.is_resolved_at(now))
            .count();
        self.metrics.alerts_active.set(active as f64);
        self.metrics
            .aggregation_groups
            .set(self.groups.lock().len() as f64);
        self.metrics
            .silences_active
            .set(self.silences.active_count(now) as f64);
        self.metrics.nflog_entries.set(self.nflog.len() as f64);
    }

    /// Ends, in the history, the received alerts recorded as firing whose
    /// `ends_at` passed without a refresh (no `endsAt` and
    /// `resolve_timeout` went by, or the given one did): at `ends_at`.
    fn record_lapsed(&self, now: SystemTime) {
        let lapsed = self.alerts.lock().take_lapsed(now);
        if lapsed.is_empty() {
            return;
        }
        let mut ops = Vec::new();
        let mut changes = Vec::new();
        for (fp, e) in lapsed {
            if self.writer.is_some()
                && let Ok(bytes) = serde_json::to_vec(&StoredAlert::from(&e))
            {
                ops.push(WriteOp::put(tables::ALERTS, format!("{fp:016x}"), bytes));
            }
            // Only a known source's alert is ever recorded as firing.
            if let Some(source) = e.source {
                changes.push(AlertChange {
                    at: e.alert.ends_at,
                    source,
                    labels: e.alert.labels(),
                    firing: false,
                    summary: e.alert.summary().to_string(),
                });
            }
        }
        if let Some(w) = &self.writer
            && !ops.is_empty()
        {
            w.write_detached(ops);
        }
        changes.sort_by_key(|c| c.at);
        self.keep_history(changes);
    }

    pub fn silences_limited(&self) {
        self.metrics.silences_limited.inc();
    }
}

/// A source's way in: what it sends is queued for `run`, named as its.
struct SourceSink {
    dispatcher: Arc<Dispatcher>,
    source: AlertSource,
}

impl AlertSink for SourceSink {
    fn send(&self, alerts: Vec<Alert>) {
        if alerts.is_empty() {
            return;
        }
        let d = &self.dispatcher;
        let n = alerts.len() as u64;
        if d.queue.try_send((self.source, alerts)).is_err() {
            d.metrics.alerts_dropped.add(n);
            tracing::warn!(
                alerts = n,
                source = self.source.as_str(),
                "alert dispatcher queue is full; alerts dropped"
            );
        }
    }

    /// Every unresolved alert, whoever sent it: a source picks out its own
    /// by their labels.
    fn each_firing(&self, visit: &mut dyn FnMut(&Alert)) {
        let now = SystemTime::now();
        for (_, e) in self.dispatcher.alerts.lock().iter() {
            if !e.alert.is_resolved_at(now) {
                visit(&e.alert.to_alert());
            }
        }
    }
}

fn validate(a: &Alert) -> Result<(), AlertingError> {
    if a.labels.is_empty() {
        return Err(AlertingError::BadAlert("at least one label pair required".into()));
    }
    if let Some(l) = a.labels.iter().find(|l| !is_legacy_label_name(&l.name)) {
        return Err(AlertingError::BadAlert(format!(
            "invalid label name {:?}",
            l.name
        )));
    }
    if a.ends_at != SystemTime::UNIX_EPOCH && a.starts_at != SystemTime::UNIX_EPOCH && a.ends_at < a.starts_at
    {
        return Err(AlertingError::BadAlert(format!(
            "alert {} ends before it starts",
            a.labels
        )));
    }
    Ok(())
}

/// Compiles the routing tree, receivers, inhibit rules and intervals.
fn build_runtime(config: Option<&AlertingConfig>) -> Result<Runtime, AlertingError> {
    let Some(cfg) = config else {
        return Ok(Runtime {
            route: Route::build(&crate::config::alerting::RouteConfig {
                receiver: Some("null".into()),
                ..Default::default()
            })
            .map_err(Box::new)?,
            receivers: HashMap::from([(
                "null".to_string(),
                Arc::new(Receiver {
                    name: "null".into(),
                    integrations: Vec::new(),
                }),
            )]),
            inhibit_rules: Vec::new(),
            time_intervals: HashMap::new(),
            resolve_timeout: Duration::from_secs(300),
            original: "# no alerting section configured\n".into(),
        });
    };
    let route_cfg = cfg.route.as_ref().ok_or(AlertingError::NoRoute)?;
    let route = Route::build(route_cfg).map_err(Box::new)?;
    // Template files are read now, so a bad one refuses this configuration.
    let templates = Templates::load(&cfg.templates).map_err(|e| AlertingError::Templates(Box::new(e)))?;
    let mut receivers = HashMap::new();
    for r in &cfg.receivers {
        let mut integrations: Vec<Arc<dyn Notifier>> = Vec::new();
        for e in &r.email_configs {
            let n = EmailNotifier::new(e, &templates).map_err(|source| AlertingError::Receiver {
                receiver: r.name.clone(),
                source: Box::new(source),
            })?;
            integrations.push(Arc::new(n));
        }
        for w in &r.webhook_configs {
            let n = WebhookNotifier::new(w).map_err(|source| AlertingError::Receiver {
                receiver: r.name.clone(),
                source: Box::new(source),
            })?;
            integrations.push(Arc::new(n));
        }
        let failed = |source| AlertingError::Receiver {
            receiver: r.name.clone(),
            source: Box::new(source),
        };
        for c in &r.slack_configs {
            integrations.push(Arc::new(SlackNotifier::new(c, &templates).map_err(failed)?));
        }
        for c in &r.msteamsv2_configs {
            integrations.push(Arc::new(MsTeamsV2Notifier::new(c, &templates).map_err(failed)?));
        }
        for c in &r.discord_configs {
            integrations.push(Arc::new(DiscordNotifier::new(c, &templates).map_err(failed)?));
        }
        for c in &r.telegram_configs {
            integrations.push(Arc::new(TelegramNotifier::new(c, &templates).map_err(failed)?));
        }
        for c in &r.pagerduty_configs {
            integrations.push(Arc::new(PagerdutyNotifier::new(c, &templates).map_err(failed)?));
        }
        receivers.insert(
            r.name.clone(),
            Arc::new(Receiver {
                name: r.name.clone(),
                integrations,
            }),
        );
    }
    let mut missing = None;
    route.walk(&mut |r| {
        if !receivers.contains_key(&r.receiver) {
            missing.get_or_insert(r.receiver.clone());
        }
    });
    if let Some(m) = missing {
        return Err(AlertingError::UndefinedReceiver(m));
    }
    let inhibit_rules = cfg
        .inhibit_rules
        .iter()
        .map(InhibitRule::build)
        .collect::<Result<_, _>>()
        .map_err(Box::new)?;
    let time_intervals = cfg
        .all_time_intervals()
        .map(|t| TimeInterval::compile(t).map(|c| (t.name.clone(), c)))
        .collect::<Result<_, _>>()
        .map_err(Box::new)?;
    Ok(Runtime {
        route,
        receivers,
        inhibit_rules,
        time_intervals,
        resolve_timeout: cfg.global.resolve_timeout.as_duration(),
        // As Alertmanager shows it: YAML, every secret as `<secret>`.
        original: serde_norway::to_string(cfg)
            .unwrap_or_else(|e| format!("# the configuration cannot be shown: {e}\n")),
    })
}

impl GroupOwner for Dispatcher {
    fn flush_group(&self, group: &Group) -> impl Future<Output = ()> + Send {
        self.flush(group)
    }

    fn forget_group_if_empty(&self, group: &Arc<Group>) -> bool {
        let mut groups = self.groups.lock();
        if !group.is_empty() {
            return false;
        }
        if groups.get(&group.key).is_some_and(|g| Arc::ptr_eq(g, group)) {
            groups.remove(&group.key);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;

    /// The alert history as a list.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<AlertChange>>);

    impl AlertHistorySink for Recorder {
        fn keep(&self, changes: Vec<AlertChange>) {
            self.0.lock().extend(changes);
        }
    }

    impl Recorder {
        /// What was kept since the last look: (alertname, firing, source).
        fn take(&self) -> Vec<(String, bool, AlertSource)> {
            self.0
                .lock()
                .drain(..)
                .map(|c| {
                    (
                        c.labels.get("alertname").unwrap_or_default().to_string(),
                        c.firing,
                        c.source,
                    )
                })
                .collect()
        }
    }

    fn dispatcher(state: Option<Arc<StateStore>>, history: &Arc<Recorder>) -> Arc<Dispatcher> {
        let options = DispatcherOptions {
            state,
            history: Some(history.clone()),
            ..Default::default()
        };
        Dispatcher::new(None, options, &Registry::new()).unwrap()
    }

    /// An alert; `ends_at` of the epoch means none given.
    fn alert(name: &str, ends_at: SystemTime) -> Alert {
        Alert {
            labels: Labels::from_pairs(&[("alertname", name), ("host", "db-1")]),
            annotations: Labels::from_pairs(&[("summary", "it broke")]),
            starts_at: UNIX_EPOCH,
            ends_at,
            generator_url: String::new(),
        }
    }

    fn fired(name: &str, source: AlertSource) -> (String, bool, AlertSource) {
        (name.to_string(), true, source)
    }

    fn ended(name: &str, source: AlertSource) -> (String, bool, AlertSource) {
        (name.to_string(), false, source)
    }

    #[tokio::test]
    async fn received_alerts_keep_their_state_changes_and_the_rules_alerts_do_not() {
        let history = Arc::new(Recorder::default());
        let d = dispatcher(None, &history);
        let hour = Duration::from_secs(3600);

        d.ingest(AlertSource::Api, vec![alert("BackupFailed", UNIX_EPOCH)])
            .unwrap();
        assert_eq!(history.take(), vec![fired("BackupFailed", AlertSource::Api)]);
        // Prometheus re-sends every evaluation.
        d.ingest(AlertSource::Api, vec![alert("BackupFailed", UNIX_EPOCH)])
            .unwrap();
        assert_eq!(history.take(), vec![]);
        d.ingest(AlertSource::Rules, vec![alert("HighErrors", UNIX_EPOCH)])
            .unwrap();
        assert_eq!(history.take(), vec![]);
        let before_resolve = SystemTime::now();
        d.ingest(
            AlertSource::Api,
            vec![alert("BackupFailed", SystemTime::now() - Duration::from_secs(1))],
        )
        .unwrap();
        let resolved = history.0.lock().clone();
        assert_eq!(history.take(), vec![ended("BackupFailed", AlertSource::Api)]);
        // Not before it was last seen firing, not after it arrived resolved.
        assert!(
            resolved[0].at <= SystemTime::now() && resolved[0].at >= before_resolve - Duration::from_secs(1)
        );
        assert_eq!(resolved[0].summary, "it broke");
        assert_eq!(resolved[0].labels.get("host"), Some("db-1"));

        // An error alert that lapses: its end passes without a refresh.
        let ends = SystemTime::now() + hour;
        d.ingest(AlertSource::Errors, vec![alert("ErrorIssueNew", ends)])
            .unwrap();
        assert_eq!(history.take(), vec![fired("ErrorIssueNew", AlertSource::Errors)]);
        d.record_lapsed(ends - Duration::from_secs(1));
        assert_eq!(history.take(), vec![]);
        // The rules' alert (ending at resolve_timeout) lapses too, unrecorded.
        d.record_lapsed(ends + hour);
        let lapsed = history.0.lock().clone();
        assert_eq!(history.take(), vec![ended("ErrorIssueNew", AlertSource::Errors)]);
        assert_eq!(lapsed[0].at, ends);
        d.record_lapsed(ends + 2 * hour);
        assert_eq!(history.take(), vec![]);

        // Back again after it resolved: it fires again.
        d.ingest(AlertSource::Api, vec![alert("BackupFailed", UNIX_EPOCH)])
            .unwrap();
        assert_eq!(history.take(), vec![fired("BackupFailed", AlertSource::Api)]);
        let sources: Vec<_> = d.alerts().into_iter().map(|a| a.source).collect();
        assert!(sources.contains(&Some(AlertSource::Rules)) && sources.contains(&Some(AlertSource::Api)));
    }

    #[tokio::test]
    async fn a_received_alert_restored_after_a_restart_is_known_as_firing() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::open(dir.path()).unwrap();
        let history = Arc::new(Recorder::default());
        let first = dispatcher(Some(store.clone()), &history);
        first
            .ingest(AlertSource::Api, vec![alert("BackupFailed", UNIX_EPOCH)])
            .unwrap();
        assert_eq!(history.take(), vec![fired("BackupFailed", AlertSource::Api)]);
        // The held alert reaches `state.redb` through the writer thread.
        let key = format!("{:016x}", fingerprint(&alert("BackupFailed", UNIX_EPOCH).labels));
        let mut stored = None;
        for _ in 0..500 {
            stored = store.get(tables::ALERTS, &key).unwrap();
            if stored.is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let stored = String::from_utf8(stored.expect("the alert was stored")).unwrap();
        assert!(stored.contains(r#""source":"alertmanager-api""#), "{stored}");

        let history = Arc::new(Recorder::default());
        let second = dispatcher(Some(store.clone()), &history);
        assert_eq!(second.alerts()[0].source, Some(AlertSource::Api));
        second
            .ingest(AlertSource::Api, vec![alert("BackupFailed", UNIX_EPOCH)])
            .unwrap();
        assert_eq!(history.take(), vec![]);
        second
            .ingest(
                AlertSource::Api,
                vec![alert("BackupFailed", SystemTime::now() - Duration::from_secs(1))],
            )
            .unwrap();
        assert_eq!(history.take(), vec![ended("BackupFailed", AlertSource::Api)]);
    }
}
