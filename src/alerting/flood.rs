//! Alert flood mode (`alerting_flood` in the configuration): for a set
//! time every alert without the critical severity is silenced, critical
//! alerts also go to a secondary receiver, and chosen rules evaluate a
//! raised-threshold expression instead of their own. It ends by itself at
//! its end, also across a restart.
//!
//! The silencing is a real silence owned by flood mode (matcher
//! `severity!="critical"`, ending when flood mode ends), so `amtool`, the
//! Silences page and the API's `silencedBy` show why an alert is quiet,
//! and it lapses at the end by itself even when Belfry is down then. The
//! secondary receiver is an extra route of the dispatcher
//! ([`FloodRouting`]); the overrides reach the rules through
//! `model::RuleOverrideSink`. The state is kept in `state.redb`'s
//! `alert_flood` table, written in one transaction with its audit entry.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::dispatcher::{Dispatcher, FloodRouting};
use super::error::AlertingError;
use super::silence::{Silence, SilenceMatcher};
use crate::auth::{Actor, AuditLog};
use crate::config::AlertFloodConfig;
use crate::model::{PromDuration, RuleOverrideSink, parse_rfc3339, rfc3339};
use crate::selfmetrics::{CounterVec, Gauge, Registry};
use crate::state::{StateStore, WriteOp, tables};

/// The one key of table `alert_flood`.
const STATE_KEY: &str = "current";
/// Who the audit log names when flood mode ends by itself.
const EXPIRY_ACTOR: &str = "belfry";

/// Why a request to turn flood mode on was refused: the `reason` label
/// of `belfry_flood_mode_refusals_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FloodRefusal {
    NotConfigured,
    NoEnd,
    BadEnd,
    EndInPast,
    NotPositive,
    BeyondLimit,
    UnknownOverride,
}

impl FloodRefusal {
    pub fn as_str(self) -> &'static str {
        match self {
            FloodRefusal::NotConfigured => "not_configured",
            FloodRefusal::NoEnd => "no_end",
            FloodRefusal::BadEnd => "bad_end",
            FloodRefusal::EndInPast => "end_in_past",
            FloodRefusal::NotPositive => "duration_not_positive",
            FloodRefusal::BeyondLimit => "beyond_max_duration",
            FloodRefusal::UnknownOverride => "unknown_override",
        }
    }
}

/// What turning flood mode on asks for: an end (`until`, RFC 3339) or a
/// length (`duration`, e.g. `2h`), exactly one of them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FloodRequest {
    pub until: Option<String>,
    pub duration: Option<String>,
    pub reason: String,
    pub overrides: Vec<String>,
}

/// Flood mode while it is on, as kept in `state.redb`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FloodState {
    /// Unix milliseconds.
    pub started_ms: i64,
    pub ends_ms: i64,
    pub by: String,
    pub reason: String,
    /// Names of the overrides in force.
    pub overrides: Vec<String>,
    /// The silence flood mode owns.
    pub silence_id: String,
}

impl FloodState {
    pub fn ends_at(&self) -> SystemTime {
        from_ms(self.ends_ms)
    }

    pub fn started_at(&self) -> SystemTime {
        from_ms(self.started_ms)
    }
}

