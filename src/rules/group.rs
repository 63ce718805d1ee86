//! A rule group: its rules evaluated in order at one timestamp, results
//! written through an `Appender` (each rule's output committed before the
//! next rule runs, so later rules see it), stale markers for series a rule
//! stopped producing, and restoring alert `for` state after a restart.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant, SystemTime};

use crate::model::{AlertSink, Labels, MatchOp, Matcher, STALE_NAN};

use super::alerting::{AlertState, AlertingRule, ms_to_time};
use super::error::EvalError;
use super::file::{GroupSpec, RuleKind};
use super::health::RuleHealth;
use super::language::QueryLanguage;
use super::query::EvalEnv;
use super::recording::RecordingRule;
use super::rule::Rule;

/// How long an outage may last for `for` state to be restored (Prometheus's
/// `rules.alert.for-outage-tolerance`).
pub const OUTAGE_TOLERANCE: Duration = Duration::from_secs(3600);
/// Minimum time an alert waits after a restart before firing again
/// (Prometheus's `rules.alert.for-grace-period`).
pub const FOR_GRACE_PERIOD: Duration = Duration::from_secs(600);

/// What one group evaluation did.
#[derive(Debug, Default, Clone)]
pub struct GroupOutcome {
    pub rules_evaluated: usize,
    pub rules_failed: usize,
    pub limit_hits: usize,
    pub samples_written: usize,
    pub samples_refused: usize,
    pub alerts_sent: usize,
    /// The state changes of this round's alerts, for the history.
    pub transitions: Vec<super::history::AlertTransition>,
}

#[derive(Debug, Clone)]
pub struct Group {
    pub name: String,
    pub file: String,
    pub interval: Duration,
    pub query_offset: Duration,
    pub limit: usize,
    /// What the rules' expressions are written in.
    pub language: QueryLanguage,
    pub rules: Vec<Rule>,
    /// Per rule: the series written at the last evaluation.
    last_series: Vec<HashSet<Labels>>,
    pub last_evaluation: Option<SystemTime>,
    pub evaluation_time: Duration,
    /// Restore `for` state at the first evaluation (set at start-up).
    pub should_restore: bool,
    /// Most rules evaluated at once; 1 evaluates strictly in order.
    pub concurrency: usize,
    /// Per rule: whether it may run alongside the others (`deps.rs`).
    independent: Vec<bool>,
}

impl Group {
    /// Builds a group; `restored` says whether alerting rules may write
    /// `ALERTS` from their first evaluation (true except at start-up).
    pub fn new(spec: &GroupSpec, default_interval: Duration, restored: bool) -> Group {
        let rules: Vec<Rule> = spec
            .rules
            .iter()
            .map(|r| {
                let mut labels: Vec<(String, String)> = spec
                    .labels
                    .iter()
                    .map(|l| (l.name.clone(), l.value.clone()))
                    .filter(|(k, _)| !r.labels.iter().any(|(rk, _)| rk == k))
                    .collect();
                labels.extend(r.labels.iter().cloned());
                labels.sort();
                match &r.kind {
                    RuleKind::Recording { record } => Rule::Recording(RecordingRule {
                        name: record.clone(),
                        expr: r.expr.clone(),
                        labels: Labels::new(
                            labels
                                .into_iter()
                                .map(|(k, v)| crate::model::Label::new(k, v))
                                .collect(),
                        ),
                        health: RuleHealth::default(),
                    }),
                    RuleKind::Alerting {
                        alert,
                        hold,
                        keep_firing_for,
                        annotations,
                    } => Rule::Alerting(AlertingRule::new(
                        alert.clone(),
                        r.expr.clone(),
                        *hold,
                        *keep_firing_for,
                        labels,
                        annotations.clone(),
                        restored,
                    )),
                }
            })
            .collect();
        Group {
            name: spec.name.clone(),
            file: spec.file.clone(),
            interval: spec.interval.unwrap_or(default_interval),
            query_offset: spec.query_offset.unwrap_or_default(),
            limit: spec.limit,
            last_series: vec![HashSet::new(); rules.len()],
            independent: super::deps::independent_rules(&rules, spec.language),
            language: spec.language,
            rules,
            last_evaluation: None,
            evaluation_time: Duration::ZERO,
            should_restore: !restored,
            concurrency: 1,
        }
    }

    /// The identity used to carry state across reloads: file and name.
    pub fn key(&self) -> (String, String) {
        (self.file.clone(), self.name.clone())
    }

    /// Takes over alert state and series bookkeeping from the same group
    /// before a reload (rules matched by name, expression and labels).
    pub fn copy_state_from(&mut self, old: &Group) {
        self.last_evaluation = old.last_evaluation;
        self.evaluation_time = old.evaluation_time;
        self.should_restore = old.should_restore;
        for (i, rule) in self.rules.iter_mut().enumerate() {
            let Some(j) = old.rules.iter().position(|o| same_rule(o, rule)) else {
                continue;
            };
            self.last_series[i] = old.last_series[j].clone();
            *rule.health_mut() = old.rules[j].health().clone();
            if let (Rule::Alerting(new), Rule::Alerting(prev)) = (rule, &old.rules[j]) {
                new.active = prev.active.clone();
                new.restored = prev.restored;
            }
        }
    }

