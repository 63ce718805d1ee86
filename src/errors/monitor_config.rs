//! A monitor's configuration as a `check_in` item's `monitor_config`
//! upserts it: the schedule (crontab or interval), the check-in margin
//! and maximum runtime in minutes, the time zone, and how many failed or
//! good check-ins open and close an incident. Sentry's defaults and
//! bounds; a refusal names the field.

use chrono::{DateTime, Months, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::crontab::Crontab;

/// Sentry's bound on margins and runtimes: 28 days in minutes.
const MAX_MINUTES: u64 = 40_320;
/// Sentry's bound on the failure and recovery thresholds.
const MAX_THRESHOLD: u32 = 720;

/// The stored form, as the SDK sent it (after defaults).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MonitorConfig {
    pub schedule: ScheduleConfig,
    pub checkin_margin: u64,
    pub max_runtime: u64,
    pub timezone: String,
    pub failure_issue_threshold: u32,
    pub recovery_threshold: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ScheduleConfig {
    Crontab { value: String },
    Interval { value: u64, unit: IntervalUnit },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntervalUnit {
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
}

impl IntervalUnit {
    fn parse(s: &str) -> Option<IntervalUnit> {
        Some(match s {
            "minute" => IntervalUnit::Minute,
            "hour" => IntervalUnit::Hour,
            "day" => IntervalUnit::Day,
            "week" => IntervalUnit::Week,
            "month" => IntervalUnit::Month,
            "year" => IntervalUnit::Year,
            _ => return None,
        })
    }

    fn minutes(self) -> u64 {
        match self {
            IntervalUnit::Minute => 1,
            IntervalUnit::Hour => 60,
            IntervalUnit::Day => 1_440,
            IntervalUnit::Week => 10_080,
            IntervalUnit::Month => 43_200,
            IntervalUnit::Year => 525_600,
        }
    }
}

/// A schedule ready to compute times with.
#[derive(Clone, Debug)]
pub enum Schedule {
    Crontab(Crontab, Tz),
    Interval { value: u64, unit: IntervalUnit },
}

/// A refused `monitor_config`: the field and why.
/// `field` is empty when the whole object is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MonitorConfigError {
    pub field: &'static str,
    pub message: String,
}

impl std::fmt::Display for MonitorConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let dot = if self.field.is_empty() { "" } else { "." };
        write!(f, "monitor_config{dot}{}: {}", self.field, self.message)
    }
}

impl std::error::Error for MonitorConfigError {}

fn refuse(field: &'static str, message: impl Into<String>) -> MonitorConfigError {
    MonitorConfigError {
        field,
        message: message.into(),
    }
}

fn minutes_field(v: &Value, field: &'static str, default: u64, min: u64) -> Result<u64, MonitorConfigError> {
    match v.get(field) {
        None | Some(Value::Null) => Ok(default),
        Some(n) => match n.as_u64() {
            Some(n) if (min..=MAX_MINUTES).contains(&n) => Ok(n),
            _ => Err(refuse(
                field,
                format!("must be a whole number of minutes from {min} to {MAX_MINUTES}, got {n}"),
            )),
        },
    }
}

fn threshold_field(v: &Value, field: &'static str) -> Result<u32, MonitorConfigError> {
    match v.get(field) {
        None | Some(Value::Null) => Ok(1),
        Some(n) => match n.as_u64() {
            Some(n) if (1..=MAX_THRESHOLD as u64).contains(&n) => Ok(n as u32),
            _ => Err(refuse(field, format!("must be 1 to {MAX_THRESHOLD}, got {n}"))),
        },
    }
}

