//! The weekly capacity report: disk, memory, database connections, Celery
//! queue depth and Redis memory, each with its current value, its change
//! over the period and a forecast of when it reaches its limit — the
//! least-squares line through the period that `predict_linear` draws
//! (`deriv` its slope, `predict_linear(…, 0)` its value now), extended to
//! the limit of `reports.capacity`.

use std::collections::BTreeMap;

use crate::config::CapacityConfig;
use crate::model::Labels;

use super::model::{Block, Cell, Figure, Period, Section, Tone, bytes, days_hours, number, percent};
use super::sources::Sources;

/// How a resource's value is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unit {
    /// A share 0–1, written as a percentage.
    Ratio,
    /// A count (tasks).
    Count,
}

struct Resource {
    id: &'static str,
    title: &'static str,
    /// The quantity forecast, one series per thing that can run out.
    expr: String,
    /// The labels that name a series in the table.
    keys: &'static [&'static str],
    unit: Unit,
    /// Where its data comes from, for "no data".
    source: &'static str,
    /// Shown instead when `expr` has no data but this has: a resource
    /// without a limit (Redis without `maxmemory`).
    without_limit: Option<(&'static str, &'static str)>,
}

const FS: &str = r#"fstype!~"tmpfs|ramfs|overlay|squashfs|nsfs|devtmpfs""#;

fn resources() -> [Resource; 5] {
    [
        Resource {
            id: "disk",
            title: "Disk",
            expr: format!("1 - node_filesystem_avail_bytes{{{FS}}} / node_filesystem_size_bytes{{{FS}}}"),
            keys: &["instance", "mountpoint"],
            unit: Unit::Ratio,
            source: "node_filesystem_avail_bytes and node_filesystem_size_bytes (node exporter)",
            without_limit: None,
        },
        Resource {
            id: "memory",
            title: "Memory",
            expr: "1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes".into(),
            keys: &["instance"],
            unit: Unit::Ratio,
            source: "node_memory_MemAvailable_bytes and node_memory_MemTotal_bytes (node exporter)",
            without_limit: None,
        },
        Resource {
            id: "db_connections",
            title: "Database connections",
            expr: "sum by (job, instance) (pg_stat_activity_count) / on (job, instance) max by (job, instance) (pg_settings_max_connections)".into(),
            keys: &["instance"],
            unit: Unit::Ratio,
            source: "pg_stat_activity_count and pg_settings_max_connections (postgres_exporter, job postgres)",
            without_limit: None,
        },
        Resource {
            id: "celery_queue",
            title: "Celery queue depth",
            expr: "max by (queue_name) (celery_queue_length)".into(),
            keys: &["queue_name"],
            unit: Unit::Count,
            source: "celery_queue_length (celery-exporter, job celery)",
            without_limit: None,
        },
        Resource {
            id: "redis_memory",
            title: "Redis memory",
            expr: "redis_memory_used_bytes / (redis_memory_max_bytes > 0)".into(),
            keys: &["instance"],
            unit: Unit::Ratio,
            source: "redis_memory_used_bytes and redis_memory_max_bytes (redis_exporter, job redis)",
            without_limit: Some((
                "redis_memory_used_bytes",
                "Redis runs without maxmemory (redis_memory_max_bytes is 0): it grows until the host's memory runs out, so there is no limit to forecast against; set maxmemory.",
            )),
        },
    ]
}

fn limit_of(id: &str, c: &CapacityConfig) -> f64 {
    match id {
        "disk" => c.disk_used_ratio,
        "memory" => c.memory_used_ratio,
        "db_connections" => c.db_connections_ratio,
        "celery_queue" => c.celery_queue_length,
        _ => c.redis_memory_ratio,
    }
}

/// When a value on a straight line reaches its limit.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Forecast {
    /// At or past the limit now.
    Reached,
    /// Reaches it in this many seconds, within the horizon.
    In(f64),
    /// Rising, but not within the horizon.
    NotWithin,
    /// Flat or falling.
    NotRising,
}

