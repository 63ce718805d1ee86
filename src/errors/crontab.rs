//! Crontab schedules as cron monitors send them: five fields (minute,
//! hour, day of month, month, day of week) of `*`, numbers, ranges, steps
//! and lists, month and weekday names, and the `@hourly`-style macros;
//! the next run time in the monitor's time zone.
//!
//! Day of month and day of week follow Vixie cron: when both are
//! restricted a day matches either. Across daylight-saving changes the
//! times follow cronie: a fixed-time job whose local time is skipped runs
//! at the first minute after the gap, and one whose local time happens
//! twice runs once; a job for every hour runs in every real hour.

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

/// Parsed fields as bit sets, bit N set when value N matches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Crontab {
    minutes: u64,
    hours: u32,
    days_of_month: u32,
    months: u16,
    /// Sunday is 0 (and 7 in the text).
    days_of_week: u8,
    /// The day fields as written were `*` (or `*/N`): see [`Crontab::day_matches`].
    dom_star: bool,
    dow_star: bool,
}

/// Why a schedule text is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CrontabError(String);

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const WEEKDAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
    /// The value the first name stands for.
    names_from: u32,
}

const FIELDS: [Field; 5] = [
    Field {
        name: "minute",
        min: 0,
        max: 59,
        names: &[],
        names_from: 0,
    },
    Field {
        name: "hour",
        min: 0,
        max: 23,
        names: &[],
        names_from: 0,
    },
    Field {
        name: "day of month",
        min: 1,
        max: 31,
        names: &[],
        names_from: 0,
    },
    Field {
        name: "month",
        min: 1,
        max: 12,
        names: &MONTHS,
        names_from: 1,
    },
    Field {
        name: "day of week",
        min: 0,
        max: 7,
        names: &WEEKDAYS,
        names_from: 0,
    },
];

/// How far ahead a next time is looked for: a 29 February can be eight
/// years away.
const SEARCH_YEARS: i32 = 9;

impl Crontab {
    pub fn parse(text: &str) -> Result<Crontab, CrontabError> {
        let text = text.trim();
        let expanded = match text.to_ascii_lowercase().as_str() {
            "@yearly" | "@annually" => "0 0 1 1 *".to_string(),
            "@monthly" => "0 0 1 * *".to_string(),
            "@weekly" => "0 0 * * 0".to_string(),
            "@daily" | "@midnight" => "0 0 * * *".to_string(),
            "@hourly" => "0 * * * *".to_string(),
            m if m.starts_with('@') => return Err(CrontabError(format!("unknown macro {text:?}"))),
            _ => text.to_string(),
        };
        let parts: Vec<&str> = expanded.split_whitespace().collect();
        if parts.len() != 5 {
            return Err(CrontabError(format!(
                "a crontab schedule has 5 fields (minute hour day-of-month month day-of-week), got {} in {text:?}",
                parts.len()
            )));
        }
        let mut sets = [0u64; 5];
        for (i, (part, field)) in parts.iter().zip(FIELDS.iter()).enumerate() {
            sets[i] = parse_field(part, field)?;
        }
        // 7 is Sunday too.
        let mut dow = sets[4];
        if dow & (1 << 7) != 0 {
            dow = (dow & !(1 << 7)) | 1;
        }
        let tab = Crontab {
            minutes: sets[0],
            hours: sets[1] as u32,
            days_of_month: sets[2] as u32,
            months: sets[3] as u16,
            days_of_week: dow as u8,
            dom_star: parts[2].starts_with('*'),
            dow_star: parts[4].starts_with('*'),
        };
        let probe = Utc
            .with_ymd_and_hms(2000, 1, 1, 0, 0, 0)
            .single()
            .expect("a valid date");
        if tab.next_after(probe, Tz::UTC).is_none() {
            return Err(CrontabError(format!("{text:?} never matches a date")));
        }
        Ok(tab)
    }

    fn hourly(&self) -> bool {
        self.hours == (1 << 24) - 1
    }

    fn day_matches(&self, d: NaiveDate) -> bool {
        let dom = self.days_of_month & (1 << d.day()) != 0;
        let dow = self.days_of_week & (1 << d.weekday().num_days_from_sunday()) != 0;
        match (self.dom_star, self.dow_star) {
            (false, false) => dom || dow,
            _ => dom && dow,
        }
    }