impl MonitorConfig {
    /// Reads and checks an SDK's `monitor_config` object.
    pub fn from_json(v: &Value) -> Result<MonitorConfig, MonitorConfigError> {
        if !v.is_object() {
            return Err(refuse("", "must be an object"));
        }
        let schedule = v
            .get("schedule")
            .ok_or_else(|| refuse("schedule", "is missing"))?;
        let kind = schedule
            .get("type")
            .and_then(Value::as_str)
            .ok_or_else(|| refuse("schedule.type", "is missing (crontab or interval)"))?;
        let schedule = match kind {
            "crontab" => {
                let text = schedule
                    .get("value")
                    .and_then(Value::as_str)
                    .ok_or_else(|| refuse("schedule.value", "a crontab schedule's value must be a string"))?;
                Crontab::parse(text).map_err(|e| refuse("schedule.value", e.to_string()))?;
                ScheduleConfig::Crontab {
                    value: text.trim().to_string(),
                }
            }
            "interval" => {
                let value = match schedule.get("value").and_then(Value::as_u64) {
                    Some(n) if n >= 1 => n,
                    _ => {
                        return Err(refuse(
                            "schedule.value",
                            "an interval's value must be a positive whole number",
                        ));
                    }
                };
                let unit_text = schedule.get("unit").and_then(Value::as_str).unwrap_or_default();
                let unit = IntervalUnit::parse(unit_text).ok_or_else(|| {
                    refuse(
                        "schedule.unit",
                        format!("{unit_text:?} is not a unit (minute, hour, day, week, month, year)"),
                    )
                })?;
                if value.saturating_mul(unit.minutes()) > 10 * 525_600 {
                    return Err(refuse("schedule.value", "an interval cannot exceed 10 years"));
                }
                ScheduleConfig::Interval { value, unit }
            }
            other => {
                return Err(refuse(
                    "schedule.type",
                    format!("{other:?} is not a schedule type (crontab or interval)"),
                ));
            }
        };
        let timezone = match v.get("timezone") {
            None | Some(Value::Null) => "UTC".to_string(),
            Some(Value::String(s)) => {
                s.parse::<Tz>()
                    .map_err(|_| refuse("timezone", format!("{s:?} is not an IANA time zone")))?;
                s.clone()
            }
            Some(other) => return Err(refuse("timezone", format!("must be a string, got {other}"))),
        };
        Ok(MonitorConfig {
            schedule,
            checkin_margin: minutes_field(v, "checkin_margin", 1, 0)?,
            max_runtime: minutes_field(v, "max_runtime", 30, 1)?,
            timezone,
            failure_issue_threshold: threshold_field(v, "failure_issue_threshold")?,
            recovery_threshold: threshold_field(v, "recovery_threshold")?,
        })
    }

    /// The schedule compiled; stored configurations were checked on
    /// arrival, so this fails only on a damaged record.
    pub fn compile(&self) -> Result<Schedule, MonitorConfigError> {
        Ok(match &self.schedule {
            ScheduleConfig::Crontab { value } => {
                let tab = Crontab::parse(value).map_err(|e| refuse("schedule.value", e.to_string()))?;
                let tz = self.timezone.parse::<Tz>().map_err(|_| {
                    refuse(
                        "timezone",
                        format!("{:?} is not an IANA time zone", self.timezone),
                    )
                })?;
                Schedule::Crontab(tab, tz)
            }
            ScheduleConfig::Interval { value, unit } => Schedule::Interval {
                value: *value,
                unit: *unit,
            },
        })
    }

    /// How the API shows the schedule: `0 * * * *` or `every 5 minute`.
    pub fn schedule_text(&self) -> String {
        match &self.schedule {
            ScheduleConfig::Crontab { value } => value.clone(),
            ScheduleConfig::Interval { value, unit } => {
                format!(
                    "every {value} {}",
                    serde_json::to_value(unit)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default()
                )
            }
        }
    }
}

