//! The daily summary: alerts fired and resolved (the alert history),
//! error issues new and regressed (the errors store), availability and
//! p99 latency per endpoint (PromQL over the instrumentator's series the
//! LMS pack reads) and the most frequent error lines by service (LogQL).

use std::collections::BTreeMap;

use crate::errors::{Issue, IssueQuery};
use crate::rules::AlertTransition;

use super::model::{Block, Cell, Figure, Period, Section, Tone, number, percent, seconds};
use super::sources::{MAX_HISTORY, Sources, label};

/// Rows of each table; the rest are counted under it.
const ROWS: usize = 25;
/// Error lines read to find the most frequent ones.
const ERROR_LINES: usize = 5_000;
/// The LMS's error lines: the logs' level label, as the pack's
/// `LMSErrorLogBurst` reads it.
const ERROR_SELECTOR: &str = r#"{level=~"error|critical"}"#;

pub fn sections(src: &Sources, period: Period, base_url: &str) -> Vec<Section> {
    vec![
        alerts(src, period, base_url),
        issues(src, period, base_url),
        endpoints(src, period),
        log_errors(src, period),
    ]
}

/// The alert history's changes in the period (Unix ms, newest first).
pub fn history(src: &Sources, period: Period) -> Result<Vec<AlertTransition>, String> {
    let history = src
        .history
        .as_ref()
        .ok_or_else(|| "this server keeps no alert history".to_string())?;
    let found = history
        .search("", period.start_ms, period.end_ms - 1, MAX_HISTORY)
        .map_err(|e| e.to_string())?;
    if found.len() >= MAX_HISTORY {
        src.limit_hit("alert_history");
    }
    Ok(found)
}

fn severity_tone(severity: &str) -> Tone {
    match severity {
        "critical" | "page" => Tone::Critical,
        "warning" => Tone::Warning,
        _ => Tone::Plain,
    }
}

#[derive(Default)]
struct AlertCount {
    severity: String,
    fired: u64,
    resolved: u64,
    first_fired_ms: Option<i64>,
}

/// Fired (→ firing) and resolved (firing →) alerts by alert name.
fn alerts(src: &Sources, period: Period, base_url: &str) -> Section {
    let mut s = Section::new("alerts", "Alerts");
    let changes = match history(src, period) {
        Ok(c) => c,
        Err(e) => {
            s.push(Block::failed("the alert history", e));
            return s;
        }
    };
    let mut by_name: BTreeMap<String, AlertCount> = BTreeMap::new();
    for t in &changes {
        let c = by_name.entry(t.alertname.clone()).or_default();
        if c.severity.is_empty() {
            c.severity = t.labels.get("severity").cloned().unwrap_or_default();
        }
        if t.to == "firing" {
            c.fired += 1;
            c.first_fired_ms = Some(c.first_fired_ms.map_or(t.at_ms, |f| f.min(t.at_ms)));
        } else if t.from == "firing" {
            c.resolved += 1;
        }
    }
    by_name.retain(|_, c| c.fired + c.resolved > 0);
    let fired: u64 = by_name.values().map(|c| c.fired).sum();
    let resolved: u64 = by_name.values().map(|c| c.resolved).sum();
    let critical: u64 = by_name
        .values()
        .filter(|c| severity_tone(&c.severity) == Tone::Critical)
        .map(|c| c.fired)
        .sum();
    s.push(Block::Figures(vec![
        Figure::new("Alerts fired", number(fired as f64)).tone(if fired > 0 {
            Tone::Warning
        } else {
            Tone::Ok
        }),
        Figure::new("Resolved", number(resolved as f64)),
        Figure::new("Critical fired", number(critical as f64)).tone(if critical > 0 {
            Tone::Critical
        } else {
            Tone::Ok
        }),
    ]));
    if by_name.is_empty() {
        s.push(Block::Note("No alert fired or resolved in the period.".into()));
        return s;
    }
    let mut rows: Vec<(&String, &AlertCount)> = by_name.iter().collect();
    rows.sort_by(|a, b| {
        severity_tone(&b.1.severity)
            .cmp_rank()
            .cmp(&severity_tone(&a.1.severity).cmp_rank())
            .then(b.1.fired.cmp(&a.1.fired))
            .then(a.0.cmp(b.0))
    });
    let rows = rows
        .into_iter()
        .map(|(name, c)| {
            vec![
                Cell::text(name.clone()).link(format!("{base_url}/alerts?q={name}")),
                Cell::text(if c.severity.is_empty() { "—" } else { &c.severity })
                    .tone(severity_tone(&c.severity)),
                Cell::number(number(c.fired as f64)),
                Cell::number(number(c.resolved as f64)),
                Cell::text(c.first_fired_ms.map(super::render::utc_time).unwrap_or_default()),
            ]
        })
        .collect();
    s.push(Block::table(
        "Alerts by name",
        &["Alert", "Severity", "Fired", "Resolved", "First fired"],
        rows,
        ROWS,
    ));
    s
}

