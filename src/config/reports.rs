//! `reports`: the SEV-3 reports of the LMS guide's §4.3 — a daily summary,
//! a weekly capacity report and a monthly security summary — each with its
//! schedule (a time of day in a time zone, and for the weekly one a
//! weekday, for the monthly one a day of the month), the receiver of
//! `alerting.receivers` it is mailed through, and the limits the capacity
//! forecast measures against. A report without a receiver is off.

use std::str::FromStr;

use serde::Deserialize;

use crate::model::PromDuration;

/// The reports by the names the API, the pages and `belfry report send` use.
pub const REPORT_NAMES: [&str; 3] = ["daily", "weekly", "monthly"];

#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReportsConfig {
    /// The time zone schedules are read in unless a report names its own
    /// (an IANA name such as `Europe/Berlin`, or `UTC`).
    #[serde(default = "default_timezone")]
    pub timezone: String,
    #[serde(default = "ReportConfig::daily")]
    pub daily: ReportConfig,
    #[serde(default = "ReportConfig::weekly")]
    pub weekly: ReportConfig,
    #[serde(default = "ReportConfig::monthly")]
    pub monthly: ReportConfig,
    #[serde(default)]
    pub capacity: CapacityConfig,
}

impl Default for ReportsConfig {
    fn default() -> Self {
        ReportsConfig {
            timezone: default_timezone(),
            daily: ReportConfig::daily(),
            weekly: ReportConfig::weekly(),
            monthly: ReportConfig::monthly(),
            capacity: CapacityConfig::default(),
        }
    }
}

/// One report's schedule and receiver.
#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReportConfig {
    /// Whether it is sent on its schedule; when not said, it is on exactly
    /// when a receiver is named.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// A receiver of `alerting.receivers`.
    #[serde(default)]
    pub receiver: Option<String>,
    /// The time of day, `HH:MM` (24-hour).
    #[serde(default = "default_at")]
    pub at: String,
    /// For the weekly report: `monday` … `sunday` (or `mon` … `sun`);
    /// Monday when not said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weekday: Option<String>,
    /// For the monthly report: 1–31, the 1st when not said; in a shorter
    /// month, its last day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub day: Option<u32>,
    /// The time zone of `at`, overriding `reports.timezone`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
}

impl ReportConfig {
    fn daily() -> Self {
        ReportConfig {
            enabled: None,
            receiver: None,
            at: default_at(),
            weekday: None,
            day: None,
            timezone: None,
        }
    }

    fn weekly() -> Self {
        ReportConfig {
            weekday: Some("monday".into()),
            ..ReportConfig::daily()
        }
    }

    fn monthly() -> Self {
        ReportConfig {
            day: Some(1),
            ..ReportConfig::daily()
        }
    }

    /// Sent on its schedule: `enabled`, or a receiver when not said.
    pub fn is_enabled(&self) -> bool {
        self.enabled.unwrap_or(self.receiver.is_some())
    }

    /// `(hour, minute)` of `at`; validated at load.
    pub fn hour_minute(&self) -> (u32, u32) {
        parse_hh_mm(&self.at).unwrap_or((7, 0))
    }

    /// The day of the month (the monthly report's); validated at load.
    pub fn day_of_month(&self) -> u32 {
        self.day.unwrap_or(1)
    }

    /// The weekday, Monday = 0; validated at load.
    pub fn weekday_index(&self) -> u32 {
        self.weekday.as_deref().and_then(parse_weekday).unwrap_or(0)
    }
}

/// Where each resource of the weekly capacity report runs out, and how far
/// ahead its forecast looks.
#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct CapacityConfig {
    /// A forecast further out than this says "not within N days".
    #[serde(default = "default_horizon")]
    pub horizon: PromDuration,
    /// Share of a filesystem's size in use (0–1).
    #[serde(default = "default_ratio_90")]
    pub disk_used_ratio: f64,
    /// Share of a host's memory in use (0–1).
    #[serde(default = "default_ratio_90")]
    pub memory_used_ratio: f64,
    /// Share of PostgreSQL's `max_connections` in use (0–1); the LMS pack's
    /// `LMSDBConnectionPoolExhausted` fires above 0.95.
    #[serde(default = "default_ratio_95")]
    pub db_connections_ratio: f64,
    /// Share of Redis's `maxmemory` in use (0–1); `LMSRedisMemoryHigh`
    /// fires above 0.9.
    #[serde(default = "default_ratio_90")]
    pub redis_memory_ratio: f64,
    /// Tasks waiting in one Celery queue; `LMSCeleryQueueHigh` fires above
    /// 1000.
    #[serde(default = "default_queue_length")]
    pub celery_queue_length: f64,
}

