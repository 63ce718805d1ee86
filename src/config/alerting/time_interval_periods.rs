//! Time intervals evaluated: does an instant fall in one of a named
//! interval's periods? Semantics as Alertmanager's `timeinterval` package:
//! within a period all given fields must match, ranges are inclusive except
//! `times`, whose end is exclusive, and negative days count from the end of
//! the month.

use std::time::SystemTime;

use chrono::{DateTime, Datelike, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

use super::error::AlertingConfigError;
use super::{TimeIntervalConfig, TimeIntervalSpec};

#[derive(Clone, Debug)]
pub struct TimeInterval {
    pub name: String,
    periods: Vec<Period>,
}

#[derive(Clone, Debug)]
enum Zone {
    Utc,
    Local,
    Named(Tz),
}

#[derive(Clone, Debug)]
struct Period {
    /// Minutes since midnight, `[start, end)`.
    times: Vec<(u32, u32)>,
    /// 0 = Sunday … 6 = Saturday, inclusive ranges.
    weekdays: Vec<(u32, u32)>,
    days_of_month: Vec<(i32, i32)>,
    months: Vec<(u32, u32)>,
    years: Vec<(i32, i32)>,
    zone: Zone,
}

const WEEKDAYS: [&str; 7] = [
    "sunday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
];
const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

impl TimeInterval {
    pub fn compile(cfg: &TimeIntervalConfig) -> Result<TimeInterval, AlertingConfigError> {
        let periods = cfg
            .time_intervals
            .iter()
            .map(Period::compile)
            .collect::<Result<_, _>>()?;
        Ok(TimeInterval {
            name: cfg.name.clone(),
            periods,
        })
    }

    /// True when `at` falls in any period. An interval with no periods
    /// contains nothing.
    pub fn contains(&self, at: SystemTime) -> bool {
        let utc: DateTime<Utc> = at.into();
        self.periods.iter().any(|p| p.contains(utc))
    }
}

impl Period {
    fn compile(spec: &TimeIntervalSpec) -> Result<Period, AlertingConfigError> {
        let times = spec
            .times
            .iter()
            .map(|t| {
                let start = clock(&t.start_time)?;
                let end = clock(&t.end_time)?;
                if start >= end {
                    return Err(AlertingConfigError::TimesOutOfOrder {
                        start: t.start_time.clone(),
                        end: t.end_time.clone(),
                    });
                }
                Ok((start, end))
            })
            .collect::<Result<_, AlertingConfigError>>()?;
        let weekdays = ranges(&spec.weekdays, "weekday", |s| named(s, &WEEKDAYS, 0))?;
        let months = ranges(&spec.months, "month", |s| {
            named(s, &MONTHS, 1).or_else(|| s.parse().ok().filter(|m| (1..=12).contains(m)))
        })?;
        let years = ranges(&spec.years, "year", |s| s.parse::<i32>().ok().filter(|y| *y > 0))?;
        let days_of_month = ranges(&spec.days_of_month, "day of month", |s| {
            s.parse::<i32>()
                .ok()
                .filter(|d| *d != 0 && (-31..=31).contains(d))
        })?;
        for (a, b) in &days_of_month {
            if a.signum() == b.signum() && a > b {
                return Err(AlertingConfigError::DaysOutOfOrder { from: *a, to: *b });
            }
        }
        let zone = match spec.location.as_deref() {
            None | Some("") | Some("UTC") => Zone::Utc,
            Some("Local") => Zone::Local,
            Some(name) => Zone::Named(
                name.parse::<Tz>()
                    .map_err(|_| AlertingConfigError::Location(name.to_string()))?,
            ),
        };
        Ok(Period {
            times,
            weekdays,
            days_of_month,
            months,
            years,
            zone,
        })
    }

    fn contains(&self, utc: DateTime<Utc>) -> bool {
        match &self.zone {
            Zone::Utc => self.contains_local(&utc),
            Zone::Local => self.contains_local(&utc.with_timezone(&chrono::Local)),
            Zone::Named(tz) => self.contains_local(&tz.from_utc_datetime(&utc.naive_utc())),
        }
    }

    fn contains_local<T: Datelike + Timelike>(&self, t: &T) -> bool {
        let minute = t.hour() * 60 + t.minute();
        if !self.times.is_empty() && !self.times.iter().any(|(s, e)| minute >= *s && minute < *e) {
            return false;
        }
        let wd = t.weekday().num_days_from_sunday();
        if !self.weekdays.is_empty() && !self.weekdays.iter().any(|(a, b)| wd >= *a && wd <= *b) {
            return false;
        }
        if !self.months.is_empty()
            && !self
                .months
                .iter()
                .any(|(a, b)| t.month() >= *a && t.month() <= *b)
        {
            return false;
        }
        if !self.years.is_empty() && !self.years.iter().any(|(a, b)| t.year() >= *a && t.year() <= *b) {
            return false;
        }
        if !self.days_of_month.is_empty() {
            let len = days_in_month(t.year(), t.month()) as i32;
            let day = t.day() as i32;
            let abs = |d: i32| if d < 0 { len + d + 1 } else { d.min(len) };
            if !self
                .days_of_month
                .iter()
                .any(|(a, b)| day >= abs(*a) && day <= abs(*b))
            {
                return false;
            }
        }
        true
    }
}

fn days_in_month(year: i32, month: u32) -> u32 {
    let (ny, nm) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    chrono::NaiveDate::from_ymd_opt(ny, nm, 1)
        .and_then(|d| d.pred_opt())
        .map_or(31, |d| d.day())
}

fn clock(s: &str) -> Result<u32, AlertingConfigError> {
    let bad = || AlertingConfigError::Clock(s.to_string());
    let (h, m) = s.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let h: u32 = h.parse().map_err(|_| bad())?;
    let m: u32 = m.parse().map_err(|_| bad())?;
    if m > 59 || h > 24 || (h == 24 && m != 0) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

fn named(s: &str, names: &[&str], first: u32) -> Option<u32> {
    let lower = s.to_ascii_lowercase();
    names.iter().position(|n| *n == lower).map(|i| i as u32 + first)
}

fn ranges<T: Copy + PartialOrd + std::fmt::Display>(
    items: &[String],
    what: &'static str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Vec<(T, T)>, AlertingConfigError> {
    items
        .iter()
        .map(|item| {
            let (a, b) = item.split_once(':').unwrap_or((item, item));
            let bad = || AlertingConfigError::RangeItem {
                what,
                item: item.clone(),
            };
            let a = parse(a.trim()).ok_or_else(bad)?;
            let b = parse(b.trim()).ok_or_else(bad)?;
            Ok((a, b))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::alerting::TimeRangeConfig;

    fn at(rfc3339: &str) -> SystemTime {
        DateTime::parse_from_rfc3339(rfc3339).unwrap().into()
    }

    fn interval(spec: TimeIntervalSpec) -> TimeInterval {
        TimeInterval::compile(&TimeIntervalConfig {
            name: "x".into(),
            time_intervals: vec![spec],
        })
        .unwrap()
    }

    #[test]
    fn working_hours_on_weekdays() {
        let ti = interval(TimeIntervalSpec {
            times: vec![TimeRangeConfig {
                start_time: "09:00".into(),
                end_time: "17:00".into(),
            }],
            weekdays: vec!["monday:friday".into()],
            ..Default::default()
        });
        assert!(ti.contains(at("2025-03-03T09:00:00Z"))); // Monday
        assert!(!ti.contains(at("2025-03-03T17:00:00Z"))); // end exclusive
        assert!(!ti.contains(at("2025-03-01T10:00:00Z"))); // Saturday
    }

    #[test]
    fn exam_weeks_with_negative_days_and_location() {
        let ti = interval(TimeIntervalSpec {
            days_of_month: vec!["-7:-1".into()],
            months: vec!["june".into(), "12".into()],
            years: vec!["2025:2026".into()],
            location: Some("Europe/Berlin".into()),
            ..Default::default()
        });
        assert!(ti.contains(at("2025-06-24T12:00:00Z")));
        assert!(!ti.contains(at("2025-06-23T12:00:00Z")));
        // 22:30 UTC on 23 June is already 24 June in Berlin.
        assert!(ti.contains(at("2025-06-23T22:30:00Z")));
        assert!(ti.contains(at("2026-12-31T10:00:00Z")));
        assert!(!ti.contains(at("2027-12-31T10:00:00Z")));
    }

    #[test]
    fn rejects_bad_specs() {
        for spec in [
            TimeIntervalSpec {
                weekdays: vec!["funday".into()],
                ..Default::default()
            },
            TimeIntervalSpec {
                times: vec![TimeRangeConfig {
                    start_time: "10:00".into(),
                    end_time: "09:00".into(),
                }],
                ..Default::default()
            },
            TimeIntervalSpec {
                location: Some("Mars/Olympus".into()),
                ..Default::default()
            },
            TimeIntervalSpec {
                days_of_month: vec!["0".into()],
                ..Default::default()
            },
        ] {
            let cfg = TimeIntervalConfig {
                name: "x".into(),
                time_intervals: vec![spec],
            };
            assert!(TimeInterval::compile(&cfg).is_err());
        }
    }
}
