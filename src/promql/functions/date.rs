//! Date functions (`year`, `month`, `day_of_month`, `day_of_week`,
//! `day_of_year`, `days_in_month`, `hour`, `minute`) in UTC.

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use promql_parser::parser::Expr;

use crate::promql::error::PromqlError;
use crate::promql::eval::Evaluator;
use crate::promql::value::{Elem, Val};

pub(super) fn call(
    ev: &mut Evaluator,
    name: &str,
    args: &[&Expr],
    ts: i64,
) -> Result<Option<Val>, PromqlError> {
    let f: fn(&DateTime<Utc>) -> f64 = match name {
        "year" => |t| t.year() as f64,
        "month" => |t| t.month() as f64,
        "day_of_month" => |t| t.day() as f64,
        "day_of_week" => |t| t.weekday().num_days_from_sunday() as f64,
        "day_of_year" => |t| t.ordinal() as f64,
        "hour" => |t| t.hour() as f64,
        "minute" => |t| t.minute() as f64,
        "days_in_month" => |t| {
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
        },
        _ => return Ok(None),
    };
    let to_time = |secs: f64| DateTime::<Utc>::from_timestamp(secs as i64, 0);
    if args.is_empty() {
        let Some(t) = to_time((ts.div_euclid(1000)) as f64) else {
            return Ok(Some(Val::Vector(Vec::new())));
        };
        return Ok(Some(Val::Vector(vec![Elem {
            metric: Default::default(),
            t: ts,
            v: f(&t),
            h: None,
            drop_name: false,
        }])));
    }
    let v = ev.eval_vector(args[0], ts)?;
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
    Ok(Some(Val::Vector(out)))
}