    /// The evaluation timestamp for wall-clock time `now_ms`.
    pub fn eval_timestamp(&self, now_ms: i64) -> i64 {
        now_ms - self.query_offset.as_millis() as i64
    }

    /// Evaluates every rule at `ts` (ms, query offset already applied),
    /// writes the results, and sends due alerts to `sink`.
    pub fn eval(
        &mut self,
        env: &EvalEnv<'_>,
        ts: i64,
        sink: Option<&dyn AlertSink>,
        resend_delay: Duration,
    ) -> GroupOutcome {
        let started = Instant::now();
        let env = &env.speaking(self.language);
        let mut outcome = GroupOutcome::default();
        let generator_base = env.external_url.trim_end_matches('/');
        let mut i = 0;
        while i < self.rules.len() {
            // A run of independent rules is evaluated concurrently; results
            // are still written and alerts sent in rule order.
            let end = if self.concurrency > 1 && self.independent[i] {
                (i..self.rules.len())
                    .find(|&k| !self.independent[k])
                    .unwrap_or(self.rules.len())
            } else {
                i + 1
            };
            let results = if end - i > 1 {
                self.eval_concurrently(i, end, env, ts)
            } else {
                let limit = self.limit;
                vec![eval_rule(&mut self.rules[i], env, ts, limit)]
            };
            for (k, (result, elapsed, before)) in (i..end).zip(results) {
                if let (Rule::Alerting(r), Some(before)) = (&self.rules[k], before) {
                    outcome
                        .transitions
                        .extend(super::history::transitions(r, &before, &self.name, ts));
                }
                self.finish_rule(
                    k,
                    result,
                    elapsed,
                    env,
                    ts,
                    sink,
                    resend_delay,
                    generator_base,
                    &mut outcome,
                );
            }
            i = end;
        }
        if self.should_restore {
            self.restore_for_state(env, ts);
            self.should_restore = false;
        }
        self.last_evaluation = Some(SystemTime::now());
        self.evaluation_time = started.elapsed();
        outcome
    }

    /// Evaluates rules `start..end` on up to `concurrency` threads;
    /// results come back in rule order.
    fn eval_concurrently(&mut self, start: usize, end: usize, env: &EvalEnv<'_>, ts: i64) -> Vec<RuleResult> {
        let limit = self.limit;
        let rules = &mut self.rules[start..end];
        let workers = self.concurrency.min(rules.len()).max(1);
        let chunk = rules.len().div_ceil(workers);
        std::thread::scope(|scope| {
            let handles: Vec<_> = rules
                .chunks_mut(chunk)
                .map(|part| {
                    let len = part.len();
                    let handle = scope.spawn(move || {
                        part.iter_mut()
                            .map(|r| eval_rule(r, env, ts, limit))
                            .collect::<Vec<_>>()
                    });
                    (len, handle)
                })
                .collect();
            let mut out = Vec::with_capacity(end - start);
            for (len, handle) in handles {
                match handle.join() {
                    Ok(results) => out.extend(results),
                    Err(_) => {
                        tracing::error!(group = %self.name, "rule evaluation panicked");
                        out.extend((0..len).map(|_| {
                            (
                                Err(EvalError::Query("rule evaluation panicked".into())),
                                Duration::ZERO,
                                None,
                            )
                        }));
                    }
                }
            }
            out
        })
    }

    /// Writes one rule's result, records its health and sends its due alerts.
    #[allow(clippy::too_many_arguments)]
    fn finish_rule(
        &mut self,
        i: usize,
        result: Result<Vec<(Labels, f64)>, EvalError>,
        elapsed: Duration,
        env: &EvalEnv<'_>,
        ts: i64,
        sink: Option<&dyn AlertSink>,
        resend_delay: Duration,
        generator_base: &str,
        outcome: &mut GroupOutcome,
    ) {
        outcome.rules_evaluated += 1;
        let error = match result {
            Ok(samples) => {
                self.write(env, i, ts, samples, outcome);
                None
            }
            Err(e) => {
                outcome.rules_failed += 1;
                if matches!(e, EvalError::SeriesLimit { .. } | EvalError::AlertLimit { .. }) {
                    outcome.limit_hits += 1;
                }
                tracing::warn!(group = %self.name, rule = %self.rules[i].name(), error = %e, "rule evaluation failed");
                Some(e)
            }
        };
        if let Rule::Alerting(r) = &mut self.rules[i] {
            let url = r.generator_url(generator_base);
            let alerts = r.due_alerts(ts, resend_delay, self.interval, env.external_labels, &url);
            if let (Some(sink), false) = (sink, alerts.is_empty()) {
                outcome.alerts_sent += alerts.len();
                sink.send(alerts);
            }
        }
        self.rules[i]
            .health_mut()
            .record(SystemTime::now(), elapsed, error.as_ref());
    }

