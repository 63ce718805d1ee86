//! The rule manager: loads the `rule_files` of a configuration (a bad file
//! refuses the whole reload and the running groups keep going), runs each
//! group on its own schedule with evaluation on the blocking pool, and
//! hands firing and resolved alerts to the alert sink.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::logql::LogqlEngine;
use crate::model::{AlertSink, Label, Labels, now_millis};
use crate::promql::{Engine, EngineOptions};
use crate::selfmetrics::Registry;
use crate::tsdb::Storage;

use super::error::RuleError;
use super::file::{GroupSpec, ParseOptions, expand_globs, load_file};
use super::group::Group;
use super::history::AlertHistory;
use super::language::QueryLanguage;
use super::metrics::RuleMetrics;
use super::query::EvalEnv;

#[derive(Debug, Clone)]
pub struct RuleManagerOptions {
    /// Where alerts link back to (`generatorURL`, `$externalURL`).
    pub external_url: String,
    /// How often a still-firing alert is re-sent (Prometheus: 1 m).
    pub resend_delay: Duration,
    pub engine: EngineOptions,
    /// Most rules of one group evaluated at the same time (independent
    /// rules only, see `deps.rs`); 1 evaluates every group strictly in order.
    pub max_concurrent_evals: usize,
}

impl Default for RuleManagerOptions {
    fn default() -> Self {
        RuleManagerOptions {
            external_url: "http://localhost:9900".to_string(),
            resend_delay: Duration::from_secs(60),
            engine: EngineOptions::default(),
            max_concurrent_evals: default_concurrency(),
        }
    }
}

/// `BELFRY_RULES_MAX_CONCURRENT_EVALS` where set (1 evaluates each group
/// strictly in order), else one per core, at most 4 (Prometheus's
/// `rules.max-concurrent-evals` default).
fn default_concurrency() -> usize {
    const VAR: &str = "BELFRY_RULES_MAX_CONCURRENT_EVALS";
    if let Ok(v) = std::env::var(VAR) {
        match v.trim().parse::<usize>() {
            Ok(n) if n >= 1 => return n,
            _ => tracing::warn!(value = %v, "{VAR} must be a positive integer; using the default"),
        }
    }
    std::thread::available_parallelism().map_or(1, |n| n.get()).min(4)
}

pub type SharedGroup = Arc<Mutex<Group>>;

pub struct RuleManager {
    storage: Arc<dyn Storage>,
    engine: Engine,
    /// Evaluates LogQL groups; without it their rules fail with a clear
    /// error.
    logql: Option<Arc<LogqlEngine>>,
    sink: Option<Arc<dyn AlertSink>>,
    opts: RuleManagerOptions,
    groups: RwLock<Vec<SharedGroup>>,
    external_labels: RwLock<Labels>,
    metrics: RuleMetrics,
    /// Set once the first configuration is applied: groups created later
    /// have nothing to restore.
    started: AtomicBool,
    reloaded: Notify,
    /// Where alert state changes are kept; none in tests of other parts.
    history: std::sync::OnceLock<Arc<AlertHistory>>,
    /// Alert flood mode's overrides in force: (rule, expression).
    overrides: RwLock<Vec<(String, String)>>,
}

impl RuleManager {
    pub fn new(
        storage: Arc<dyn Storage>,
        sink: Option<Arc<dyn AlertSink>>,
        registry: &Registry,
        opts: RuleManagerOptions,
    ) -> Arc<Self> {
        RuleManager::with_logql(storage, None, sink, registry, opts)
    }

    /// A manager that also evaluates LogQL groups over the logs store.
    pub fn with_logql(
        storage: Arc<dyn Storage>,
        logql: Option<Arc<LogqlEngine>>,
        sink: Option<Arc<dyn AlertSink>>,
        registry: &Registry,
        opts: RuleManagerOptions,
    ) -> Arc<Self> {
        Arc::new(RuleManager {
            storage,
            engine: Engine::new(opts.engine.clone(), registry),
            logql,
            sink,
            opts,
            groups: RwLock::new(Vec::new()),
            external_labels: RwLock::new(Labels::default()),
            metrics: RuleMetrics::new(registry),
            started: AtomicBool::new(false),
            reloaded: Notify::new(),
            history: std::sync::OnceLock::new(),
            overrides: RwLock::new(Vec::new()),
        })
    }

    /// Keeps every alert state change in `history` from now on.
    pub fn keep_history(&self, history: Arc<AlertHistory>) {
        let _ = self.history.set(history);
    }

