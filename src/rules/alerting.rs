//! An alerting rule: the pending → firing → resolved state machine with
//! `for` and `keep_firing_for`, label and annotation templates, the
//! `ALERTS`/`ALERTS_FOR_STATE` series, and which alerts to (re)send, all
//! as Prometheus's rules/alerting.go behaves.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::model::{Alert, Label, Labels, METRIC_NAME};

use super::error::EvalError;
use super::health::RuleHealth;
use super::query::EvalEnv;
use crate::template::{Context, QueryError, Template, TemplateData};

/// Resolved alerts are kept, and re-sent, this long (Prometheus: 15 min).
pub const RESOLVED_RETENTION_MS: i64 = 15 * 60 * 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertState {
    Inactive,
    Pending,
    Firing,
}

impl AlertState {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Inactive => "inactive",
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ActiveAlert {
    pub labels: Labels,
    pub annotations: Labels,
    pub state: AlertState,
    pub value: f64,
    pub active_at: i64,
    pub fired_at: Option<i64>,
    pub resolved_at: Option<i64>,
    pub last_sent_at: Option<i64>,
    pub valid_until: i64,
    pub keep_firing_since: Option<i64>,
}

impl ActiveAlert {
    fn needs_sending(&self, ts: i64, resend_delay_ms: i64) -> bool {
        if self.state == AlertState::Pending {
            return false;
        }
        // Resolved since the last send: tell the receiver now.
        if self
            .resolved_at
            .is_some_and(|r| self.last_sent_at.is_none_or(|s| r > s))
        {
            return true;
        }
        self.last_sent_at.is_none_or(|s| s + resend_delay_ms < ts)
    }
}

#[derive(Debug, Clone)]
pub struct AlertingRule {
    pub name: String,
    pub expr: String,
    pub hold: Duration,
    pub keep_firing_for: Duration,
    /// Sources, for the API; the parsed forms follow.
    pub labels: Vec<(String, String)>,
    pub annotations: Vec<(String, String)>,
    label_templates: Vec<(String, Template)>,
    annotation_templates: Vec<(String, Template)>,
    pub active: HashMap<Labels, ActiveAlert>,
    /// False until the state from before a restart has been restored;
    /// until then `ALERTS` series are not written (they would overwrite it).
    pub restored: bool,
    pub health: RuleHealth,
    /// `generatorURL` of this rule's alerts (base URL and escaped
    /// expression), built at the first evaluation instead of at every one.
    pub(super) generator_url: Option<Box<(String, String)>>,
    /// Alert flood mode's raised-threshold expression, evaluated instead
    /// of `expr` while set (the rule manager sets it before each
    /// evaluation).
    pub override_expr: Option<String>,
}

pub fn ms_to_time(ms: i64) -> SystemTime {
    if ms >= 0 {
        UNIX_EPOCH + Duration::from_millis(ms as u64)
    } else {
        UNIX_EPOCH - Duration::from_millis(ms.unsigned_abs())
    }
}

impl AlertingRule {
    /// Templates were checked when the file was loaded; one that fails to
    /// parse here expands to its error text instead of failing the rule.
    pub fn new(
        name: String,
        expr: String,
        hold: Duration,
        keep_firing_for: Duration,
        labels: Vec<(String, String)>,
        annotations: Vec<(String, String)>,
        restored: bool,
    ) -> Self {
        let parse = |v: &Vec<(String, String)>| {
            v.iter()
                .map(|(k, src)| {
                    let t = Template::parse(src).unwrap_or_else(|e| {
                        Template::parse(&format!("<error expanding template: {e}>")).unwrap_or_else(|_| {
                            Template::parse("<error expanding template>").expect("literal text parses")
                        })
                    });
                    (k.clone(), t)
                })
                .collect()
        };
        AlertingRule {
            label_templates: parse(&labels),
            annotation_templates: parse(&annotations),
            name,
            expr,
            hold,
            keep_firing_for,
            labels,
            annotations,
            active: HashMap::new(),
            restored,
            health: RuleHealth::default(),
            generator_url: None,
            override_expr: None,
        }
    }

    /// The link back to this rule's expression under `base` (the external URL).
    pub(super) fn generator_url(&mut self, base: &str) -> String {
        match self.generator_url.as_deref() {
            Some((b, url)) if b == base => url.clone(),
            _ => {
                let url = format!(
                    "{base}/graph?g0.expr={}&g0.tab=1",
                    crate::template::query_escape(&self.expr)
                );
                self.generator_url = Some(Box::new((base.to_string(), url.clone())));
                url
            }
        }
    }