impl Tone {
    fn cmp_rank(self) -> u8 {
        match self {
            Tone::Critical => 3,
            Tone::Warning => 2,
            Tone::Plain => 1,
            Tone::Ok => 0,
        }
    }
}

/// Issues first seen in the period, and those reopened by an event in it.
fn issues(src: &Sources, period: Period, base_url: &str) -> Section {
    let mut s = Section::new("errors", "Error issues");
    let Some(store) = &src.errors else {
        s.push(Block::failed(
            "the error issues",
            "this server keeps no errors store",
        ));
        return s;
    };
    let in_period = |secs: f64| period.contains_ms((secs * 1000.0) as i64);
    let all = store.issues(&IssueQuery::default());
    let new: Vec<&Issue> = all.iter().filter(|i| in_period(i.first_seen)).collect();
    let regressed: Vec<&Issue> = all
        .iter()
        .filter(|i| i.regressed && in_period(i.last_seen) && !in_period(i.first_seen))
        .collect();
    let events: u64 = new.iter().chain(&regressed).map(|i| i.count).sum();
    s.push(Block::Figures(vec![
        Figure::new("New issues", number(new.len() as f64)).tone(if new.is_empty() {
            Tone::Ok
        } else {
            Tone::Warning
        }),
        Figure::new("Regressed", number(regressed.len() as f64)).tone(if regressed.is_empty() {
            Tone::Ok
        } else {
            Tone::Critical
        }),
        Figure::new("Their events", number(events as f64)),
    ]));
    s.push(Block::Note(
        "New: first seen in the period. Regressed: resolved before, reopened by an event in the period and not resolved since."
            .into(),
    ));
    for (caption, list) in [("New issues", &new), ("Regressed issues", &regressed)] {
        if list.is_empty() {
            continue;
        }
        let mut list = list.clone();
        list.sort_by(|a, b| b.count.cmp(&a.count).then(b.id.cmp(&a.id)));
        let rows = list
            .iter()
            .map(|i| {
                vec![
                    Cell::text(i.title.clone()).link(format!("{base_url}/errors/issues/{}", i.id)),
                    Cell::text(i.culprit.clone()),
                    Cell::text(i.level.clone()).tone(match i.level.as_str() {
                        "fatal" | "error" => Tone::Critical,
                        "warning" => Tone::Warning,
                        _ => Tone::Plain,
                    }),
                    Cell::number(number(i.count as f64)),
                    Cell::number(number(i.user_count as f64)),
                ]
            })
            .collect();
        s.push(Block::table(
            caption,
            &["Issue", "Culprit", "Level", "Events", "Users"],
            rows,
            ROWS,
        ));
    }
    s
}