impl Schedule {
    /// The next expected run after a run at `after` (seconds since the
    /// epoch). `minute` is how long a schedule minute lasts, in seconds
    /// (60 except in tests): intervals scale with it; crontab schedules
    /// follow the clock.
    pub fn next_after(&self, after: f64, minute: f64) -> Option<f64> {
        match self {
            Schedule::Crontab(tab, tz) => {
                let t = DateTime::<Utc>::from_timestamp_millis((after * 1000.0) as i64)?;
                tab.next_after(t, *tz)
                    .map(|t| t.timestamp_millis() as f64 / 1000.0)
            }
            Schedule::Interval { value, unit } => {
                let calendar = minute == 60.0 && matches!(unit, IntervalUnit::Month | IntervalUnit::Year);
                if calendar {
                    let months = *value * if *unit == IntervalUnit::Year { 12 } else { 1 };
                    let t = DateTime::<Utc>::from_timestamp_millis((after * 1000.0) as i64)?;
                    let next = t.checked_add_months(Months::new(u32::try_from(months).ok()?))?;
                    return Some(next.timestamp_millis() as f64 / 1000.0);
                }
                Some(after + (*value * unit.minutes()) as f64 * minute)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_and_schedules() {
        let c = MonitorConfig::from_json(&json!({"schedule": {"type": "crontab", "value": "0 * * * *"}}))
            .unwrap();
        assert_eq!(
            (c.checkin_margin, c.max_runtime, c.timezone.as_str()),
            (1, 30, "UTC")
        );
        assert_eq!((c.failure_issue_threshold, c.recovery_threshold), (1, 1));
        let s = c.compile().unwrap();
        assert_eq!(
            s.next_after(1_800_000_030.0, 60.0),
            Some(1_800_000_000.0 + 3600.0 - 1_800_000_000.0 % 3600.0)
        );
        let c = MonitorConfig::from_json(&json!({
            "schedule": {"type": "interval", "value": 2, "unit": "hour"},
            "checkin_margin": 5, "max_runtime": 10, "timezone": "Europe/Berlin",
            "failure_issue_threshold": 3, "recovery_threshold": 2, "owner": "team:lms"
        }))
        .unwrap();
        assert_eq!(c.schedule_text(), "every 2 hour");
        let s = c.compile().unwrap();
        assert_eq!(s.next_after(100.0, 60.0), Some(100.0 + 7200.0));
        assert_eq!(s.next_after(100.0, 1.0), Some(220.0));
        // Calendar months from 31 January.
        let c =
            MonitorConfig::from_json(&json!({"schedule": {"type": "interval", "value": 1, "unit": "month"}}))
                .unwrap();
        let jan31 = 1_769_817_600.0; // 2026-01-31T00:00:00Z
        assert_eq!(
            c.compile().unwrap().next_after(jan31, 60.0),
            Some(1_772_236_800.0)
        ); // 2026-02-28
    }

    #[test]
    fn refusals_name_the_field() {
        for (config, field) in [
            (json!("daily"), ""),
            (json!({}), "schedule"),
            (json!({"schedule": {"type": "weekly"}}), "schedule.type"),
            (
                json!({"schedule": {"type": "crontab", "value": "61 * * * *"}}),
                "schedule.value",
            ),
            (
                json!({"schedule": {"type": "interval", "value": 0, "unit": "minute"}}),
                "schedule.value",
            ),
            (
                json!({"schedule": {"type": "interval", "value": 5, "unit": "second"}}),
                "schedule.unit",
            ),
            (
                json!({"schedule": {"type": "interval", "value": 5, "unit": "minute"}, "timezone": "Mars/Olympus"}),
                "timezone",
            ),
            (
                json!({"schedule": {"type": "interval", "value": 5, "unit": "minute"}, "checkin_margin": -1}),
                "checkin_margin",
            ),
            (
                json!({"schedule": {"type": "interval", "value": 5, "unit": "minute"}, "max_runtime": 0}),
                "max_runtime",
            ),
            (
                json!({"schedule": {"type": "interval", "value": 5, "unit": "minute"}, "recovery_threshold": 0}),
                "recovery_threshold",
            ),
            (
                json!({"schedule": {"type": "interval", "value": 5, "unit": "minute"}, "failure_issue_threshold": 721}),
                "failure_issue_threshold",
            ),
        ] {
            let e = MonitorConfig::from_json(&config).unwrap_err();
            assert_eq!(e.field, field, "{config}: {e}");
            let dot = if field.is_empty() { "" } else { "." };
            assert!(
                e.to_string()
                    .starts_with(&format!("monitor_config{dot}{field}: ")),
                "{e}"
            );
        }
    }
}