    /// One evaluation at `ts` (ms): updates alert states and returns the
    /// `ALERTS` and `ALERTS_FOR_STATE` samples to write.
    pub fn eval(
        &mut self,
        env: &EvalEnv<'_>,
        ts: i64,
        limit: usize,
    ) -> Result<Vec<(Labels, f64)>, EvalError> {
        let result = env.instant(self.override_expr.as_deref().unwrap_or(&self.expr), ts)?;
        let query = |q: &str| env.template_query(q, ts).map_err(QueryError::from);
        let ctx = Context {
            query: Some(&query),
            external_url: env.external_url,
            path_prefix: "",
            now_secs: ts as f64 / 1000.0,
        };
        let mut fresh: HashMap<Labels, ActiveAlert> = HashMap::with_capacity(result.len());
        for (sample_labels, value) in result {
            let data = TemplateData {
                labels: &sample_labels,
                external_labels: env.external_labels,
                external_url: env.external_url,
                value,
            };
            let expand = |t: &Template| {
                t.expand(&data, &ctx)
                    .unwrap_or_else(|e| format!("<error expanding template: {e}>"))
            };
            let mut b = sample_labels.builder();
            b.del(METRIC_NAME);
            for (k, t) in &self.label_templates {
                b.set(k, &expand(t));
            }
            b.set("alertname", &self.name);
            let labels = b.build();
            let annotations = Labels::new(
                self.annotation_templates
                    .iter()
                    .map(|(k, t)| Label::new(k.clone(), expand(t)))
                    .collect(),
            );
            if fresh.contains_key(&labels) {
                return Err(EvalError::DuplicateAlert);
            }
            fresh.insert(
                labels.clone(),
                ActiveAlert {
                    labels,
                    annotations,
                    state: AlertState::Pending,
                    value,
                    active_at: ts,
                    fired_at: None,
                    resolved_at: None,
                    last_sent_at: None,
                    valid_until: 0,
                    keep_firing_since: None,
                },
            );
        }
        let in_result: std::collections::HashSet<Labels> = fresh.keys().cloned().collect();
        for (k, a) in fresh {
            match self.active.get_mut(&k) {
                Some(existing) if existing.state != AlertState::Inactive => {
                    existing.value = a.value;
                    existing.annotations = a.annotations;
                }
                _ => {
                    self.active.insert(k, a);
                }
            }
        }
        let hold = self.hold.as_millis() as i64;
        let keep = self.keep_firing_for.as_millis() as i64;
        let mut out = Vec::new();
        let mut active_or_pending = 0usize;
        let mut gone = Vec::new();
        for (k, a) in self.active.iter_mut() {
            if !in_result.contains(k) {
                let mut keep_firing = false;
                if a.state == AlertState::Firing && keep > 0 {
                    let since = *a.keep_firing_since.get_or_insert(ts);
                    keep_firing = ts - since < keep;
                }
                if !keep_firing {
                    if a.state == AlertState::Pending
                        || a.resolved_at.is_some_and(|r| ts - r > RESOLVED_RETENTION_MS)
                    {
                        gone.push(k.clone());
                    }
                    if a.state != AlertState::Inactive {
                        a.state = AlertState::Inactive;
                        a.resolved_at = Some(ts);
                    }
                    continue;
                }
            } else {
                a.keep_firing_since = None;
            }
            active_or_pending += 1;
            if a.state == AlertState::Pending && ts - a.active_at >= hold {
                a.state = AlertState::Firing;
                a.fired_at = Some(ts);
            }
            if self.restored {
                out.push((series_labels(&a.labels, "ALERTS", Some(a.state)), 1.0));
                out.push((
                    series_labels(&a.labels, "ALERTS_FOR_STATE", None),
                    (a.active_at / 1000) as f64,
                ));
            }
        }
        for k in gone {
            self.active.remove(&k);
        }
        if limit > 0 && active_or_pending > limit {
            self.active.clear();
            return Err(EvalError::AlertLimit {
                limit,
                count: active_or_pending,
            });
        }
        Ok(out)
    }

    /// Alerts due to be sent at `ts`, marked as sent. Firing alerts are
    /// valid for 4 × max(resend delay, interval); resolved ones end at
    /// their resolve time and are re-sent while retained.
    pub fn due_alerts(
        &mut self,
        ts: i64,
        resend_delay: Duration,
        interval: Duration,
        external_labels: &Labels,
        generator_url: &str,
    ) -> Vec<Alert> {
        let resend_ms = resend_delay.as_millis() as i64;
        let delta = resend_delay.max(interval).as_millis() as i64;
        let mut out = Vec::new();
        for a in self.active.values_mut() {
            if !a.needs_sending(ts, resend_ms) {
                continue;
            }
            a.last_sent_at = Some(ts);
            a.valid_until = ts + 4 * delta;
            let mut b = a.labels.builder();
            for l in external_labels {
                if b.get(&l.name).is_none() {
                    b.set(&l.name, &l.value);
                }
            }
            out.push(Alert {
                labels: b.build(),
                annotations: a.annotations.clone(),
                starts_at: ms_to_time(a.fired_at.unwrap_or(a.active_at)),
                ends_at: ms_to_time(a.resolved_at.unwrap_or(a.valid_until)),
                generator_url: generator_url.to_string(),
            });
        }
        out
    }

    /// Alerts in a state the API shows (pending or firing).
    pub fn shown_alerts(&self) -> impl Iterator<Item = &ActiveAlert> {
        self.active.values().filter(|a| a.state != AlertState::Inactive)
    }

    /// The rule's overall state: the most advanced of its alerts.
    pub fn state(&self) -> AlertState {
        let mut s = AlertState::Inactive;
        for a in self.active.values() {
            match a.state {
                AlertState::Firing => return AlertState::Firing,
                AlertState::Pending => s = AlertState::Pending,
                AlertState::Inactive => {}
            }
        }
        s
    }
}

fn series_labels(alert: &Labels, name: &str, state: Option<AlertState>) -> Labels {
    let mut b = alert.builder();
    b.set(METRIC_NAME, name);
    if let Some(s) = state {
        b.set("alertstate", s.as_str());
    }
    b.build()
}

/// A value as the alerts API prints it (Go's `FormatFloat(v, 'e', -1, 64)`).
pub fn value_string(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let s = format!("{v:e}");
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    format!(
        "{mant}e{}{:02}",
        if exp < 0 { '-' } else { '+' },
        exp.unsigned_abs()
    )
}
