//! When a report is due: daily at HH:MM, weekly on a weekday at HH:MM, or
//! monthly on day N at HH:MM (the month's last day in a shorter month), in
//! a time zone. A due time is a "slot"; a scheduled report covers the
//! period from the slot before to its own slot. Local times a daylight
//! saving change skips are taken an hour later; those it repeats, the
//! first time.

use chrono::{Datelike, Days, LocalResult, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;

use crate::config::{ReportConfig, ReportsConfig};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cadence {
    Daily,
    /// Monday = 0.
    Weekly(u32),
    /// 1–31.
    Monthly(u32),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Schedule {
    pub cadence: Cadence,
    pub hour: u32,
    pub minute: u32,
    pub tz: Tz,
}

/// How far a search for a slot walks, in days: more than a month.
const SEARCH_DAYS: u64 = 40;

impl Schedule {
    /// The schedule of report `name` (`daily`, `weekly`, `monthly`).
    pub fn of(name: &str, report: &ReportConfig, all: &ReportsConfig) -> Schedule {
        let (hour, minute) = report.hour_minute();
        let cadence = match name {
            "weekly" => Cadence::Weekly(report.weekday_index()),
            "monthly" => Cadence::Monthly(report.day_of_month()),
            _ => Cadence::Daily,
        };
        Schedule {
            cadence,
            hour,
            minute,
            tz: all.timezone_of(report),
        }
    }

    /// Whether a slot falls on `date` (a local date).
    fn on(&self, date: NaiveDate) -> bool {
        match self.cadence {
            Cadence::Daily => true,
            Cadence::Weekly(w) => date.weekday().num_days_from_monday() == w,
            Cadence::Monthly(d) => date.day() == d.min(days_in_month(date)),
        }
    }

    /// The slot on `date`, as Unix milliseconds.
    fn slot_on(&self, date: NaiveDate) -> i64 {
        let local = date
            .and_hms_opt(self.hour, self.minute, 0)
            .expect("hour and minute are validated");
        local_to_ms(self.tz, local)
    }

    /// The latest slot at or before `t_ms`.
    pub fn latest_at_or_before(&self, t_ms: i64) -> i64 {
        let today = self.local_date(t_ms);
        // From a day ahead: a slot's local date can differ from the date of
        // its instant where a skipped hour moves it.
        let mut date = today.checked_add_days(Days::new(1)).unwrap_or(today);
        for _ in 0..SEARCH_DAYS {
            if self.on(date) {
                let slot = self.slot_on(date);
                if slot <= t_ms {
                    return slot;
                }
            }
            date = date.pred_opt().unwrap_or(date);
        }
        // Unreachable for valid schedules (every month has a slot).
        t_ms
    }

    /// The first slot after `t_ms`.
    pub fn next_after(&self, t_ms: i64) -> i64 {
        let today = self.local_date(t_ms);
        let mut date = today.checked_sub_days(Days::new(1)).unwrap_or(today);
        for _ in 0..SEARCH_DAYS {
            if self.on(date) {
                let slot = self.slot_on(date);
                if slot > t_ms {
                    return slot;
                }
            }
            date = date.succ_opt().unwrap_or(date);
        }
        t_ms + 86_400_000
    }

    /// The slot before `slot`: where the period a slot's report covers starts.
    pub fn previous(&self, slot_ms: i64) -> i64 {
        self.latest_at_or_before(slot_ms - 1)
    }

    fn local_date(&self, t_ms: i64) -> NaiveDate {
        self.tz
            .timestamp_millis_opt(t_ms)
            .single()
            .map(|d| d.date_naive())
            .unwrap_or_default()
    }

    /// In words: `daily at 07:00 UTC`, `weekly on Monday at 07:00 Europe/Berlin`.
    pub fn describe(&self) -> String {
        const DAYS: [&str; 7] = [
            "Monday",
            "Tuesday",
            "Wednesday",
            "Thursday",
            "Friday",
            "Saturday",
            "Sunday",
        ];
        let at = format!("{:02}:{:02} {}", self.hour, self.minute, self.tz.name());
        match self.cadence {
            Cadence::Daily => format!("daily at {at}"),
            Cadence::Weekly(w) => format!("weekly on {} at {at}", DAYS[w as usize % 7]),
            Cadence::Monthly(d) => format!("monthly on day {d} at {at}"),
        }
    }
}

fn days_in_month(date: NaiveDate) -> u32 {
    let (y, m) = (date.year(), date.month());
    let first_next = if m == 12 {
        NaiveDate::from_ymd_opt(y + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(y, m + 1, 1)
    };
    first_next.and_then(|d| d.pred_opt()).map_or(28, |d| d.day())
}

/// A local time in `tz` as Unix milliseconds: the earlier of a repeated
/// hour, an hour later for a skipped one.
fn local_to_ms(tz: Tz, local: NaiveDateTime) -> i64 {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.timestamp_millis(),
        LocalResult::None => {
            let later = local + chrono::Duration::hours(1);
            match tz.from_local_datetime(&later) {
                LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.timestamp_millis(),
                // No zone skips two hours in a row; UTC as the last word.
                LocalResult::None => later.and_utc().timestamp_millis(),
            }
        }
    }
}

/// A date in `tz` as the period's end: midnight at the start of the day
/// after `date` (a period selected by "ending on this date").
pub fn end_of_local_day(tz: Tz, date: NaiveDate) -> i64 {
    let next = date.succ_opt().unwrap_or(date);
    local_to_ms(tz, next.and_hms_opt(0, 0, 0).expect("midnight exists"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ms(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> i64 {
        NaiveDate::from_ymd_opt(y, mo, d)
            .unwrap()
            .and_hms_opt(h, mi, 0)
            .unwrap()
            .and_utc()
            .timestamp_millis()
    }

    fn schedule(cadence: Cadence, tz: Tz) -> Schedule {
        Schedule {
            cadence,
            hour: 7,
            minute: 30,
            tz,
        }
    }

    #[test]
    fn daily_weekly_monthly_in_utc() {
        let daily = schedule(Cadence::Daily, chrono_tz::UTC);
        let t = ms(2026, 3, 10, 12, 0);
        assert_eq!(daily.latest_at_or_before(t), ms(2026, 3, 10, 7, 30));
        assert_eq!(daily.next_after(t), ms(2026, 3, 11, 7, 30));
        assert_eq!(
            daily.latest_at_or_before(ms(2026, 3, 10, 7, 30)),
            ms(2026, 3, 10, 7, 30)
        );
        assert_eq!(daily.next_after(ms(2026, 3, 10, 7, 30)), ms(2026, 3, 11, 7, 30));
        assert_eq!(daily.previous(ms(2026, 3, 10, 7, 30)), ms(2026, 3, 9, 7, 30));
        // 2026-03-10 is a Tuesday.
        let weekly = schedule(Cadence::Weekly(0), chrono_tz::UTC);
        assert_eq!(weekly.latest_at_or_before(t), ms(2026, 3, 9, 7, 30));
        assert_eq!(weekly.next_after(t), ms(2026, 3, 16, 7, 30));
        let monthly = schedule(Cadence::Monthly(31), chrono_tz::UTC);
        assert_eq!(monthly.latest_at_or_before(t), ms(2026, 2, 28, 7, 30));
        assert_eq!(monthly.next_after(t), ms(2026, 3, 31, 7, 30));
        assert_eq!(monthly.next_after(ms(2026, 3, 31, 8, 0)), ms(2026, 4, 30, 7, 30));
        assert_eq!(monthly.previous(ms(2026, 3, 31, 7, 30)), ms(2026, 2, 28, 7, 30));
    }

    #[test]
    fn time_zones_and_daylight_saving() {
        let berlin = Schedule {
            cadence: Cadence::Daily,
            hour: 2,
            minute: 30,
            tz: chrono_tz::Europe::Berlin,
        };
        // 2026-03-29 02:30 does not exist in Berlin: 03:30 CEST = 01:30 UTC.
        assert_eq!(berlin.next_after(ms(2026, 3, 28, 12, 0)), ms(2026, 3, 29, 1, 30));
        // 2026-10-25 02:30 happens twice: the first is 00:30 UTC (CEST).
        assert_eq!(
            berlin.next_after(ms(2026, 10, 24, 12, 0)),
            ms(2026, 10, 25, 0, 30)
        );
        let daily = schedule(Cadence::Daily, chrono_tz::Europe::Berlin);
        // 07:30 CET = 06:30 UTC in winter.
        assert_eq!(daily.next_after(ms(2026, 1, 5, 0, 0)), ms(2026, 1, 5, 6, 30));
        assert_eq!(daily.describe(), "daily at 07:30 Europe/Berlin");
        assert_eq!(
            schedule(Cadence::Weekly(4), chrono_tz::UTC).describe(),
            "weekly on Friday at 07:30 UTC"
        );
        assert_eq!(
            end_of_local_day(chrono_tz::UTC, NaiveDate::from_ymd_opt(2026, 3, 9).unwrap()),
            ms(2026, 3, 10, 0, 0)
        );
    }

    fn any_schedule() -> impl Strategy<Value = Schedule> {
        let cadence = prop_oneof![
            Just(Cadence::Daily),
            (0u32..7).prop_map(Cadence::Weekly),
            (1u32..=31).prop_map(Cadence::Monthly),
        ];
        let tz = prop_oneof![
            Just(chrono_tz::UTC),
            Just(chrono_tz::Europe::Berlin),
            Just(chrono_tz::America::New_York),
            Just(chrono_tz::Australia::Lord_Howe),
            Just(chrono_tz::Asia::Kolkata),
        ];
        (cadence, 0u32..24, 0u32..60, tz).prop_map(|(cadence, hour, minute, tz)| Schedule {
            cadence,
            hour,
            minute,
            tz,
        })
    }

    proptest! {
        /// The latest slot is at or before t, the next one after it, and no
        /// slot lies between them; slots fall on their weekday or day.
        #[test]
        fn slots_bracket_every_time(s in any_schedule(), t in 1_500_000_000_000i64..2_500_000_000_000) {
            let latest = s.latest_at_or_before(t);
            let next = s.next_after(t);
            prop_assert!(latest <= t && t < next, "{latest} {t} {next}");
            prop_assert_eq!(s.next_after(latest), next);
            prop_assert_eq!(s.latest_at_or_before(next - 1), latest);
            prop_assert!(next - latest <= 32 * 86_400_000, "{}", next - latest);
            prop_assert_eq!(s.previous(next), latest);
            // A slot is on its day, or the day after where a skipped hour
            // at midnight moved it.
            let date = s.local_date(next);
            prop_assert!(s.on(date) || s.on(date.pred_opt().unwrap()), "{date}");
        }
    }
}