impl Default for CapacityConfig {
    fn default() -> Self {
        CapacityConfig {
            horizon: default_horizon(),
            disk_used_ratio: default_ratio_90(),
            memory_used_ratio: default_ratio_90(),
            db_connections_ratio: default_ratio_95(),
            redis_memory_ratio: default_ratio_90(),
            celery_queue_length: default_queue_length(),
        }
    }
}

fn default_timezone() -> String {
    "UTC".into()
}
fn default_at() -> String {
    "07:00".into()
}
fn default_horizon() -> PromDuration {
    PromDuration::from_secs(30 * 86_400)
}
fn default_ratio_90() -> f64 {
    0.9
}
fn default_ratio_95() -> f64 {
    0.95
}
fn default_queue_length() -> f64 {
    1000.0
}

/// `HH:MM`, 00:00–23:59.
pub fn parse_hh_mm(text: &str) -> Option<(u32, u32)> {
    let (h, m) = text.split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    let (h, m) = (h.parse::<u32>().ok()?, m.parse::<u32>().ok()?);
    (h < 24 && m < 60).then_some((h, m))
}

/// Monday = 0 … Sunday = 6, from a full or three-letter English name.
pub fn parse_weekday(text: &str) -> Option<u32> {
    const DAYS: [&str; 7] = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    let t = text.trim().to_ascii_lowercase();
    DAYS.iter()
        .position(|d| *d == t || (t.len() == 3 && d.starts_with(&t)))
        .map(|i| i as u32)
}

/// A time zone by its IANA name.
pub fn parse_timezone(text: &str) -> Option<chrono_tz::Tz> {
    chrono_tz::Tz::from_str(text.trim()).ok()
}

impl ReportsConfig {
    pub fn report(&self, name: &str) -> Option<&ReportConfig> {
        match name {
            "daily" => Some(&self.daily),
            "weekly" => Some(&self.weekly),
            "monthly" => Some(&self.monthly),
            _ => None,
        }
    }

    /// The time zone of `report`'s schedule.
    pub fn timezone_of(&self, report: &ReportConfig) -> chrono_tz::Tz {
        parse_timezone(report.timezone.as_deref().unwrap_or(&self.timezone)).unwrap_or(chrono_tz::UTC)
    }

    /// Checks every key; `receivers` are the names of
    /// `alerting.receivers`. The message names the key (`daily.at`).
    pub(crate) fn validate(&self, receivers: &[&str]) -> Result<(), String> {
        if parse_timezone(&self.timezone).is_none() {
            return Err(format!(
                "timezone: {:?} is not a time zone (write an IANA name such as Europe/Berlin, or UTC)",
                self.timezone
            ));
        }
        for name in REPORT_NAMES {
            let r = self.report(name).expect("every name has a report");
            r.validate(name, receivers)?;
        }
        self.capacity.validate()
    }
}

impl ReportConfig {
    fn validate(&self, name: &str, receivers: &[&str]) -> Result<(), String> {
        if parse_hh_mm(&self.at).is_none() {
            return Err(format!(
                "{name}.at: {:?} is not a time of day as HH:MM (00:00–23:59)",
                self.at
            ));
        }
        if let Some(tz) = &self.timezone
            && parse_timezone(tz).is_none()
        {
            return Err(format!(
                "{name}.timezone: {tz:?} is not a time zone (write an IANA name such as Europe/Berlin, or UTC)"
            ));
        }
        match (name, &self.weekday) {
            ("weekly", Some(w)) if parse_weekday(w).is_none() => {
                return Err(format!(
                    "{name}.weekday: {w:?} is not a weekday (monday … sunday)"
                ));
            }
            ("weekly", _) => {}
            (_, Some(_)) => {
                return Err(format!("{name}.weekday: only the weekly report has a weekday"));
            }
            _ => {}
        }
        match (name, self.day) {
            ("monthly", Some(d)) if !(1..=31).contains(&d) => {
                return Err(format!("{name}.day: {d} is not a day of the month (1–31)"));
            }
            ("monthly", _) => {}
            (_, Some(_)) => return Err(format!("{name}.day: only the monthly report has a day")),
            _ => {}
        }
        match &self.receiver {
            Some(r) if !receivers.contains(&r.as_str()) => Err(format!(
                "{name}.receiver: {r:?} is not a receiver of alerting.receivers"
            )),
            None if self.enabled == Some(true) => Err(format!(
                "{name}.enabled: the report is enabled but names no receiver (set {name}.receiver)"
            )),
            _ => Ok(()),
        }
    }
}