/// `fitted` is the line's value now, `slope` its change per second.
pub fn forecast(current: f64, fitted: f64, slope: f64, limit: f64, horizon_secs: f64) -> Forecast {
    if current >= limit {
        return Forecast::Reached;
    }
    if slope.is_nan() || slope <= 0.0 || !fitted.is_finite() {
        return Forecast::NotRising;
    }
    let secs = ((limit - fitted) / slope).max(0.0);
    if secs > horizon_secs {
        Forecast::NotWithin
    } else {
        Forecast::In(secs)
    }
}

fn key(labels: &Labels) -> Labels {
    labels.builder().del("__name__").build()
}

fn value_text(unit: Unit, v: f64) -> String {
    match unit {
        Unit::Ratio => percent(v),
        Unit::Count => number(v.round()),
    }
}

fn change_text(unit: Unit, delta: f64) -> String {
    if !delta.is_finite() {
        return "—".into();
    }
    let sign = if delta > 0.0 { "+" } else { "" };
    match unit {
        Unit::Ratio => format!("{sign}{:.1} pp", delta * 100.0),
        Unit::Count => format!("{sign}{}", number(delta.round())),
    }
}

pub fn sections(src: &Sources, period: Period, cfg: &CapacityConfig) -> Vec<Section> {
    let horizon = cfg.horizon.as_duration().as_secs_f64();
    let horizon_days = (horizon / 86_400.0).round();
    let mut out = Vec::new();
    for r in resources() {
        out.push(resource(
            src,
            period,
            &r,
            limit_of(r.id, cfg),
            horizon,
            horizon_days,
        ));
    }
    out
}

fn resource(
    src: &Sources,
    period: Period,
    r: &Resource,
    limit: f64,
    horizon: f64,
    horizon_days: f64,
) -> Section {
    let mut s = Section::new(r.id, r.title);
    let at = period.end_ms;
    let w = period.seconds();
    // About one point an hour over a week, at least one a minute.
    let step = (w / 168).max(60);
    let current = src.promql(&r.expr, at);
    let slope = src.promql(&format!("deriv(({})[{w}s:{step}s])", r.expr), at);
    let fitted = src.promql(&format!("predict_linear(({})[{w}s:{step}s], 0)", r.expr), at);
    let (current, slope, fitted) = match (current, slope, fitted) {
        (Ok(c), Ok(s), Ok(f)) => (c, s, f),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
            s.push(Block::failed(
                format!("{} ({})", r.title.to_lowercase(), r.expr),
                e,
            ));
            return s;
        }
    };
    if current.is_empty() {
        if let Some((expr, why)) = r.without_limit
            && let Ok(used) = src.promql(expr, at)
            && !used.is_empty()
        {
            let rows = used
                .iter()
                .map(|u| {
                    vec![
                        Cell::text(series_name(&u.labels, r.keys)),
                        Cell::number(bytes(u.v)),
                    ]
                })
                .collect();
            s.push(Block::table("In use", &["Series", "Used"], rows, 50));
            s.push(Block::Note(why.into()));
            return s;
        }
        s.push(Block::no_data(
            r.title.to_lowercase(),
            format!("no data now from {}", r.source),
        ));
        return s;
    }
    let slopes: BTreeMap<Labels, f64> = slope.iter().map(|x| (key(&x.labels), x.v)).collect();
    let fits: BTreeMap<Labels, f64> = fitted.iter().map(|x| (key(&x.labels), x.v)).collect();
    let mut soonest: Option<(Forecast, String)> = None;
    let mut rows: Vec<(f64, Vec<Cell>)> = Vec::new();
    for c in &current {
        let k = key(&c.labels);
        let slope = slopes.get(&k).copied().unwrap_or(f64::NAN);
        let fitted = fits.get(&k).copied().unwrap_or(f64::NAN);
        let f = forecast(c.v, fitted, slope, limit, horizon);
        let name = series_name(&c.labels, r.keys);
        let (text, tone, order) = match f {
            Forecast::Reached => ("at the limit now".to_string(), Tone::Critical, 0.0),
            Forecast::In(secs) => (
                format!(
                    "in {} ({})",
                    days_hours(secs),
                    super::render::utc_day(at + (secs * 1000.0) as i64)
                ),
                if secs < 7.0 * 86_400.0 {
                    Tone::Critical
                } else {
                    Tone::Warning
                },
                secs,
            ),
            Forecast::NotWithin => (
                format!("not within {horizon_days} days"),
                Tone::Ok,
                f64::MAX / 2.0,
            ),
            Forecast::NotRising => ("not rising".to_string(), Tone::Ok, f64::MAX),
        };
        if soonest.as_ref().is_none_or(|(s, _)| rank(f) < rank(*s)) {
            soonest = Some((f, name.clone()));
        }
        rows.push((
            order,
            vec![
                Cell::text(name),
                Cell::number(value_text(r.unit, c.v)),
                Cell::number(change_text(r.unit, slope * w as f64)),
                Cell::number(value_text(r.unit, limit)),
                Cell::text(text).tone(tone),
            ],
        ));
    }
    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    if let Some((f, name)) = soonest {
        let (value, tone) = match f {
            Forecast::Reached => (format!("{name}: at the limit"), Tone::Critical),
            Forecast::In(secs) => (format!("{name}: in {}", days_hours(secs)), Tone::Warning),
            Forecast::NotWithin => (format!("not within {horizon_days} days"), Tone::Ok),
            Forecast::NotRising => ("not rising".to_string(), Tone::Ok),
        };
        s.push(Block::Figures(vec![Figure::new("Runs out", value).tone(tone)]));
    }
    s.push(Block::table(
        "Now, change over the period, and the forecast",
        &["Series", "Now", "Change", "Limit", "Reaches the limit"],
        rows.into_iter().map(|(_, c)| c).collect(),
        50,
    ));
    s
}