    /// The first run time strictly after `after`, in `tz`; `None` when
    /// there is none within the search horizon.
    pub fn next_after(&self, after: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        if self.hourly() {
            self.next_in_real_time(after, tz)
        } else {
            self.next_by_wall_clock(after, tz)
        }
    }

    /// A job for every hour runs in every real hour: walk instants, so a
    /// repeated hour is walked twice and a skipped one not at all.
    fn next_in_real_time(&self, after: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        let mut t = after.with_second(0)?.with_nanosecond(0)? + Duration::minutes(1);
        let horizon = after.year() + SEARCH_YEARS;
        while t.year() <= horizon {
            let local = t.with_timezone(&tz);
            let date = local.date_naive();
            if self.months & (1 << date.month()) == 0 || !self.day_matches(date) {
                t = next_local_midnight(date, tz)?.max(t + Duration::minutes(1));
                continue;
            }
            if self.minutes & (1 << local.minute()) == 0 {
                t += Duration::minutes(1);
                continue;
            }
            return Some(t);
        }
        None
    }

    /// A job at fixed hours follows the wall clock: a repeated local time
    /// runs once (its first occurrence), a skipped one when the clock
    /// resumes.
    fn next_by_wall_clock(&self, after: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        let start = after.with_timezone(&tz).naive_local();
        let mut t = start.with_second(0)?.with_nanosecond(0)? + Duration::minutes(1);
        let horizon = start.year() + SEARCH_YEARS;
        while t.year() <= horizon {
            if self.months & (1 << t.month()) == 0 {
                t = first_of_next_month(t)?;
                continue;
            }
            if !self.day_matches(t.date()) {
                t = t.date().succ_opt()?.and_hms_opt(0, 0, 0)?;
                continue;
            }
            if self.hours & (1 << t.hour()) == 0 {
                t = t.with_minute(0)? + Duration::hours(1);
                continue;
            }
            if self.minutes & (1 << t.minute()) == 0 {
                t += Duration::minutes(1);
                continue;
            }
            let instant = match tz.from_local_datetime(&t) {
                LocalResult::Single(x) | LocalResult::Ambiguous(x, _) => Some(x.with_timezone(&Utc)),
                LocalResult::None => after_gap(t, tz),
            };
            if let Some(x) = instant.filter(|x| *x > after) {
                return Some(x);
            }
            t += Duration::minutes(1);
        }
        None
    }
}

/// The first instant of the local day after `date`.
fn next_local_midnight(date: NaiveDate, tz: Tz) -> Option<DateTime<Utc>> {
    let midnight = date.succ_opt()?.and_hms_opt(0, 0, 0)?;
    match tz.from_local_datetime(&midnight).earliest() {
        Some(x) => Some(x.with_timezone(&Utc)),
        None => after_gap(midnight, tz),
    }
}

/// The first instant after a skipped local time: when the clock resumes.
fn after_gap(t: NaiveDateTime, tz: Tz) -> Option<DateTime<Utc>> {
    (1..=24 * 60).find_map(|m| {
        tz.from_local_datetime(&(t + Duration::minutes(m)))
            .earliest()
            .map(|x| x.with_timezone(&Utc))
    })
}