impl CapacityConfig {
    fn validate(&self) -> Result<(), String> {
        if self.horizon.is_zero() {
            return Err("capacity.horizon must be greater than 0".into());
        }
        for (key, v) in [
            ("disk_used_ratio", self.disk_used_ratio),
            ("memory_used_ratio", self.memory_used_ratio),
            ("db_connections_ratio", self.db_connections_ratio),
            ("redis_memory_ratio", self.redis_memory_ratio),
        ] {
            if v.is_nan() || v <= 0.0 || v > 1.0 {
                return Err(format!(
                    "capacity.{key}: {v} is not a share between 0 (excluded) and 1"
                ));
            }
        }
        if !(self.celery_queue_length.is_finite() && self.celery_queue_length > 0.0) {
            return Err(format!(
                "capacity.celery_queue_length: {} must be a positive number of tasks",
                self.celery_queue_length
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> ReportsConfig {
        serde_norway::from_str(text).unwrap()
    }

    #[test]
    fn defaults_are_off_until_a_receiver_is_named() {
        let c = ReportsConfig::default();
        c.validate(&[]).unwrap();
        assert!(!c.daily.is_enabled() && !c.weekly.is_enabled() && !c.monthly.is_enabled());
        assert_eq!(c.weekly.weekday_index(), 0);
        assert_eq!(c.monthly.day, Some(1));
        assert_eq!(c.daily.hour_minute(), (7, 0));
        let c = parse("weekly: {receiver: team}\nmonthly: {receiver: team}");
        c.validate(&["team"]).unwrap();
        assert_eq!((c.weekly.weekday_index(), c.monthly.day_of_month()), (0, 1));
        let c = parse("daily: {receiver: team}");
        assert!(c.daily.is_enabled());
        c.validate(&["team"]).unwrap();
        let c = parse("daily: {receiver: team, enabled: false}");
        assert!(!c.daily.is_enabled());
    }

    #[test]
    fn refusals_name_the_key() {
        let cases = [
            ("timezone: Mars/Olympus", "timezone:"),
            ("daily: {at: '25:00'}", "daily.at"),
            ("daily: {at: '7'}", "daily.at"),
            ("daily: {timezone: Nowhere}", "daily.timezone"),
            ("daily: {weekday: monday}", "daily.weekday"),
            ("weekly: {weekday: someday}", "weekly.weekday"),
            ("monthly: {day: 0}", "monthly.day"),
            ("monthly: {day: 32}", "monthly.day"),
            ("daily: {day: 3}", "daily.day"),
            ("daily: {receiver: nobody}", "daily.receiver"),
            ("weekly: {enabled: true}", "weekly.enabled"),
            ("capacity: {disk_used_ratio: 1.5}", "capacity.disk_used_ratio"),
            (
                "capacity: {celery_queue_length: 0}",
                "capacity.celery_queue_length",
            ),
            ("capacity: {horizon: 0s}", "capacity.horizon"),
        ];
        for (yaml, key) in cases {
            let e = parse(yaml).validate(&["team"]).unwrap_err();
            assert!(e.contains(key), "{yaml}: {e}");
        }
        assert!(serde_norway::from_str::<ReportsConfig>("hourly: {}").is_err());
    }

    #[test]
    fn weekdays_times_and_zones() {
        assert_eq!(parse_weekday("Sunday"), Some(6));
        assert_eq!(parse_weekday("wed"), Some(2));
        assert_eq!(parse_weekday("we"), None);
        assert_eq!(parse_hh_mm("7:05"), Some((7, 5)));
        assert_eq!(parse_hh_mm("23:59"), Some((23, 59)));
        assert_eq!(parse_hh_mm("24:00"), None);
        assert_eq!(parse_hh_mm("12:5"), None);
        let c = parse("timezone: Europe/Berlin\nweekly: {weekday: fri, timezone: UTC}");
        c.validate(&[]).unwrap();
        assert_eq!(c.timezone_of(&c.daily), chrono_tz::Europe::Berlin);
        assert_eq!(c.timezone_of(&c.weekly), chrono_tz::UTC);
    }
}