/// Availability (share of requests not answered 5xx) and p99 latency per
/// endpoint (the instrumentator's `handler`) over the period.
fn endpoints(src: &Sources, period: Period) -> Section {
    let mut s = Section::new("endpoints", "Availability and latency per endpoint");
    let r = period.range();
    let at = period.end_ms;
    let totals = src.promql(
        &format!("sum by (handler) (increase(http_requests_total[{r}]))"),
        at,
    );
    let ok = src.promql(
        &format!(r#"sum by (handler) (increase(http_requests_total{{status!="5xx"}}[{r}]))"#),
        at,
    );
    let p99 = src.promql(
        &format!(
            "histogram_quantile(0.99, sum by (handler, le) (rate(http_request_duration_seconds_bucket[{r}])))"
        ),
        at,
    );
    let overall_p99 = src.promql(
        &format!(
            "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_highr_seconds_bucket[{r}])))"
        ),
        at,
    );
    let (totals, ok) = match (totals, ok) {
        (Ok(t), Ok(o)) => (t, o),
        (Err(e), _) | (_, Err(e)) => {
            s.push(Block::failed("requests by endpoint (http_requests_total)", e));
            return s;
        }
    };
    if totals.is_empty() {
        s.push(Block::no_data(
            "requests by endpoint",
            "no http_requests_total series in the period: is the LMS API scraped (job lms-api) with prometheus-fastapi-instrumentator?",
        ));
        return s;
    }
    let all: f64 = totals.iter().map(|t| t.v).sum();
    let good: f64 = ok.iter().map(|t| t.v).sum();
    let mut figures = vec![
        Figure::new("Requests", number(all.round())),
        Figure::new(
            "Availability",
            if all > 0.0 {
                percent(good / all)
            } else {
                "—".into()
            },
        )
        .tone(if all > 0.0 && good / all < 0.99 {
            Tone::Critical
        } else {
            Tone::Ok
        }),
    ];
    match &overall_p99 {
        Ok(v) if v.first().is_some_and(|x| x.v.is_finite()) => {
            let p = v[0].v;
            figures.push(Figure::new("p99 latency", seconds(p)).tone(if p > 2.0 {
                Tone::Warning
            } else {
                Tone::Ok
            }));
        }
        _ => {}
    }
    s.push(Block::Figures(figures));
    let ok_by: BTreeMap<String, f64> = ok.iter().map(|x| (label(x, "handler"), x.v)).collect();
    let p99_by: BTreeMap<String, f64> = match &p99 {
        Ok(v) => v.iter().map(|x| (label(x, "handler"), x.v)).collect(),
        Err(_) => BTreeMap::new(),
    };
    let mut rows: Vec<(f64, Vec<Cell>)> = totals
        .iter()
        .filter(|t| t.v > 0.0)
        .map(|t| {
            let handler = label(t, "handler");
            let availability = ok_by.get(&handler).copied().unwrap_or(0.0) / t.v;
            let latency = p99_by.get(&handler).copied().filter(|v| v.is_finite());
            let cells = vec![
                Cell::text(if handler.is_empty() {
                    "(none)".to_string()
                } else {
                    handler.clone()
                }),
                Cell::number(number(t.v.round())),
                Cell::number(percent(availability)).tone(if availability < 0.99 {
                    Tone::Critical
                } else {
                    Tone::Ok
                }),
                Cell::number(latency.map_or("—".to_string(), seconds)).tone(match latency {
                    Some(l) if l > 2.0 => Tone::Warning,
                    _ => Tone::Plain,
                }),
            ];
            (availability, cells)
        })
        .collect();
    // The least available first: what the reader should look at.
    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    s.push(Block::table(
        "Endpoints, least available first",
        &["Endpoint", "Requests", "Availability", "p99"],
        rows.into_iter().map(|(_, c)| c).collect(),
        ROWS,
    ));
    match p99 {
        Err(e) => {
            s.push(Block::failed(
                "p99 latency by endpoint (http_request_duration_seconds)",
                e,
            ));
        }
        Ok(v) if v.iter().all(|x| !x.v.is_finite()) => {
            s.push(Block::no_data(
                "p99 latency by endpoint",
                "no http_request_duration_seconds_bucket series in the period",
            ));
        }
        Ok(_) => {}
    }
    s
}

/// The message of a log line: a JSON line's `message` (or `msg`), else
/// the line.
fn message_of(line: &str) -> String {
    if line.trim_start().starts_with('{')
        && let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(line)
    {
        for key in ["message", "msg", "error"] {
            if let Some(serde_json::Value::String(m)) = map.get(key) {
                return m.clone();
            }
        }
    }
    line.to_string()
}

/// A line's pattern: numbers, hex ids and quoted values as `<*>`, so lines
/// that differ only in them count as one.
pub fn pattern(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(200));
    let mut chars = message.chars().peekable();
    let mut last_was_var = false;
    while let Some(c) = chars.next() {
        if c == '"' || c == '\'' {
            for d in chars.by_ref() {
                if d == c {
                    break;
                }
            }
            if !last_was_var {
                out.push_str("<*>");
            }
            last_was_var = true;
            continue;
        }
        if c.is_ascii_alphanumeric() {
            let mut word = String::from(c);
            while let Some(&d) = chars.peek() {
                if d.is_ascii_alphanumeric() || d == '-' || d == '.' || d == '_' {
                    word.push(d);
                    chars.next();
                } else {
                    break;
                }
            }
            let variable = word.chars().any(|d| d.is_ascii_digit());
            if variable {
                if !last_was_var {
                    out.push_str("<*>");
                }
                last_was_var = true;
            } else {
                out.push_str(&word);
                last_was_var = false;
            }
            continue;
        }
        out.push(c);
        if !c.is_whitespace() {
            last_was_var = false;
        }
    }
    let out = out.split_whitespace().collect::<Vec<_>>().join(" ");
    if out.chars().count() > 160 {
        let cut: String = out.chars().take(160).collect();
        format!("{cut}…")
    } else {
        out
    }
}