    /// The alert history, when one is kept.
    pub fn history(&self) -> Option<&Arc<AlertHistory>> {
        self.history.get()
    }

    /// Loads the configuration's rule files. Any bad file refuses the
    /// whole set with its `file:line` and reason; the running groups stay.
    pub fn apply_config(&self, cfg: &Config) -> Result<(), RuleError> {
        let result = self.apply_inner(cfg);
        self.metrics
            .last_reload_ok
            .set(if result.is_ok() { 1.0 } else { 0.0 });
        if let Err(e) = &result {
            self.metrics.reloads_failed.inc();
            tracing::error!(error = %e, "rule files refused; the previous rules keep running");
        }
        result
    }

    fn apply_inner(&self, cfg: &Config) -> Result<(), RuleError> {
        let paths = expand_globs(&cfg.rule_files)?;
        let specs = load_specs(&paths)?;
        if let Some(flood) = &cfg.alerting_flood {
            super::overrides::check_overrides(&specs, &flood.overrides)?;
        }
        let default_interval = cfg.global.evaluation_interval.as_duration();
        let restored = self.started.swap(true, Ordering::SeqCst);
        let ext = Labels::new(
            cfg.global
                .external_labels
                .iter()
                .map(|(k, v)| Label::new(k.clone(), v.clone()))
                .collect(),
        );
        let mut old: HashMap<(String, String), SharedGroup> = self
            .groups
            .read()
            .iter()
            .map(|g| (g.lock().key(), g.clone()))
            .collect();
        let mut new_groups = Vec::with_capacity(specs.len());
        for spec in &specs {
            let mut g = Group::new(spec, default_interval, restored);
            g.concurrency = self.opts.max_concurrent_evals.max(1);
            if let Some(prev) = old.remove(&g.key()) {
                g.copy_state_from(&prev.lock());
            }
            new_groups.push(Arc::new(Mutex::new(g)));
        }
        // Groups that went away: their series end now.
        let env = self.env(&ext);
        for (_, gone) in old {
            gone.lock().mark_all_stale(&env, now_millis());
        }
        // Per-group gauges: the new groups', and none for groups that went away.
        let labels: std::collections::HashSet<String> =
            specs.iter().map(|s| format!("{};{}", s.file, s.name)).collect();
        for spec in &specs {
            let label = format!("{};{}", spec.file, spec.name);
            self.metrics
                .group_rules
                .with(&[&label])
                .set(spec.rules.len() as f64);
        }
        self.metrics.group_rules.retain(|v| labels.contains(&v[0]));
        self.metrics.last_duration.retain(|v| labels.contains(&v[0]));
        *self.external_labels.write() = ext;
        *self.groups.write() = new_groups;
        tracing::info!(groups = specs.len(), files = paths.len(), "rule files loaded");
        self.reloaded.notify_waiters();
        Ok(())
    }

    fn env<'a>(&'a self, ext: &'a Labels) -> EvalEnv<'a> {
        EvalEnv {
            engine: &self.engine,
            storage: self.storage.as_ref(),
            logql: self.logql.as_deref(),
            language: QueryLanguage::default(),
            external_labels: ext,
            external_url: &self.opts.external_url,
        }
    }

    /// The current groups (for the API and tests).
    pub fn groups(&self) -> Vec<SharedGroup> {
        self.groups.read().clone()
    }

    /// `/api/v1/rules`: the groups' status under the API's filters.
    pub fn rules_status(&self, filter: &super::status::RuleFilter) -> Vec<super::status::GroupStatus> {
        self.groups()
            .iter()
            .filter_map(|g| super::status::group_status(&g.lock(), filter))
            .collect()
    }

    /// `/api/v1/alerts`: every pending and firing alert (of the groups
    /// written in `language`, if given).
    pub fn alerts_status(&self, language: Option<QueryLanguage>) -> Vec<super::status::AlertStatus> {
        let groups = self.groups();
        let locked: Vec<_> = groups.iter().map(|g| g.lock()).collect();
        let refs: Vec<&Group> = locked.iter().map(|g| &**g).collect();
        super::status::alerts_of(&refs, language)
    }

    pub fn external_labels(&self) -> Labels {
        self.external_labels.read().clone()
    }

