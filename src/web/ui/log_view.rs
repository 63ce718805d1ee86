//! Log lines and their per-level volume as the logs page draws them: a
//! line's time, level, service, message and its fields in order; the
//! histogram's stacked bars as SVG coordinates (attributes, which the
//! page's CSP allows where `style` would not). `logs.js` draws the same
//! shapes from the APIs' JSON; the class names are shared.

use serde_json::{Map, Value};

use crate::logs::Level;
use crate::logs::index::{LogLine, SearchResult};
use crate::model::Labels;
use crate::promql::Series;

/// One field of a line's details.
pub struct FieldView {
    pub name: String,
    pub value: String,
}

pub struct LineView {
    /// The store's id of the line (search results), for its context;
    /// LogQL's lines do not carry it.
    pub id: Option<u64>,
    pub ts_ns: i64,
    pub iso: String,
    /// UTC, to the millisecond: `12-07 14:03:22.153`.
    pub time: String,
    pub level: &'static str,
    pub service: String,
    pub message: String,
    pub request_id: Option<String>,
    pub fields: Vec<FieldView>,
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn times(ts_ns: i64) -> (String, String) {
    let t = chrono::DateTime::from_timestamp_nanos(ts_ns);
    (
        t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        t.format("%m-%d %H:%M:%S%.3f").to_string(),
    )
}

fn push_map(out: &mut Vec<FieldView>, map: &Map<String, Value>) {
    out.extend(map.iter().map(|(k, v)| FieldView {
        name: k.clone(),
        value: text(v),
    }));
}

impl LineView {
    /// A line of the store's search.
    pub fn of_line(l: LogLine) -> LineView {
        let (iso, time) = times(l.timestamp_ns);
        let mut fields = Vec::new();
        let known = [
            ("request_id", l.request_id.clone()),
            ("user", l.user),
            ("path", l.path),
            ("status", l.status.map(|s| s.to_string())),
            ("duration", l.duration.map(crate::promql::format_float)),
            ("error", l.error),
        ];
        for (name, value) in known {
            if let Some(value) = value {
                fields.push(FieldView {
                    name: name.to_string(),
                    value,
                });
            }
        }
        // Stream labels `service` and `level` are the line's own, shown already.
        let own = |k: &str, v: &Value| {
            (k == "service" && v.as_str() == Some(l.service.as_str()))
                || (k == "level" && v.as_str() == Some(l.level.as_str()))
        };
        let labels: Map<String, Value> = l
            .labels
            .iter()
            .filter(|(k, v)| !own(k, v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        push_map(&mut fields, &labels);
        push_map(&mut fields, &l.fields);
        LineView {
            id: Some(l.id),
            ts_ns: l.timestamp_ns,
            iso,
            time,
            level: l.level.as_str(),
            service: l.service,
            message: l.message,
            request_id: l.request_id,
            fields,
        }
    }

    /// A line of a LogQL stream: its labels are its fields, `level` and
    /// `service` among them read as the line's own.
    pub fn of_entry(labels: &Labels, ts_ns: i64, line: &str) -> LineView {
        let (iso, time) = times(ts_ns);
        let level = labels
            .get("level")
            .and_then(|l| Level::parse_canonical(l).or_else(|| Level::from_word(l)))
            .unwrap_or(Level::Info);
        let fields = labels
            .iter()
            .filter(|l| l.name != "level" && l.name != "service")
            .map(|l| FieldView {
                name: l.name.clone(),
                value: l.value.clone(),
            })
            .collect();
        LineView {
            id: None,
            ts_ns,
            iso,
            time,
            level: level.as_str(),
            service: labels.get("service").unwrap_or_default().to_string(),
            message: line.to_string(),
            request_id: labels.get("request_id").map(str::to_string),
            fields,
        }
    }
}

/// One level's part of a bar, in the SVG's units (100 high).
pub struct Part {
    pub level: &'static str,
    pub y: String,
    pub h: String,
}

pub struct Bar {
    pub x: usize,
    pub start_ms: i64,
    pub end_ms: i64,
    /// What a pointer or a screen reader learns of the bar.
    pub title: String,
    pub parts: Vec<Part>,
}

pub struct Histogram {
    /// Bars across, the SVG's width in units.
    pub width: usize,
    pub peak: u64,
    pub start_ms: i64,
    pub step_ms: i64,
    pub bars: Vec<Bar>,
    /// Lines per level over the range, debug to critical.
    pub totals: [u64; 5],
}

impl Histogram {
    /// The range's ends under the bars, UTC.
    pub fn axis(&self) -> (String, String) {
        (
            clock(self.start_ms),
            clock(self.start_ms + self.width as i64 * self.step_ms),
        )
    }

    /// The legend: levels with lines, most severe first.
    pub fn legend(&self) -> Vec<(&'static str, u64)> {
        Level::ALL
            .iter()
            .rev()
            .filter(|l| self.totals[l.index()] > 0)
            .map(|l| (l.as_str(), self.totals[l.index()]))
            .collect()
    }
}

fn clock(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

/// Stacked bars from per-bucket level counts: critical at the bottom,
/// then error, warning, info, debug, scaled so the fullest bucket is 100
/// high; a bucket with any line is at least half a unit high.
pub fn histogram(counts: &[[u64; 5]], start_ms: i64, step_ms: i64) -> Histogram {
    let peak = counts.iter().map(|c| c.iter().sum::<u64>()).max().unwrap_or(0);
    let mut totals = [0u64; 5];
    let mut bars = Vec::new();
    for (x, c) in counts.iter().enumerate() {
        for (t, n) in totals.iter_mut().zip(c) {
            *t += n;
        }
        let sum: u64 = c.iter().sum();
        if sum == 0 {
            continue;
        }
        let scale = 100.0 / peak as f64;
        let mut top = 100.0;
        let mut parts = Vec::new();
        let mut words = Vec::new();
        for level in Level::ALL.iter().rev() {
            let n = c[level.index()];
            if n == 0 {
                continue;
            }
            let h = (n as f64 * scale).max(0.5);
            top -= h;
            parts.push(Part {
                level: level.as_str(),
                y: format!("{:.2}", top.max(0.0)),
                h: format!("{h:.2}"),
            });
            words.push(format!("{n} {}", level.as_str()));
        }
        let bar_start = start_ms + x as i64 * step_ms;
        bars.push(Bar {
            x,
            start_ms: bar_start,
            end_ms: bar_start + step_ms,
            title: format!(
                "{} to {} UTC: {}",
                clock(bar_start),
                clock(bar_start + step_ms),
                words.join(", ")
            ),
            parts,
        });
    }
    Histogram {
        width: counts.len().max(1),
        peak,
        start_ms,
        step_ms,
        bars,
        totals,
    }
}

pub fn histogram_of_search(r: &SearchResult) -> Histogram {
    let counts: Vec<[u64; 5]> = r.histogram.iter().map(|b| b.counts).collect();
    let start_ms = r.histogram.first().map(|b| b.start_ns / 1_000_000).unwrap_or(0);
    histogram(&counts, start_ms, (r.step_ns / 1_000_000).max(1))
}

/// Bars from `sum by (level) (count_over_time(… [step]))` evaluated at the
/// end of each bucket: the point at `t` counts the lines of `(t - step, t]`.
pub fn histogram_of_matrix(series: &[Series], start_ms: i64, step_ms: i64, buckets: usize) -> Histogram {
    let mut counts = vec![[0u64; 5]; buckets];
    for s in series {
        let level = s
            .labels
            .get("level")
            .and_then(Level::parse_canonical)
            .unwrap_or(Level::Info);
        for (t, v) in &s.points {
            let i = (t - step_ms - start_ms).div_euclid(step_ms);
            if let Some(c) = usize::try_from(i).ok().and_then(|i| counts.get_mut(i)) {
                c[level.index()] += v.max(0.0).round() as u64;
            }
        }
    }
    histogram(&counts, start_ms, step_ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Label;

    #[test]
    fn bars_stack_critical_at_the_bottom_and_scale_to_the_peak() {
        let mut a = [0u64; 5];
        a[Level::Critical.index()] = 1;
        a[Level::Info.index()] = 3;
        let mut b = [0u64; 5];
        b[Level::Debug.index()] = 2;
        let h = histogram(&[a, [0; 5], b], 1_000, 60_000);
        assert_eq!((h.width, h.peak), (3, 4));
        assert_eq!(h.bars.len(), 2, "an empty bucket draws no bar");
        let first = &h.bars[0];
        assert_eq!(first.parts[0].level, "critical");
        assert_eq!(
            (first.parts[0].y.as_str(), first.parts[0].h.as_str()),
            ("75.00", "25.00")
        );
        assert_eq!(
            (first.parts[1].y.as_str(), first.parts[1].h.as_str()),
            ("0.00", "75.00")
        );
        assert!(
            first.title.ends_with("UTC: 1 critical, 3 info"),
            "{}",
            first.title
        );
        assert_eq!((h.bars[1].x, h.bars[1].start_ms), (2, 121_000));
        assert_eq!(h.legend(), vec![("critical", 1), ("info", 3), ("debug", 2)]);
    }

    #[test]
    fn matrix_points_count_the_bucket_before_them() {
        let series = vec![Series {
            labels: Labels::new(vec![Label::new("level", "error")]),
            points: vec![(60_000, 2.0), (120_000, 5.0), (999_000, 1.0)],
            histograms: Vec::new(),
        }];
        let h = histogram_of_matrix(&series, 0, 60_000, 3);
        assert_eq!(h.totals[Level::Error.index()], 7);
        let xs: Vec<usize> = h.bars.iter().map(|b| b.x).collect();
        assert_eq!(xs, vec![0, 1], "a point past the range is dropped");
    }

    #[test]
    fn a_stored_line_lists_its_fields_once_in_order() {
        let labels = serde_json::json!({"service": "api", "level": "error", "region": "eu"});
        let fields = serde_json::json!({"course": 7});
        let line = LogLine {
            id: 9,
            timestamp_ns: 1_700_000_000_000_000_000,
            level: Level::Error,
            service: "api".into(),
            request_id: Some("r-1".into()),
            user: None,
            path: Some("/x".into()),
            status: Some(504),
            duration: None,
            message: "timeout".into(),
            error: None,
            labels: labels.as_object().unwrap().clone(),
            fields: fields.as_object().unwrap().clone(),
        };
        let v = LineView::of_line(line);
        let names: Vec<(&str, &str)> = v
            .fields
            .iter()
            .map(|f| (f.name.as_str(), f.value.as_str()))
            .collect();
        assert_eq!(
            names,
            vec![
                ("request_id", "r-1"),
                ("path", "/x"),
                ("status", "504"),
                ("region", "eu"),
                ("course", "7")
            ]
        );
        assert_eq!(
            (v.id, v.level, v.request_id.as_deref()),
            (Some(9), "error", Some("r-1"))
        );
    }

    #[test]
    fn a_logql_line_takes_level_and_service_from_its_labels() {
        let labels = Labels::new(vec![
            Label::new("level", "warning"),
            Label::new("service", "api"),
            Label::new("region", "eu"),
        ]);
        let v = LineView::of_entry(&labels, 1_700_000_000_123_000_000, "slow");
        assert_eq!(
            (v.level, v.service.as_str(), v.message.as_str()),
            ("warning", "api", "slow")
        );
        assert_eq!(v.fields.len(), 1);
        assert_eq!(v.time, "11-14 22:13:20.123");
        assert_eq!(v.iso, "2023-11-14T22:13:20.123Z");
    }
}
