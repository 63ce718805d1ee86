//! What Alertmanager adds to Go templates for notifications: the methods
//! of its data types (`KV.SortedPairs`/`Names`/`Values`/`Remove`,
//! `Pairs.Names`/`Values`, `Alerts.Firing`/`Resolved`, `time.Time`'s
//! `Format`/`Unix`/`UTC`) and its functions (`join`, `trimSpace`,
//! `stringSlice`, `date`, `tz`, `since`).

use std::sync::Arc;

use super::func_error::FuncError;
use super::gofmt::value_v;
use super::gotime;
use super::kv::sorted_pairs;
use super::value::TValue;

/// Functions notification templates have beyond Prometheus's.
pub const NAMES: &[&str] = &["join", "trimSpace", "stringSlice", "date", "tz", "since"];

fn strings(items: impl Iterator<Item = String>) -> TValue {
    TValue::List(Arc::new(items.map(TValue::Str).collect()))
}

/// A method without arguments reached as a field (`.Labels.SortedPairs`);
/// None when `v` has no such method (then the field is looked up as data).
pub(super) fn method(v: &TValue, name: &str) -> Option<Result<TValue, FuncError>> {
    let r = match (v, name) {
        (TValue::Kv(kv), "SortedPairs") => Ok(TValue::Pairs(Arc::new(sorted_pairs(kv)))),
        (TValue::Kv(kv), "Names") => Ok(strings(sorted_pairs(kv).into_iter().map(|p| p.0))),
        (TValue::Kv(kv), "Values") => Ok(strings(sorted_pairs(kv).into_iter().map(|p| p.1))),
        (TValue::Kv(_), "String") | (TValue::Pairs(_), "String") | (TValue::Time(_), "String") => {
            Ok(TValue::Str(value_v(v)))
        }
        (TValue::Kv(_), "Remove") => Err(FuncError::arity("Remove", 1, 0)),
        (TValue::Pairs(p), "Names") => Ok(strings(p.iter().map(|x| x.0.clone()))),
        (TValue::Pairs(p), "Values") => Ok(strings(p.iter().map(|x| x.1.clone()))),
        (TValue::Alerts(l), "Firing") => Ok(by_status(l, "firing")),
        (TValue::Alerts(l), "Resolved") => Ok(by_status(l, "resolved")),
        (TValue::Time(t), "Unix") => Ok(TValue::Int(t.timestamp())),
        (TValue::Time(t), "UnixMilli") => Ok(TValue::Int(t.timestamp_millis())),
        (TValue::Time(t), "UTC") => Ok(TValue::Time(t.with_timezone(&chrono_tz::UTC))),
        (TValue::Time(t), "Local") => Ok(TValue::Time(*t)),
        (TValue::Time(t), "IsZero") => Ok(TValue::Bool(t.timestamp() == ZERO_TIME_UNIX)),
        (TValue::Time(_), "Format") => Err(FuncError::arity("Format", 1, 0)),
        _ => return None,
    };
    Some(r)
}

/// Go's zero `time.Time` (year 1) in Unix seconds.
const ZERO_TIME_UNIX: i64 = -62_135_596_800;

/// A method called with arguments (`.CommonLabels.Remove .GroupLabels.Names`,
/// `.StartsAt.Format "15:04"`); None when `v` has no such method.
pub(super) fn call_method(v: &TValue, name: &str, args: &[TValue]) -> Option<Result<TValue, FuncError>> {
    let r = match (v, name) {
        (TValue::Kv(kv), "Remove") => (|| {
            let [keys] = args else {
                return Err(FuncError::arity("Remove", 1, args.len()));
            };
            let keys = string_list(keys)?;
            Ok(TValue::Kv(Arc::new(
                kv.iter()
                    .filter(|(k, _)| !keys.contains(k))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            )))
        })(),
        (TValue::Time(t), "Format") => match args {
            [TValue::Str(layout)] => Ok(TValue::Str(gotime::format(layout, t))),
            _ => Err(FuncError::FormatLayout),
        },
        _ => return None,
    };
    Some(r)
}