/// Error and critical lines by service, and their most frequent patterns.
fn log_errors(src: &Sources, period: Period) -> Section {
    let mut s = Section::new("logs", "Top log errors");
    let totals = src.logql_vector(
        &format!(
            "sum by (service) (count_over_time({ERROR_SELECTOR}[{}]))",
            period.range()
        ),
        period.end_ms,
    );
    match &totals {
        Err(e) => {
            s.push(Block::failed("error lines by service", e));
            return s;
        }
        Ok(t) if t.iter().all(|x| x.v == 0.0) => {
            s.push(Block::Note("No error or critical log line in the period.".into()));
            return s;
        }
        Ok(t) => {
            let mut t: Vec<_> = t.iter().filter(|x| x.v > 0.0).collect();
            t.sort_by(|a, b| b.v.total_cmp(&a.v));
            let all: f64 = t.iter().map(|x| x.v).sum();
            s.push(Block::Figures(vec![
                Figure::new("Error lines", number(all)).tone(Tone::Warning),
            ]));
            let rows = t
                .iter()
                .map(|x| {
                    let service = label(x, "service");
                    vec![
                        Cell::text(if service.is_empty() {
                            "(none)".into()
                        } else {
                            service
                        }),
                        Cell::number(number(x.v)),
                    ]
                })
                .collect();
            s.push(Block::table(
                "Error lines by service",
                &["Service", "Lines"],
                rows,
                ROWS,
            ));
        }
    }
    let cap = src.log_lines_cap(ERROR_LINES);
    let streams = match src.logql_lines(ERROR_SELECTOR, period.start_ms, period.end_ms, cap) {
        Ok(s) => s,
        Err(e) => {
            s.push(Block::failed("the most frequent error lines", e));
            return s;
        }
    };
    let mut counts: BTreeMap<(String, String), (u64, i64)> = BTreeMap::new();
    let mut read = 0usize;
    for stream in &streams {
        let service = stream.labels.get("service").unwrap_or("(none)").to_string();
        for (t_ns, line) in &stream.entries {
            read += 1;
            let e = counts
                .entry((service.clone(), pattern(&message_of(line))))
                .or_insert((0, 0));
            e.0 += 1;
            e.1 = e.1.max(*t_ns / 1_000_000);
        }
    }
    let mut rows: Vec<_> = counts.into_iter().collect();
    rows.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(&b.0)));
    let rows = rows
        .into_iter()
        .map(|((service, pattern), (n, last))| {
            vec![
                Cell::text(service),
                Cell::text(pattern),
                Cell::number(number(n as f64)),
                Cell::text(super::render::utc_time(last)),
            ]
        })
        .collect();
    s.push(Block::table(
        "Most frequent error lines (numbers, ids and quoted values as <*>)",
        &["Service", "Line", "Count", "Last seen"],
        rows,
        ROWS,
    ));
    if read >= cap {
        src.limit_hit("error_lines");
        s.push(Block::Note(format!(
            "Counted over the newest {} error lines of the period.",
            number(read as f64)
        )));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_fold_what_varies() {
        assert_eq!(
            pattern("upload 42 failed for user 9f3a2b: \"disk full\""),
            "upload <*> failed for user <*>: <*>"
        );
        assert_eq!(
            pattern("upload 43 failed for user 77aa01: \"quota\""),
            pattern("upload 42 failed for user 9f3a2b: \"disk full\"")
        );
        assert_eq!(pattern("database   timeout"), "database timeout");
        assert_eq!(pattern("took 3.5s at 10.0.0.1"), "took <*> at <*>");
        assert!(pattern(&"word ".repeat(100)).ends_with('…'));
    }

    #[test]
    fn messages_come_from_json_lines() {
        assert_eq!(
            message_of(r#"{"level":"error","message":"grade sync failed"}"#),
            "grade sync failed"
        );
        assert_eq!(message_of("plain text"), "plain text");
        assert_eq!(message_of("{not json"), "{not json");
    }
}