/// Soonest first: reached, then the shortest time, then the rest.
fn rank(f: Forecast) -> f64 {
    match f {
        Forecast::Reached => -1.0,
        Forecast::In(s) => s,
        Forecast::NotWithin => f64::MAX / 2.0,
        Forecast::NotRising => f64::MAX,
    }
}

fn series_name(labels: &Labels, keys: &[&str]) -> String {
    let parts: Vec<&str> = keys
        .iter()
        .filter_map(|k| labels.get(k))
        .filter(|v| !v.is_empty())
        .collect();
    if parts.is_empty() {
        "(all)".into()
    } else {
        parts.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forecasts_follow_the_line() {
        // 50% now, +10 pp a day, limit 90%: four days.
        let day = 86_400.0;
        assert_eq!(
            forecast(0.5, 0.5, 0.1 / day, 0.9, 30.0 * day),
            Forecast::In(4.0 * day)
        );
        assert_eq!(forecast(0.95, 0.9, 0.0, 0.9, 30.0 * day), Forecast::Reached);
        assert_eq!(forecast(0.5, 0.5, 0.0, 0.9, 30.0 * day), Forecast::NotRising);
        assert_eq!(forecast(0.5, 0.5, -1.0, 0.9, 30.0 * day), Forecast::NotRising);
        assert_eq!(forecast(0.5, 0.5, f64::NAN, 0.9, 30.0 * day), Forecast::NotRising);
        assert_eq!(
            forecast(0.1, 0.1, 0.001 / day, 0.9, 30.0 * day),
            Forecast::NotWithin
        );
        assert_eq!(change_text(Unit::Ratio, 0.032), "+3.2 pp");
        assert_eq!(change_text(Unit::Count, -40.0), "-40");
    }
}