fn first_of_next_month(t: NaiveDateTime) -> Option<NaiveDateTime> {
    let (y, m) = if t.month() == 12 {
        (t.year() + 1, 1)
    } else {
        (t.year(), t.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)?.and_hms_opt(0, 0, 0)
}

fn parse_field(text: &str, field: &Field) -> Result<u64, CrontabError> {
    let mut set = 0u64;
    for item in text.split(',') {
        set |= parse_item(item, field)
            .map_err(|m| CrontabError(format!("{} field {text:?}: {m}", field.name)))?;
    }
    Ok(set)
}

fn parse_item(item: &str, field: &Field) -> Result<u64, String> {
    let (range, step) = match item.split_once('/') {
        Some((r, s)) => {
            let step: u32 = s.parse().map_err(|_| format!("step {s:?} is not a number"))?;
            if step == 0 || step > field.max {
                return Err(format!("step {step} must be 1 to {}", field.max));
            }
            (r, Some(step))
        }
        None => (item, None),
    };
    let (lo, hi) = if range == "*" {
        (field.min, field.max)
    } else if let Some((a, b)) = range.split_once('-') {
        (value(a, field)?, value(b, field)?)
    } else {
        let v = value(range, field)?;
        // `N/S` runs from N to the field's end.
        (v, if step.is_some() { field.max } else { v })
    };
    if lo > hi {
        return Err(format!("range {range:?} runs backwards"));
    }
    let step = step.unwrap_or(1);
    let mut set = 0u64;
    let mut v = lo;
    while v <= hi {
        set |= 1 << v;
        v += step;
    }
    Ok(set)
}

fn value(text: &str, field: &Field) -> Result<u32, String> {
    let lower = text.to_ascii_lowercase();
    if let Some(i) = field.names.iter().position(|n| *n == lower) {
        return Ok(i as u32 + field.names_from);
    }
    let v: u32 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number{}", names_hint(field)))?;
    if v < field.min || v > field.max {
        return Err(format!("{v} is out of range {}-{}", field.min, field.max));
    }
    Ok(v)
}

fn names_hint(field: &Field) -> String {
    if field.names.is_empty() {
        String::new()
    } else {
        format!(" or a name ({})", field.names.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn next(tab: &str, after: &str, tz: Tz) -> String {
        Crontab::parse(tab)
            .unwrap()
            .next_after(utc(after), tz)
            .unwrap()
            .to_rfc3339()
    }

    #[test]
    fn fields_ranges_steps_lists_and_names() {
        let utc_tz = Tz::UTC;
        assert_eq!(
            next("0 * * * *", "2026-03-01T10:00:00Z", utc_tz),
            "2026-03-01T11:00:00+00:00"
        );
        assert_eq!(
            next("*/15 * * * *", "2026-03-01T10:07:30Z", utc_tz),
            "2026-03-01T10:15:00+00:00"
        );
        assert_eq!(
            next("5-10/5 8 * * *", "2026-03-01T08:05:00Z", utc_tz),
            "2026-03-01T08:10:00+00:00"
        );
        assert_eq!(
            next("0 9 * * mon-fri", "2026-03-06T09:00:00Z", utc_tz),
            "2026-03-09T09:00:00+00:00"
        );
        assert_eq!(
            next("0 0 1 jan,JUL *", "2026-03-01T00:00:00Z", utc_tz),
            "2026-07-01T00:00:00+00:00"
        );
        assert_eq!(
            next("0 0 * * 7", "2026-03-02T00:00:00Z", utc_tz),
            "2026-03-08T00:00:00+00:00"
        );
        assert_eq!(
            next("30 2/6 * * *", "2026-03-01T03:00:00Z", utc_tz),
            "2026-03-01T08:30:00+00:00"
        );
        assert_eq!(
            next("@daily", "2026-03-01T03:00:00Z", utc_tz),
            "2026-03-02T00:00:00+00:00"
        );
        // Both day fields restricted: either matches (the 13th, or a Friday).
        assert_eq!(
            next("0 0 13 * fri", "2026-03-01T00:00:00Z", utc_tz),
            "2026-03-06T00:00:00+00:00"
        );
        assert_eq!(
            next("0 0 13 * fri", "2026-03-10T00:00:00Z", utc_tz),
            "2026-03-13T00:00:00+00:00"
        );
    }

    #[test]
    fn month_ends_and_leap_days() {
        let utc_tz = Tz::UTC;
        assert_eq!(
            next("0 0 31 * *", "2026-01-31T00:00:00Z", utc_tz),
            "2026-03-31T00:00:00+00:00"
        );
        assert_eq!(
            next("0 12 30 * *", "2026-01-30T12:00:00Z", utc_tz),
            "2026-03-30T12:00:00+00:00"
        );
        assert_eq!(
            next("0 0 29 2 *", "2026-01-01T00:00:00Z", utc_tz),
            "2028-02-29T00:00:00+00:00"
        );
        assert_eq!(
            next("59 23 * * *", "2026-12-31T23:59:00Z", utc_tz),
            "2027-01-01T23:59:00+00:00"
        );
    }

    #[test]
    fn daylight_saving_changes() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        // 29 March 2026: 02:00 local jumps to 03:00 (01:00 UTC).
        assert_eq!(
            next("30 2 * * *", "2026-03-28T12:00:00Z", berlin),
            "2026-03-29T01:00:00+00:00"
        );
        assert_eq!(
            next("30 2 * * *", "2026-03-29T01:00:00Z", berlin),
            "2026-03-30T00:30:00+00:00"
        );
        // Hourly: no run in the missing hour, the next real hour instead.
        assert_eq!(
            next("0 * * * *", "2026-03-29T00:30:00Z", berlin),
            "2026-03-29T01:00:00+00:00"
        );
        // 25 October 2026: 03:00 local falls back to 02:00 (01:00 UTC).
        assert_eq!(
            next("30 2 * * *", "2026-10-24T12:00:00Z", berlin),
            "2026-10-25T00:30:00+00:00"
        );
        assert_eq!(
            next("30 2 * * *", "2026-10-25T00:30:00Z", berlin),
            "2026-10-26T01:30:00+00:00"
        );
        // Every hour runs in both 02:00 hours.
        assert_eq!(
            next("0 * * * *", "2026-10-25T00:00:00Z", berlin),
            "2026-10-25T01:00:00+00:00"
        );
        assert_eq!(
            next("0 * * * *", "2026-10-25T01:00:00Z", berlin),
            "2026-10-25T02:00:00+00:00"
        );
        let ny: Tz = "America/New_York".parse().unwrap();
        assert_eq!(
            next("0 9 * * *", "2026-03-07T15:00:00Z", ny),
            "2026-03-08T13:00:00+00:00"
        );
    }

    #[test]
    fn refusals_name_the_field() {
        for (text, needle) in [
            ("* * * *", "5 fields"),
            ("60 * * * *", "minute field"),
            ("* 24 * * *", "hour field"),
            ("* * 0 * *", "day of month field"),
            ("* * * foo *", "month field"),
            ("* * * * 8", "day of week field"),
            ("*/0 * * * *", "step 0"),
            ("5-1 * * * *", "backwards"),
            ("0 0 31 2 *", "never matches"),
            ("@fortnightly", "unknown macro"),
        ] {
            let e = Crontab::parse(text).unwrap_err().to_string();
            assert!(e.contains(needle), "{text}: {e}");
        }
    }

    proptest! {
        #[test]
        fn parser_never_panics(text in "[0-9*/,a-z@ -]{0,30}") {
            let _ = Crontab::parse(&text);
        }

        /// The next time matches the schedule, lies after the start, and
        /// no matching minute lies between (checked minute by minute in UTC).
        #[test]
        fn next_is_the_first_match(
            minute in prop::sample::select(vec!["*", "0", "*/7", "5-20/5", "59", "0,30"]),
            hour in prop::sample::select(vec!["*", "0", "*/5", "9-17", "23"]),
            dom in prop::sample::select(vec!["*", "1", "15", "28-31", "*/10"]),
            month in prop::sample::select(vec!["*", "2", "jan-mar", "*/4"]),
            dow in prop::sample::select(vec!["*", "1", "sat,sun", "mon-fri"]),
            start in 946_684_800i64..2_000_000_000i64,
        ) {
            let text = format!("{minute} {hour} {dom} {month} {dow}");
            let tab = Crontab::parse(&text).unwrap();
            let after = Utc.timestamp_opt(start, 0).unwrap();
            let found = tab.next_after(after, Tz::UTC).unwrap();
            prop_assert!(found > after);
            let matches = |t: DateTime<Utc>| {
                tab.minutes & (1 << t.minute()) != 0
                    && tab.hours & (1 << t.hour()) != 0
                    && tab.months & (1 << t.month()) != 0
                    && tab.day_matches(t.date_naive())
            };
            prop_assert!(matches(found), "{text}: {found}");
            // Walk the gap a day at a time cheaply only when short.
            let gap_minutes = (found - after).num_minutes();
            if gap_minutes < 3 * 24 * 60 {
                let mut t = after.with_second(0).unwrap() + Duration::minutes(1);
                while t < found {
                    prop_assert!(!matches(t), "{text}: {t} matches before {found}");
                    t += Duration::minutes(1);
                }
            }
        }
    }
}