fn to_ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn from_ms(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

struct FloodMetrics {
    refusals: Arc<CounterVec>,
    active: Arc<Gauge>,
}

pub struct FloodMode {
    dispatcher: Arc<Dispatcher>,
    config: RwLock<Option<AlertFloodConfig>>,
    state: RwLock<Option<FloodState>>,
    /// Serializes turning on, off and expiry.
    change: tokio::sync::Mutex<()>,
    store: Option<Arc<StateStore>>,
    audit: Option<Arc<AuditLog>>,
    rules: RwLock<Option<Arc<dyn RuleOverrideSink>>>,
    metrics: FloodMetrics,
    /// Wakes `run` when the end moves.
    changed: Notify,
}

impl FloodMode {
    /// Reads the kept state; flood mode that ended while Belfry was down
    /// is ended now (and audited). Blocking (reads `state.redb`).
    pub fn new(
        dispatcher: Arc<Dispatcher>,
        config: Option<&AlertFloodConfig>,
        store: Option<Arc<StateStore>>,
        audit: Option<Arc<AuditLog>>,
        registry: &Registry,
    ) -> Result<Arc<FloodMode>, AlertingError> {
        let state = match &store {
            Some(s) => match s.get(tables::ALERT_FLOOD, STATE_KEY)? {
                Some(bytes) => match serde_json::from_slice::<FloodState>(&bytes) {
                    Ok(st) => Some(st),
                    Err(e) => {
                        tracing::warn!(error = %e, "ignoring unreadable alert flood mode state");
                        None
                    }
                },
                None => None,
            },
            None => None,
        };
        let metrics = FloodMetrics {
            refusals: registry.counter_vec(
                "belfry_flood_mode_refusals_total",
                "Requests to turn alert flood mode on that were refused, by reason.",
                &["reason"],
            ),
            active: registry.gauge("belfry_flood_mode_active", "1 while alert flood mode is on."),
        };
        let flood = Arc::new(FloodMode {
            dispatcher,
            config: RwLock::new(config.cloned()),
            state: RwLock::new(state),
            change: tokio::sync::Mutex::new(()),
            store,
            audit,
            rules: RwLock::new(None),
            metrics,
            changed: Notify::new(),
        });
        Ok(flood)
    }

    /// Where the overrides go (the rule manager, built after the dispatcher).
    /// The kept state's effects are applied now, before the rules'
    /// first evaluation.
    pub fn set_rules(&self, rules: Arc<dyn RuleOverrideSink>) {
        *self.rules.write() = Some(rules);
        self.apply_effects(SystemTime::now());
    }

    /// Applies a reloaded configuration to flood mode in force: another
    /// secondary receiver, overrides' new expressions (an override no
    /// longer configured is dropped). Without the section, flood mode ends.
    pub fn reconfigure(self: &Arc<Self>, config: Option<&AlertFloodConfig>) {
        *self.config.write() = config.cloned();
        if config.is_none() && self.state.read().is_some() {
            let me = self.clone();
            tokio::spawn(async move {
                let _one = me.change.lock().await;
                if let Err(e) = me.end(&Actor::config(), "flood.off", true).await {
                    tracing::error!(error = %e, "cannot end alert flood mode removed from the configuration");
                }
            });
            return;
        }
        self.apply_effects(SystemTime::now());
    }

    /// Flood mode while on.
    pub fn status(&self) -> Option<FloodState> {
        self.state
            .read()
            .clone()
            .filter(|s| s.ends_at() > SystemTime::now())
    }

    pub fn config(&self) -> Option<AlertFloodConfig> {
        self.config.read().clone()
    }

    fn refuse(&self, reason: FloodRefusal, message: String) -> AlertingError {
        self.metrics.refusals.with(&[reason.as_str()]).inc();
        AlertingError::FloodRefused { reason, message }
    }

    /// The end a request asks for, checked against `now` and the limit.
    fn end_of(
        &self,
        req: &FloodRequest,
        cfg: &AlertFloodConfig,
        now: SystemTime,
    ) -> Result<SystemTime, AlertingError> {
        let max = cfg.max_duration.as_duration();
        let end = match (req.until.as_deref(), req.duration.as_deref()) {
            (Some(_), Some(_)) | (None, None) => {
                return Err(self.refuse(
                    FloodRefusal::NoEnd,
                    "give exactly one of until (an RFC 3339 time) and duration (e.g. 2h)".into(),
                ));
            }
            (Some(u), None) => {
                let end = parse_rfc3339(u).map_err(|e| {
                    self.refuse(
                        FloodRefusal::BadEnd,
                        format!("until {u:?} is not an RFC 3339 time: {e}"),
                    )
                })?;
                if end <= now {
                    return Err(self.refuse(
                        FloodRefusal::EndInPast,
                        format!("until {u:?} is not in the future"),
                    ));
                }
                end
            }
            (None, Some(d)) => {
                let length = PromDuration::parse(d.trim()).map_err(|e| {
                    let reason = if d.trim_start().starts_with('-') {
                        FloodRefusal::NotPositive
                    } else {
                        FloodRefusal::BadEnd
                    };
                    self.refuse(
                        reason,
                        format!("duration {d:?} is not a duration such as 2h: {e}"),
                    )
                })?;
                if length.is_zero() {
                    return Err(self.refuse(
                        FloodRefusal::NotPositive,
                        format!("duration {d:?} must be greater than 0"),
                    ));
                }
                now + length.as_duration()
            }
        };
        if end.duration_since(now).unwrap_or_default() > max {
            return Err(self.refuse(
                FloodRefusal::BeyondLimit,
                format!(
                    "the end {} is beyond alerting_flood.max_duration ({}) from now",
                    rfc3339(end),
                    cfg.max_duration
                ),
            ));
        }
        Ok(end)
    }

    /// Turns flood mode on, or — when it is on already — replaces its end,
    /// reason and overrides (its start and silence are kept).
    pub async fn turn_on(&self, req: FloodRequest, actor: &Actor) -> Result<FloodState, AlertingError> {
        let _one = self.change.lock().await;
        // Flood mode whose end just passed, before `run` ended it: its
        // expiry is recorded first, so the log never skips one.
        self.expire_if_due().await?;
        let now = SystemTime::now();
        let Some(cfg) = self.config() else {
            return Err(self.refuse(
                FloodRefusal::NotConfigured,
                "alert flood mode is not configured (no alerting_flood section)".into(),
            ));
        };
        // Kept to the millisecond, as the state is, so the silence ends
        // exactly when flood mode does.
        let end = from_ms(to_ms(self.end_of(&req, &cfg, now)?));
        let mut overrides = Vec::new();
        for name in &req.overrides {
            if !cfg.overrides.iter().any(|o| &o.name == name) {
                let known: Vec<&str> = cfg.overrides.iter().map(|o| o.name.as_str()).collect();
                return Err(self.refuse(
                    FloodRefusal::UnknownOverride,
                    format!("unknown override {name:?} (configured: {})", known.join(", ")),
                ));
            }
            if !overrides.contains(name) {
                overrides.push(name.clone());
            }
        }
        let previous = self.status();
        // The silence in force is updated in place (same matchers, same
        // start), so the Silences page keeps one silence for flood mode.
        let kept = previous
            .as_ref()
            .and_then(|p| self.dispatcher.silences().get(&p.silence_id));
        let silence = Silence {
            id: kept.as_ref().map(|k| k.id.clone()).unwrap_or_default(),
            matchers: silence_matchers(&cfg),
            starts_at: kept.as_ref().map_or(now, |k| k.starts_at),
            ends_at: end,
            updated_at: now,
            created_by: format!("alert flood mode ({})", actor.name),
            comment: format!(
                "Alert flood mode: {}",
                if req.reason.is_empty() {
                    "no reason given"
                } else {
                    &req.reason
                }
            ),
        };
        let silence_id = self.dispatcher.silences().set(silence, now).await?;
        let state = FloodState {
            started_ms: previous.as_ref().map_or(to_ms(now), |p| p.started_ms),
            ends_ms: to_ms(end),
            by: actor.name.clone(),
            reason: req.reason.clone(),
            overrides,
            silence_id,
        };
        let detail = format!(
            "until {}; overrides: {}; reason: {}",
            rfc3339(end),
            if state.overrides.is_empty() {
                "none".to_string()
            } else {
                state.overrides.join(", ")
            },
            state.reason
        );
        let bytes = serde_json::to_vec(&state).map_err(|e| AlertingError::Internal(e.to_string()))?;
        let action = if previous.is_some() {
            "flood.extend"
        } else {
            "flood.on"
        };
        self.switch(
            WriteOp::put(tables::ALERT_FLOOD, STATE_KEY, bytes),
            Some(state.clone()),
            actor,
            action,
            detail,
            now,
        )
        .await?;
        tracing::info!(until = %rfc3339(end), by = actor.name, "alert flood mode on");
        Ok(state)
    }

    /// Turns flood mode off before its end.
    pub async fn turn_off(&self, actor: &Actor) -> Result<FloodState, AlertingError> {
        let _one = self.change.lock().await;
        self.end(actor, "flood.off", true).await
    }

    /// Ends flood mode: the state and its audit entry in one write, the
    /// silence expired when `early` (else it lapsed by itself), the
    /// dispatcher's route and the rules' overrides back to normal.
    async fn end(&self, actor: &Actor, action: &str, early: bool) -> Result<FloodState, AlertingError> {
        let Some(state) = self.state.read().clone() else {
            return Err(AlertingError::FloodOff);
        };
        let now = SystemTime::now();
        if early && state.ends_at() > now {
            match self.dispatcher.silences().expire(&state.silence_id, now).await {
                Ok(()) | Err(AlertingError::SilenceExpired(_) | AlertingError::SilenceNotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        let detail = format!("was until {}; reason: {}", rfc3339(state.ends_at()), state.reason);
        self.switch(
            WriteOp::delete(tables::ALERT_FLOOD, STATE_KEY),
            None,
            actor,
            action,
            detail,
            now,
        )
        .await?;
        tracing::info!(action, by = actor.name, "alert flood mode off");
        Ok(state)
    }

    /// Moves to `next`: `op` and the audit entry written first, then the
    /// state in memory, the silence route and overrides, and `run`'s timer
    /// — in this order for every change, so memory never runs ahead of disk.
    async fn switch(
        &self,
        op: WriteOp,
        next: Option<FloodState>,
        actor: &Actor,
        action: &str,
        detail: String,
        now: SystemTime,
    ) -> Result<(), AlertingError> {
        self.persist(op, actor, action, detail).await?;
        *self.state.write() = next;
        self.apply_effects(now);
        self.changed.notify_one();
        Ok(())
    }

    /// Writes `op` and the audit entry of `action` in one transaction.
    async fn persist(
        &self,
        op: WriteOp,
        actor: &Actor,
        action: &str,
        detail: String,
    ) -> Result<(), AlertingError> {
        let Some(store) = self.store.clone() else {
            return Ok(());
        };
        let mut ops = vec![op];
        if let Some(audit) = &self.audit {
            ops.push(
                audit
                    .record(actor, action, "alert flood mode", detail)
                    .map_err(|e| AlertingError::Internal(e.to_string()))?,
            );
        }
        tokio::task::spawn_blocking(move || store.write(&ops))
            .await
            .map_err(|e| AlertingError::Internal(e.to_string()))??;
        Ok(())
    }

    /// Puts the dispatcher's extra route, the rules' overrides and the
    /// gauge in line with the state at `now`.
    fn apply_effects(&self, now: SystemTime) {
        let state = self.state.read().clone().filter(|s| s.ends_at() > now);
        let cfg = self.config();
        let (routing, overrides) = match (&state, &cfg) {
            (Some(s), Some(c)) => (
                Some(FloodRouting {
                    secondary_receiver: c.secondary_receiver.clone(),
                    critical_label: c.critical_label.clone(),
                    critical_values: c.critical_values.clone(),
                    until: s.ends_at(),
                }),
                s.overrides
                    .iter()
                    .filter_map(|name| c.overrides.iter().find(|o| &o.name == name))
                    .map(|o| (o.rule.clone(), o.expr.clone()))
                    .collect(),
            ),
            _ => (None, Vec::new()),
        };
        self.metrics.active.set(if routing.is_some() { 1.0 } else { 0.0 });
        self.dispatcher.set_flood_routing(routing);
        if let Some(rules) = self.rules.read().as_ref() {
            rules.set_overrides(overrides);
        }
    }

    /// Ends flood mode, recorded as its expiry, when its end has passed;
    /// the caller holds `change`, so a turn on or off cannot come between
    /// the look and the end.
    async fn expire_if_due(&self) -> Result<(), AlertingError> {
        let due = self
            .state
            .read()
            .as_ref()
            .is_some_and(|s| s.ends_at() <= SystemTime::now());
        if due {
            self.end(&Actor::new(EXPIRY_ACTOR, "local"), "flood.expire", false)
                .await?;
        }
        Ok(())
    }

    /// Ends flood mode at its end; at start, applies the kept state (or
    /// ends it, when its end passed while Belfry was down).
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        self.apply_effects(SystemTime::now());
        loop {
            let end = self.state.read().as_ref().map(FloodState::ends_at);
            if let Some(end) = end
                && end <= SystemTime::now()
            {
                let _one = self.change.lock().await;
                if let Err(e) = self.expire_if_due().await {
                    tracing::error!(error = %e, "cannot end alert flood mode at its end; retrying");
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = tokio::time::sleep(Duration::from_secs(5)) => {}
                    }
                }
                continue;
            }
            let wait = end.map(|e| e.duration_since(SystemTime::now()).unwrap_or_default());
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = self.changed.notified() => {}
                _ = sleep_or_forever(wait) => {}
            }
        }
    }
}

async fn sleep_or_forever(wait: Option<Duration>) {
    match wait {
        // Woken a little after the end, so the end has passed on the clock.
        Some(w) => tokio::time::sleep(w + Duration::from_millis(20)).await,
        None => std::future::pending().await,
    }
}

/// Silences every alert whose critical label is not one of the critical
/// values (an alert without the label included). A silence must have a
/// matcher that does not match the empty string (Alertmanager refuses one
/// that would silence everything), so the second one asks for an
/// `alertname`, which every alert of the rules and of Alertmanager's
/// clients has.
fn silence_matchers(cfg: &AlertFloodConfig) -> Vec<SilenceMatcher> {
    let severity = match cfg.critical_values.as_slice() {
        [one] => SilenceMatcher {
            name: cfg.critical_label.clone(),
            value: one.clone(),
            is_regex: false,
            is_equal: false,
        },
        many => SilenceMatcher {
            name: cfg.critical_label.clone(),
            value: many
                .iter()
                .map(|v| regex::escape(v))
                .collect::<Vec<_>>()
                .join("|"),
            is_regex: true,
            is_equal: false,
        },
    };
    let named = SilenceMatcher {
        name: "alertname".into(),
        value: ".+".into(),
        is_regex: true,
        is_equal: true,
    };
    vec![severity, named]
}

#[cfg(test)]
mod tests {
    use parking_lot::Mutex;

    use super::*;
    use crate::alerting::{DispatcherOptions, SilenceState};
    use crate::config::FloodOverride;
    use crate::model::{Alert, AlertSource, Labels};

    /// The overrides the rules were last given.
    #[derive(Default)]
    struct Rules(Mutex<Vec<Vec<(String, String)>>>);

    impl RuleOverrideSink for Rules {
        fn set_overrides(&self, overrides: Vec<(String, String)>) {
            self.0.lock().push(overrides);
        }
    }

    impl Rules {
        fn last(&self) -> Vec<(String, String)> {
            self.0.lock().last().cloned().unwrap_or_default()
        }
    }

    fn config() -> AlertFloodConfig {
        AlertFloodConfig {
            secondary_receiver: "oncall".into(),
            max_duration: PromDuration::from_secs(3600),
            critical_label: "severity".into(),
            critical_values: vec!["critical".into()],
            overrides: vec![FloodOverride {
                name: "raise".into(),
                rule: "lms/ErrorsHigh".into(),
                expr: "errors > 50".into(),
            }],
        }
    }

    struct Setup {
        flood: Arc<FloodMode>,
        dispatcher: Arc<Dispatcher>,
        rules: Arc<Rules>,
        registry: Arc<Registry>,
    }

    fn open(store: &Arc<StateStore>) -> Setup {
        let registry = Registry::new();
        let options = DispatcherOptions {
            state: Some(store.clone()),
            ..Default::default()
        };
        let dispatcher = Dispatcher::new(None, options, &registry).unwrap();
        let audit = Arc::new(AuditLog::new(store.clone()));
        let flood = FloodMode::new(
            dispatcher.clone(),
            Some(&config()),
            Some(store.clone()),
            Some(audit),
            &registry,
        )
        .unwrap();
        let rules = Arc::new(Rules::default());
        flood.set_rules(rules.clone());
        Setup {
            flood,
            dispatcher,
            rules,
            registry,
        }
    }

    fn actions(store: &Arc<StateStore>) -> Vec<String> {
        let page = AuditLog::new(store.clone()).list(None, 100).unwrap();
        page.entries.into_iter().rev().map(|e| e.action).collect()
    }

    fn ask(until: Option<String>, duration: Option<&str>, overrides: &[&str]) -> FloodRequest {
        FloodRequest {
            until,
            duration: duration.map(str::to_string),
            reason: "outage".into(),
            overrides: overrides.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[tokio::test]
    async fn bad_requests_are_refused_by_name_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::open(dir.path()).unwrap();
        let s = open(&store);
        let me = Actor::new("ada", "127.0.0.1");
        let past = rfc3339(SystemTime::now() - Duration::from_secs(60));
        let cases = [
            (ask(Some(past), None, &[]), "end_in_past", "not in the future"),
            (
                ask(None, Some("0s"), &[]),
                "duration_not_positive",
                "greater than 0",
            ),
            (
                ask(None, Some("-1h"), &[]),
                "duration_not_positive",
                "not a duration",
            ),
            (
                ask(None, Some("2h"), &[]),
                "beyond_max_duration",
                "max_duration (1h)",
            ),
            (ask(None, Some("10m"), &["nope"]), "unknown_override", "\"nope\""),
            (ask(None, None, &[]), "no_end", "exactly one"),
            (ask(Some("tomorrow".into()), None, &[]), "bad_end", "\"tomorrow\""),
        ];
        for (req, reason, needle) in cases {
            let e = s.flood.turn_on(req, &me).await.unwrap_err();
            assert!(
                matches!(&e, AlertingError::FloodRefused { reason: r, .. } if r.as_str() == reason),
                "{e}"
            );
            assert!(e.to_string().contains(needle), "{e}");
        }
        let counted = |r: &str| s.flood.metrics.refusals.with(&[r]).get();
        assert_eq!(counted("duration_not_positive"), 2);
        assert_eq!(counted("end_in_past"), 1);
        assert!(s.flood.status().is_none() && s.dispatcher.silences().list().is_empty());
        assert!(matches!(
            s.flood.turn_off(&me).await,
            Err(AlertingError::FloodOff)
        ));
        assert!(actions(&store).is_empty());
        let text = s.registry.render();
        assert!(text.contains("belfry_flood_mode_active 0"), "{text}");
    }

    #[tokio::test]
    async fn on_silences_routes_and_overrides_survives_a_restart_and_off_restores() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::open(dir.path()).unwrap();
        let s = open(&store);
        let me = Actor::new("ada", "127.0.0.1");
        let critical = Labels::from_pairs(&[("alertname", "LmsDown"), ("severity", "critical")]);
        let warning = Labels::from_pairs(&[("alertname", "ErrorsHigh"), ("severity", "warning")]);
        let bare = Labels::from_pairs(&[("alertname", "NoSeverity")]);
        let alert = |labels: &Labels| Alert {
            labels: labels.clone(),
            annotations: Labels::default(),
            starts_at: UNIX_EPOCH,
            ends_at: UNIX_EPOCH,
            generator_url: String::new(),
        };
        s.dispatcher
            .ingest(
                AlertSource::Api,
                vec![alert(&critical), alert(&warning), alert(&bare)],
            )
            .unwrap();

        let on = s
            .flood
            .turn_on(ask(None, Some("30m"), &["raise"]), &me)
            .await
            .unwrap();
        let now = SystemTime::now();
        assert_eq!(
            s.rules.last(),
            vec![("lms/ErrorsHigh".to_string(), "errors > 50".to_string())]
        );
        assert!(s.dispatcher.silenced_by(&critical, now).is_empty());
        assert_eq!(
            s.dispatcher.silenced_by(&warning, now),
            vec![on.silence_id.clone()]
        );
        assert_eq!(s.dispatcher.silenced_by(&bare, now), vec![on.silence_id.clone()]);
        let receivers = |name: &str| {
            s.dispatcher
                .alerts()
                .into_iter()
                .find(|a| a.alert.labels.get("alertname") == Some(name))
                .unwrap()
                .receivers
        };
        assert_eq!(receivers("LmsDown"), ["null", "oncall"]);
        assert_eq!(receivers("ErrorsHigh"), ["null"]);
        assert!(s.registry.render().contains("belfry_flood_mode_active 1"));

        // On again: the end and overrides are replaced, start and silence kept.
        let again = s.flood.turn_on(ask(None, Some("45m"), &[]), &me).await.unwrap();
        assert_eq!(
            (again.started_ms, &again.silence_id),
            (on.started_ms, &on.silence_id)
        );
        assert!(again.ends_ms > on.ends_ms);
        assert!(s.rules.last().is_empty());
        let silence = s.dispatcher.silences().get(&on.silence_id).unwrap();
        assert_eq!(silence.ends_at, again.ends_at());

        // A restart reads it back and applies it.
        let reopened = open(&store);
        assert_eq!(reopened.flood.status(), Some(again.clone()));
        assert_eq!(
            reopened.dispatcher.silenced_by(&warning, SystemTime::now()),
            vec![on.silence_id.clone()]
        );

        let off = reopened.flood.turn_off(&me).await.unwrap();
        assert_eq!(off.silence_id, on.silence_id);
        assert!(reopened.flood.status().is_none());
        assert!(reopened.rules.last().is_empty());
        let silence = reopened.dispatcher.silences().get(&on.silence_id).unwrap();
        assert_eq!(silence.state(SystemTime::now()), SilenceState::Expired);
        assert!(store.get(tables::ALERT_FLOOD, STATE_KEY).unwrap().is_none());
        assert_eq!(actions(&store), ["flood.on", "flood.extend", "flood.off"]);
    }

    #[tokio::test]
    async fn flood_mode_whose_end_passed_while_down_ends_at_start_and_is_audited() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::open(dir.path()).unwrap();
        let ended = FloodState {
            started_ms: to_ms(SystemTime::now()) - 7_200_000,
            ends_ms: to_ms(SystemTime::now()) - 3_600_000,
            by: "ada".into(),
            reason: "outage".into(),
            overrides: vec!["raise".into()],
            silence_id: "gone".into(),
        };
        store
            .write(&[WriteOp::put(
                tables::ALERT_FLOOD,
                STATE_KEY,
                serde_json::to_vec(&ended).unwrap(),
            )])
            .unwrap();
        let s = open(&store);
        // Not in force even before `run` ends it.
        assert!(s.flood.status().is_none());
        assert!(s.rules.last().is_empty());
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(s.flood.clone().run(shutdown.clone()));
        for _ in 0..500 {
            if store.get(tables::ALERT_FLOOD, STATE_KEY).unwrap().is_none() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(store.get(tables::ALERT_FLOOD, STATE_KEY).unwrap().is_none());
        assert_eq!(actions(&store), ["flood.expire"]);
        shutdown.cancel();
        task.await.unwrap();

        // Turned on again before `run` ended the old one: its expiry is
        // recorded first.
        store
            .write(&[WriteOp::put(
                tables::ALERT_FLOOD,
                STATE_KEY,
                serde_json::to_vec(&ended).unwrap(),
            )])
            .unwrap();
        let s = open(&store);
        let me = Actor::new("ada", "127.0.0.1");
        let on = s.flood.turn_on(ask(None, Some("5m"), &[]), &me).await.unwrap();
        assert_ne!(on.started_ms, ended.started_ms);
        assert_eq!(actions(&store), ["flood.expire", "flood.expire", "flood.on"]);
    }

    #[tokio::test]
    async fn a_reload_moves_the_secondary_receiver_and_one_without_the_section_ends_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::open(dir.path()).unwrap();
        let s = open(&store);
        let me = Actor::new("ada", "127.0.0.1");
        let critical = Labels::from_pairs(&[("alertname", "LmsDown"), ("severity", "critical")]);
        let alert = Alert {
            labels: critical.clone(),
            annotations: Labels::default(),
            starts_at: UNIX_EPOCH,
            ends_at: UNIX_EPOCH,
            generator_url: String::new(),
        };
        s.dispatcher.ingest(AlertSource::Api, vec![alert]).unwrap();
        s.flood
            .turn_on(ask(None, Some("10m"), &["raise"]), &me)
            .await
            .unwrap();
        let mut moved = config();
        moved.secondary_receiver = "pager".into();
        moved.overrides[0].expr = "errors > 80".into();
        s.flood.reconfigure(Some(&moved));
        assert_eq!(s.dispatcher.alerts()[0].receivers, ["null", "pager"]);
        assert_eq!(
            s.rules.last(),
            vec![("lms/ErrorsHigh".to_string(), "errors > 80".to_string())]
        );

        s.flood.reconfigure(None);
        for _ in 0..500 {
            if s.flood.status().is_none() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(s.flood.status().is_none());
        assert_eq!(s.dispatcher.alerts()[0].receivers, ["null"]);
        assert!(s.rules.last().is_empty());
        assert_eq!(actions(&store), ["flood.on", "flood.off"]);
    }
}
