//! Date functions (`year`, `month`, `day_of_month`, `day_of_week`,
//! `day_of_year`, `days_in_month`, `hour`, `minute`) in UTC.

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};

use crate::promql::error::PromqlError;
use crate::promql::eval::Evaluator;
use crate::promql::value::{Elem, Val};

use super::args::Args;

pub(super) fn year(t: &DateTime<Utc>) -> f64 {
    t.year() as f64
}

pub(super) fn month(t: &DateTime<Utc>) -> f64 {
    t.month() as f64
}

pub(super) fn day_of_month(t: &DateTime<Utc>) -> f64 {
    t.day() as f64
}

pub(super) fn day_of_week(t: &DateTime<Utc>) -> f64 {
    t.weekday().num_days_from_sunday() as f64
}

pub(super) fn day_of_year(t: &DateTime<Utc>) -> f64 {
    t.ordinal() as f64
}

pub(super) fn hour(t: &DateTime<Utc>) -> f64 {
    t.hour() as f64
}

pub(super) fn minute(t: &DateTime<Utc>) -> f64 {
    t.minute() as f64
}

pub(super) fn days_in_month(t: &DateTime<Utc>) -> f64 {
    let (y, m) = if t.month() == 12 {
        (t.year() + 1, 1)
    } else {
        (t.year(), t.month() + 1)
    };
    let first_next = NaiveDate::from_ymd_opt(y, m, 1);
    let first = NaiveDate::from_ymd_opt(t.year(), t.month(), 1);
    match (first_next, first) {
        (Some(a), Some(b)) => (a - b).num_days() as f64,
        _ => f64::NAN,
    }
}

/// `f` of each sample's value read as Unix seconds, or of the step time
/// when the call has no argument.
pub(super) fn apply(
    ev: &mut Evaluator,
    args: &Args,
    ts: i64,
    f: fn(&DateTime<Utc>) -> f64,
) -> Result<Val, PromqlError> {
    let to_time = |secs: f64| DateTime::<Utc>::from_timestamp(secs as i64, 0);
    if args.is_empty() {
        let Some(t) = to_time((ts.div_euclid(1000)) as f64) else {
            return Ok(Val::Vector(Vec::new()));
        };
        return Ok(Val::Vector(vec![Elem {
            metric: Default::default(),
            t: ts,
            v: f(&t),
            h: None,
            drop_name: false,
        }]));
    }
    let v = args.vector(ev, 0, ts)?;
    let out = v
        .into_iter()
        .map(|mut e| {
            e.v = if e.v.is_finite() {
                to_time(e.v).map(|t| f(&t)).unwrap_or(f64::NAN)
            } else {
                f64::NAN
            };
            e.t = ts;
            e.drop_name = true;
            e
        })
        .collect();
    Ok(Val::Vector(out))
}
