//! `errors.alerts`: which issue changes raise alerts through the alert
//! routes, and how long an alert lives. Alerts follow Alertmanager's
//! lifetime: each carries an `endsAt` a few re-send periods ahead and is
//! re-sent while active, so a Belfry that stops sending lets them resolve.

use serde::{Deserialize, Serialize};

use crate::model::PromDuration;

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorAlertsConfig {
    /// `ErrorIssueNew` when an event makes a new issue.
    #[serde(default = "yes")]
    pub new_issue: bool,
    /// `ErrorIssueRegressed` when an event reopens a resolved issue.
    #[serde(default = "yes")]
    pub regression: bool,
    /// `ErrorIssueSpike` when an issue's event rate jumps; off unless set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spike: Option<SpikeConfig>,
    /// A new or regressed issue's alert resolves when the issue is
    /// resolved or ignored, or after this long without events.
    #[serde(default = "one_hour")]
    pub quiet_period: PromDuration,
    /// An `ErrorIssueNew` alert tells of an issue's first event, not of
    /// a lasting condition: it resolves this long after it started (as
    /// Alertmanager's `resolve_timeout` ends an alert nobody re-sends),
    /// or sooner by the rules above. Long enough for a route's
    /// `group_wait` to notify it.
    #[serde(default = "five_minutes")]
    pub new_issue_for: PromDuration,
    /// How often active alerts are sent again (their `endsAt` is four of
    /// these ahead, as Prometheus does for its Alertmanager).
    #[serde(default = "one_minute")]
    pub resend_interval: PromDuration,
}

/// An issue spikes when its events in the last `window` are at least
/// `min_events` and at least `factor` times its average per window over
/// the `baseline_windows` before; the alert resolves when that no longer
/// holds.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SpikeConfig {
    #[serde(default = "five_minutes")]
    pub window: PromDuration,
    #[serde(default = "five")]
    pub factor: f64,
    #[serde(default = "twenty")]
    pub min_events: u64,
    #[serde(default = "twelve")]
    pub baseline_windows: u32,
}

fn yes() -> bool {
    true
}
fn one_hour() -> PromDuration {
    PromDuration::from_secs(3600)
}
fn one_minute() -> PromDuration {
    PromDuration::from_secs(60)
}
fn five_minutes() -> PromDuration {
    PromDuration::from_secs(300)
}
fn five() -> f64 {
    5.0
}
fn twenty() -> u64 {
    20
}
fn twelve() -> u32 {
    12
}

impl Default for ErrorAlertsConfig {
    fn default() -> Self {
        ErrorAlertsConfig {
            new_issue: true,
            regression: true,
            spike: None,
            quiet_period: one_hour(),
            new_issue_for: five_minutes(),
            resend_interval: one_minute(),
        }
    }
}

impl ErrorAlertsConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.quiet_period.0.as_secs() < 1 {
            return Err("quiet_period must be at least 1s".into());
        }
        if self.resend_interval.0.as_secs() < 1 {
            return Err("resend_interval must be at least 1s".into());
        }
        if let Some(s) = &self.spike {
            s.validate().map_err(|m| format!("spike.{m}"))?;
        }
        Ok(())
    }
}

impl SpikeConfig {
    fn validate(&self) -> Result<(), String> {
        if self.window.0.as_secs() < 1 {
            return Err("window must be at least 1s".into());
        }
        if !(self.factor.is_finite() && self.factor >= 1.0) {
            return Err(format!(
                "factor must be a number of at least 1, got {}",
                self.factor
            ));
        }
        if self.min_events == 0 {
            return Err("min_events must be positive".into());
        }
        if !(1..=288).contains(&self.baseline_windows) {
            return Err(format!(
                "baseline_windows must be 1 to 288, got {}",
                self.baseline_windows
            ));
        }
        Ok(())
    }
}