fn by_status(alerts: &[TValue], status: &str) -> TValue {
    TValue::List(Arc::new(
        alerts
            .iter()
            .filter(|a| matches!(a, TValue::Map(m) if m.get("Status") == Some(&TValue::str(status))))
            .cloned()
            .collect(),
    ))
}

fn string_list(v: &TValue) -> Result<Vec<String>, FuncError> {
    match v {
        TValue::List(l) => l
            .iter()
            .map(|x| match x {
                TValue::Str(s) => Ok(s.clone()),
                other => Err(FuncError::NotStringList(value_v(other))),
            })
            .collect(),
        TValue::Nil => Ok(Vec::new()),
        other => Err(FuncError::NotStringList(value_v(other))),
    }
}

fn time_arg(v: &TValue) -> Result<chrono::DateTime<chrono_tz::Tz>, FuncError> {
    match v {
        TValue::Time(t) => Ok(*t),
        other => Err(FuncError::NotTime(value_v(other))),
    }
}

fn str_arg(v: &TValue) -> Result<&str, FuncError> {
    match v {
        TValue::Str(s) => Ok(s),
        other => Err(FuncError::NotString(value_v(other))),
    }
}

/// Calls one of [`NAMES`]; None for any other name.
pub(super) fn call(name: &str, args: &[TValue], now_secs: f64) -> Option<Result<TValue, FuncError>> {
    let n = args.len();
    let arity = |want: usize| {
        if n == want {
            Ok(())
        } else {
            Err(FuncError::arity(name, want, n))
        }
    };
    let r = match name {
        // Alertmanager's join takes the separator first, for pipelines.
        "join" => arity(2).and_then(|_| {
            let sep = str_arg(&args[0])?;
            Ok(TValue::Str(string_list(&args[1])?.join(sep)))
        }),
        "trimSpace" => arity(1).and_then(|_| Ok(TValue::str(str_arg(&args[0])?.trim()))),
        "stringSlice" => args
            .iter()
            .map(|a| str_arg(a).map(TValue::str))
            .collect::<Result<Vec<_>, _>>()
            .map(|v| TValue::List(Arc::new(v))),
        "date" => arity(2).and_then(|_| {
            Ok(TValue::Str(gotime::format(
                str_arg(&args[0])?,
                &time_arg(&args[1])?,
            )))
        }),
        "tz" => arity(2).and_then(|_| {
            let zone = str_arg(&args[0])?;
            let tz: chrono_tz::Tz = match zone {
                // No local zone is configured for the server: Local is UTC.
                "" | "UTC" | "Local" => chrono_tz::UTC,
                z => z.parse().map_err(|_| FuncError::UnknownZone(z.to_string()))?,
            };
            Ok(TValue::Time(time_arg(&args[1])?.with_timezone(&tz)))
        }),
        // Go's time.Since: a duration, printed as Go prints durations.
        "since" => arity(1).and_then(|_| {
            let t = time_arg(&args[0])?;
            let secs = now_secs - t.timestamp_millis() as f64 / 1000.0;
            Ok(TValue::Str(gotime::duration_string(secs)))
        }),
        _ => return None,
    };
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kv_methods() {
        let kv = TValue::kv([("job", "api"), ("alertname", "Down"), ("a", "1")]);
        let TValue::Pairs(p) = method(&kv, "SortedPairs").unwrap().unwrap() else {
            panic!()
        };
        let names: Vec<&str> = p.iter().map(|x| x.0.as_str()).collect();
        assert_eq!(names, ["alertname", "a", "job"]);
        let removed = call_method(&kv, "Remove", &[strings(["job".to_string()].into_iter())])
            .unwrap()
            .unwrap();
        assert_eq!(value_v(&removed), "alertname=Down, a=1");
        assert!(method(&TValue::str("x"), "Names").is_none());
    }
}
