//! `errors.monitors`: cron monitors that SDKs create with `check_in`
//! items. The limits bound memory and disk; `minute` exists for tests.

use serde::{Deserialize, Serialize};

use crate::model::PromDuration;

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorMonitorsConfig {
    /// How often missed and timed-out check-ins are looked for.
    #[serde(default = "five_seconds")]
    pub check_interval: PromDuration,
    /// Monitors per project; check-ins creating more are refused and counted.
    #[serde(default = "thousand")]
    pub max_monitors_per_project: usize,
    /// Check-ins kept per monitor, newest first; older ones are deleted.
    #[serde(default = "fifty")]
    pub max_checkins_per_monitor: usize,
    /// How long a "minute" of an interval schedule, a check-in margin and a
    /// maximum runtime lasts. Only tests change it (Sentry's schedules
    /// count in whole minutes); crontab schedules always follow the clock.
    #[serde(default = "one_minute")]
    pub minute: PromDuration,
}

fn five_seconds() -> PromDuration {
    PromDuration::from_secs(5)
}
fn thousand() -> usize {
    1000
}
fn fifty() -> usize {
    50
}
fn one_minute() -> PromDuration {
    PromDuration::from_secs(60)
}

impl Default for ErrorMonitorsConfig {
    fn default() -> Self {
        ErrorMonitorsConfig {
            check_interval: five_seconds(),
            max_monitors_per_project: thousand(),
            max_checkins_per_monitor: fifty(),
            minute: one_minute(),
        }
    }
}

impl ErrorMonitorsConfig {
    pub fn validate(&self) -> Result<(), String> {
        let tick = self.check_interval.0;
        if tick.as_millis() < 100 || tick.as_secs() > 60 {
            return Err(format!(
                "check_interval must be 100ms to 1m, got {}",
                self.check_interval
            ));
        }
        if self.max_monitors_per_project == 0 {
            return Err("max_monitors_per_project must be positive".into());
        }
        if !(1..=10_000).contains(&self.max_checkins_per_monitor) {
            return Err(format!(
                "max_checkins_per_monitor must be 1 to 10000, got {}",
                self.max_checkins_per_monitor
            ));
        }
        let minute = self.minute.0;
        if minute.as_millis() < 100 || minute.as_secs() > 60 {
            return Err(format!("minute must be 100ms to 1m, got {}", self.minute));
        }
        Ok(())
    }
}