    /// Evaluates one group at wall-clock time `now_ms` (blocking).
    pub fn eval_group(&self, group: &SharedGroup, now_ms: i64) {
        let ext = self.external_labels();
        let env = self.env(&ext);
        let mut g = group.lock();
        self.apply_overrides(&mut g);
        let ts = g.eval_timestamp(now_ms);
        let label = format!("{};{}", g.file, g.name);
        let outcome = g.eval(&env, ts, self.sink.as_deref(), self.opts.resend_delay);
        let m = &self.metrics;
        m.evaluations.with(&[&label]).add(outcome.rules_evaluated as u64);
        m.failures.with(&[&label]).add(outcome.rules_failed as u64);
        m.group_iterations.with(&[&label]).inc();
        m.limit_exceeded.add(outcome.limit_hits as u64);
        m.samples_refused.add(outcome.samples_refused as u64);
        m.alerts_sent.add(outcome.alerts_sent as u64);
        if let Some(history) = self.history.get()
            && let Err(e) = history.record(&outcome.transitions)
        {
            m.history_failures.inc();
            tracing::warn!(group = %g.name, error = %e, "alert state changes could not be written to the history");
        }
        m.group_duration_micros
            .with(&[&label])
            .add(g.evaluation_time.as_micros() as u64);
        m.last_duration
            .with(&[&label])
            .set(g.evaluation_time.as_secs_f64());
    }

    /// Points each alerting rule of `g` at the override naming it, or
    /// back at its own expression.
    fn apply_overrides(&self, g: &mut Group) {
        let overrides = self.overrides.read();
        for rule in &mut g.rules {
            if let super::rule::Rule::Alerting(a) = rule {
                a.override_expr = overrides
                    .iter()
                    .find(|(target, _)| super::overrides::names(target, &g.name, &a.name))
                    .map(|(_, expr)| expr.clone());
            }
        }
    }

    /// Evaluates every group once at `now_ms` (blocking; for tests and
    /// `belfry verify`).
    pub fn eval_all(&self, now_ms: i64) {
        for g in self.groups() {
            self.eval_group(&g, now_ms);
        }
    }

    /// Runs every group on its schedule until `shutdown`; a reload
    /// restarts the schedules with the new groups.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        loop {
            let round = shutdown.child_token();
            let mut tasks = Vec::new();
            for g in self.groups() {
                tasks.push(tokio::spawn(self.clone().run_group(g, round.clone())));
            }
            let reloaded = self.reloaded.notified();
            tokio::select! {
                _ = shutdown.cancelled() => {
                    round.cancel();
                    for t in tasks { let _ = t.await; }
                    return;
                }
                _ = reloaded => {
                    round.cancel();
                    for t in tasks { let _ = t.await; }
                }
            }
        }
    }

    async fn run_group(self: Arc<Self>, group: SharedGroup, stop: CancellationToken) {
        let (interval, label, offset) = {
            let g = group.lock();
            let iv = g.interval.max(Duration::from_millis(1));
            // Spread groups over the interval, stable per group, as Prometheus does.
            let h = Labels::from_pairs(&[("file", &g.file), ("name", &g.name)]).stable_hash();
            let offset = (h % iv.as_millis() as u64) as i64;
            (iv, format!("{};{}", g.file, g.name), offset)
        };
        let iv_ms = interval.as_millis() as i64;
        let mut next = {
            let now = now_millis();
            let base = now - now.rem_euclid(iv_ms) + offset;
            if base < now { base + iv_ms } else { base }
        };
        loop {
            let wait = (next - now_millis()).max(0) as u64;
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_millis(wait)) => {}
            }
            let me = self.clone();
            let g = group.clone();
            let at = next;
            if tokio::task::spawn_blocking(move || me.eval_group(&g, at))
                .await
                .is_err()
            {
                tracing::error!(group = %label, "rule group evaluation panicked");
            }
            next += iv_ms;
            let now = now_millis();
            if next <= now {
                let missed = (now - next) / iv_ms + 1;
                self.metrics.missed_iterations.with(&[&label]).add(missed as u64);
                next += missed * iv_ms;
            }
        }
    }
}

/// Loads and validates every file; the first bad one refuses them all.
pub fn load_specs(paths: &[PathBuf]) -> Result<Vec<GroupSpec>, RuleError> {
    let mut out = Vec::new();
    for p in paths {
        out.extend(load_file(p, ParseOptions::default())?.groups);
    }
    Ok(out)
}

impl crate::model::RuleOverrideSink for RuleManager {
    /// Taken at each group's next evaluation.
    fn set_overrides(&self, overrides: Vec<(String, String)>) {
        *self.overrides.write() = overrides;
    }
}