    fn write(
        &mut self,
        env: &EvalEnv<'_>,
        i: usize,
        ts: i64,
        samples: Vec<(Labels, f64)>,
        outcome: &mut GroupOutcome,
    ) {
        let mut app = env.storage.appender();
        let mut now_seen = HashSet::with_capacity(samples.len());
        for (labels, v) in samples {
            match app.append(&labels, ts, v) {
                Ok(_) => outcome.samples_written += 1,
                Err(e) => {
                    outcome.samples_refused += 1;
                    tracing::debug!(series = %labels, error = %e, "rule output refused by storage");
                }
            }
            now_seen.insert(labels);
        }
        for gone in self.last_series[i].difference(&now_seen) {
            // Series this rule no longer produces end now, as with scrapes.
            let _ = app.append(gone, ts, STALE_NAN);
        }
        if let Err(e) = app.commit() {
            tracing::warn!(group = %self.name, error = %e, "writing rule results failed");
        }
        self.last_series[i] = now_seen;
    }

    /// Marks every series the group wrote as stale (the group was removed).
    pub fn mark_all_stale(&mut self, env: &EvalEnv<'_>, ts: i64) {
        let mut app = env.storage.appender();
        for set in &mut self.last_series {
            for l in set.drain() {
                let _ = app.append(&l, ts, STALE_NAN);
            }
        }
        let _ = app.commit();
    }

    /// Restores pending/firing state from `ALERTS_FOR_STATE` after a
    /// restart, as Prometheus does: an alert pending before the outage
    /// keeps its progress (shifted by the outage), and one that had little
    /// left waits at least the grace period.
    fn restore_for_state(&mut self, env: &EvalEnv<'_>, ts: i64) {
        let mint = ts - OUTAGE_TOLERANCE.as_millis() as i64;
        let querier = env.storage.querier();
        for rule in &mut self.rules {
            let Rule::Alerting(r) = rule else { continue };
            if r.hold < FOR_GRACE_PERIOD {
                // Waiting the grace period would be longer than `for` itself.
                r.restored = true;
                continue;
            }
            let hold = r.hold.as_millis() as i64;
            let grace = FOR_GRACE_PERIOD.as_millis() as i64;
            let matchers = [
                Matcher::new(MatchOp::Equal, "__name__", "ALERTS_FOR_STATE"),
                Matcher::new(MatchOp::Equal, "alertname", &r.name),
            ];
            let Ok(matchers) = matchers.into_iter().collect::<Result<Vec<_>, _>>() else {
                r.restored = true;
                continue;
            };
            let series = match querier.select(&matchers, mint, ts) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(rule = %r.name, error = %e, "reading ALERTS_FOR_STATE to restore alert state failed");
                    r.restored = true;
                    continue;
                }
            };
            let mut last_by_labels = std::collections::HashMap::new();
            for mut s in series {
                let mut last = None;
                while let Some((t, v)) = s.samples.next() {
                    if !crate::model::is_stale_nan(v) {
                        last = Some((t, v));
                    }
                }
                let mut b = s.labels.builder();
                b.del("__name__");
                if let Some(l) = last {
                    last_by_labels.insert(b.build(), l);
                }
            }
            for a in r.active.values_mut() {
                if a.state == AlertState::Inactive {
                    continue;
                }
                let Some(&(down_at, v)) = last_by_labels.get(&a.labels) else {
                    continue;
                };
                let mut active_at = (v * 1000.0) as i64;
                let down_at = down_at / 1000 * 1000;
                let remaining = hold - (down_at - active_at);
                if remaining <= 0 {
                    // It was firing; the next evaluation fires it again.
                } else if remaining < grace {
                    active_at = ts + grace - hold;
                } else {
                    active_at += ts - down_at;
                }
                a.active_at = active_at;
                tracing::debug!(rule = %r.name, alert = %a.labels, active_at, "restored alert for-state");
            }
            r.restored = true;
        }
    }

    /// `ms_to_time` of the last evaluation's timestamp, for callers.
    pub fn time_of(ms: i64) -> SystemTime {
        ms_to_time(ms)
    }
}

/// A rule's evaluation result, how long it took, and (for an alerting
/// rule) its alerts' states before it.
type RuleResult = (
    Result<Vec<(Labels, f64)>, EvalError>,
    Duration,
    Option<HashMap<Labels, AlertState>>,
);

fn eval_rule(rule: &mut Rule, env: &EvalEnv<'_>, ts: i64, limit: usize) -> RuleResult {
    let started = Instant::now();
    let (result, before) = match rule {
        Rule::Recording(r) => (r.eval(env, ts, limit), None),
        Rule::Alerting(r) => {
            let before = super::history::states(r);
            (r.eval(env, ts, limit), Some(before))
        }
    };
    (result, started.elapsed(), before)
}

fn same_rule(a: &Rule, b: &Rule) -> bool {
    match (a, b) {
        (Rule::Recording(x), Rule::Recording(y)) => {
            x.name == y.name && x.expr == y.expr && x.labels == y.labels
        }
        (Rule::Alerting(x), Rule::Alerting(y)) => {
            x.name == y.name && x.expr == y.expr && x.labels == y.labels
        }
        _ => false,
    }
}
