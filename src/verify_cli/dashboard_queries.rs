//! Every query a dashboard's panels and annotations run, with Grafana's
//! template variables put in as the dashboard page does on first load:
//! a multi-value or include-All variable as its `allValue` (else `.*`),
//! another as its current value (else its first option), and the built-ins
//! (`$__rate_interval`, `$__interval`, `$__range`, …) from the time range
//! the check reads.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

use regex::{Captures, Regex};
use serde_json::Value;

/// Which API runs a query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Language {
    PromQL,
    LogQL,
}

/// One query to run, and where it comes from.
#[derive(Clone, Debug, PartialEq)]
pub struct DashboardQuery {
    /// `panel "Title"` or `annotation "Name"`, with the target's refId.
    pub source: String,
    pub language: Language,
    /// The expression with every variable it names put in.
    pub expr: String,
    /// Grafana's `instant` target: one evaluation at the range's end.
    pub instant: bool,
    /// An empty answer is no fault: annotations mark events (alert
    /// periods from `ALERTS`, releases), and a healthy range has none.
    pub may_be_empty: bool,
}

/// The time range a check reads, which the built-ins derive from.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    pub range: Duration,
    /// The range query's step.
    pub step: Duration,
}

/// The scrape interval `$__rate_interval` assumes, as the dashboard page.
const SCRAPE_INTERVAL: Duration = Duration::from_secs(15);

impl Window {
    /// A range with the step of about 180 points.
    pub fn over(range: Duration) -> Window {
        let step = Duration::from_secs(range.as_secs().div_ceil(180).max(SCRAPE_INTERVAL.as_secs()));
        Window { range, step }
    }

    /// The dashboard's own default range (`"time": {"from": "now-6h"}`),
    /// else 6 h, Grafana's usual default.
    pub fn of_dashboard(model: &Value) -> Window {
        let range = model["time"]["from"]
            .as_str()
            .and_then(|f| f.strip_prefix("now-"))
            .and_then(|d| belfry::model::PromDuration::parse(d).ok())
            .map(|d| d.as_duration())
            .filter(|d| !d.is_zero())
            .unwrap_or(Duration::from_secs(6 * 3600));
        Window::over(range)
    }

    fn builtins(&self, uid: &str) -> HashMap<&'static str, String> {
        let step = self.step;
        let rate = (step + SCRAPE_INTERVAL).max(SCRAPE_INTERVAL * 4);
        let duration = |d: Duration| belfry::model::PromDuration(d).to_string();
        HashMap::from([
            ("__interval", duration(step)),
            ("__interval_ms", step.as_millis().to_string()),
            ("__rate_interval", duration(rate)),
            ("__rate_interval_ms", rate.as_millis().to_string()),
            ("__range", format!("{}s", self.range.as_secs())),
            ("__range_s", self.range.as_secs().to_string()),
            ("__range_ms", self.range.as_millis().to_string()),
            ("__dashboard", uid.to_string()),
        ])
    }
}

/// What a dashboard's variables stand for; a datasource variable stands
/// for its kind (`prometheus`, `loki`), which only data source fields read.
struct Variables {
    values: HashMap<String, String>,
    datasources: HashMap<String, String>,
}

impl Variables {
    fn of(model: &Value) -> Variables {
        let mut values = HashMap::new();
        let mut datasources = HashMap::new();
        for v in model["templating"]["list"].as_array().into_iter().flatten() {
            let Some(name) = v["name"].as_str() else { continue };
            let kind = v["type"].as_str().unwrap_or("");
            if kind == "datasource" {
                datasources.insert(name.to_string(), v["query"].as_str().unwrap_or("").to_lowercase());
                continue;
            }
            values.insert(name.to_string(), value_of(v, kind));
        }
        Variables { values, datasources }
    }
}

/// The value a variable has when a dashboard opens.
fn value_of(v: &Value, kind: &str) -> String {
    let all = || match v["allValue"].as_str() {
        Some(a) if !a.is_empty() => a.to_string(),
        _ => ".*".to_string(),
    };
    let multi = v["multi"].as_bool() == Some(true) || v["includeAll"].as_bool() == Some(true);
    if kind == "query" && multi {
        return all();
    }
    let current = match &v["current"]["value"] {
        Value::String(s) => Some(s.clone()),
        Value::Array(a) => a.first().and_then(Value::as_str).map(str::to_string),
        _ => None,
    };
    match current.filter(|c| !c.is_empty()) {
        Some(c) if c == "$__all" => all(),
        Some(c) => c,
        None => v["options"][0]["value"]
            .as_str()
            .map(str::to_string)
            .or_else(|| {
                let query = v["query"].as_str()?;
                match kind {
                    "custom" | "interval" => query.split(',').next().map(|s| s.trim().to_string()),
                    "constant" | "textbox" => Some(query.to_string()),
                    _ => None,
                }
            })
            .unwrap_or_else(all),
    }
}

fn variable_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"\$\{(\w+)(?::[^}]*)?\}|\[\[(\w+)(?::\w+)?\]\]|\$(\w+)").expect("the variable pattern")
    })
}

/// `text` with each variable it names put in; a name the dashboard does
/// not define stays as written, so the query's error names it.
fn expand(text: &str, vars: &Variables, builtins: &HashMap<&'static str, String>) -> String {
    variable_re()
        .replace_all(text, |c: &Captures| {
            let name = c
                .get(1)
                .or_else(|| c.get(2))
                .or_else(|| c.get(3))
                .map_or("", |m| m.as_str());
            builtins
                .get(name)
                .or_else(|| vars.values.get(name))
                .cloned()
                .unwrap_or_else(|| c[0].to_string())
        })
        .into_owned()
}

/// The kind of a data source field: `prometheus`, `loki`, or what else it
/// names (`grafana` for Grafana's own annotations, which run nothing here).
fn datasource_kind(ds: &Value, vars: &Variables) -> String {
    let named = |text: &str| -> String {
        let bare = text
            .trim_start_matches('$')
            .trim_start_matches('{')
            .trim_end_matches('}');
        if text.starts_with('$')
            && let Some(kind) = vars.datasources.get(bare)
        {
            return kind.clone();
        }
        let lower = text.to_lowercase();
        if lower.contains("loki") {
            "loki".into()
        } else if lower == "-- grafana --" || lower == "grafana" {
            "grafana".into()
        } else if lower == "-- mixed --" {
            "mixed".into()
        } else {
            "prometheus".into()
        }
    };
    match ds {
        Value::String(s) => named(s),
        Value::Object(o) => match (
            o.get("type").and_then(Value::as_str),
            o.get("uid").and_then(Value::as_str),
        ) {
            (Some(t), _) if t.starts_with('$') => named(t),
            (Some("datasource"), _) => "grafana".into(),
            (Some(t), _) => t.to_lowercase(),
            (None, Some(uid)) => named(uid),
            (None, None) => "prometheus".into(),
        },
        _ => "prometheus".into(),
    }
}

fn language(kind: &str) -> Option<Language> {
    match kind {
        "prometheus" => Some(Language::PromQL),
        "loki" => Some(Language::LogQL),
        _ => None,
    }
}

/// Every panel, the collapsed rows' nested ones included.
fn panels(model: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for p in model["panels"].as_array().into_iter().flatten() {
        out.push(p);
        out.extend(p["panels"].as_array().into_iter().flatten());
    }
    out
}

/// What a dashboard's model asks the server, and the targets it leaves
/// out with why (a data source Belfry does not answer for).
pub fn queries(uid: &str, model: &Value, window: Window) -> (Vec<DashboardQuery>, Vec<String>) {
    let vars = Variables::of(model);
    let builtins = window.builtins(uid);
    let mut out = Vec::new();
    let mut left_out = Vec::new();
    for p in panels(model) {
        let title = p["title"].as_str().unwrap_or("(untitled)");
        for t in p["targets"].as_array().into_iter().flatten() {
            if t["hide"].as_bool() == Some(true) {
                continue;
            }
            let Some(expr) = t["expr"].as_str().or_else(|| t["query"].as_str()) else {
                continue;
            };
            if expr.trim().is_empty() {
                continue;
            }
            let ref_id = t["refId"].as_str().unwrap_or("?");
            let source = format!("panel {title:?} target {ref_id}");
            // A target's own data source wins over its panel's (Grafana's
            // mixed panels set it on each target).
            let ds = if t["datasource"].is_null() {
                &p["datasource"]
            } else {
                &t["datasource"]
            };
            let kind = datasource_kind(ds, &vars);
            let Some(language) = language(&kind) else {
                left_out.push(format!(
                    "{source}: data source {kind:?} is neither Prometheus nor Loki"
                ));
                continue;
            };
            out.push(DashboardQuery {
                source,
                language,
                expr: expand(expr, &vars, &builtins),
                instant: t["instant"].as_bool() == Some(true) && t["range"].as_bool() != Some(true),
                may_be_empty: false,
            });
        }
    }
    for a in model["annotations"]["list"].as_array().into_iter().flatten() {
        let Some(expr) = a["expr"].as_str().filter(|e| !e.trim().is_empty()) else {
            continue;
        };
        if a["enable"].as_bool() == Some(false) {
            continue;
        }
        let name = a["name"].as_str().unwrap_or("(unnamed)");
        let Some(language) = language(&datasource_kind(&a["datasource"], &vars)) else {
            continue;
        };
        out.push(DashboardQuery {
            source: format!("annotation {name:?}"),
            language,
            expr: expand(expr, &vars, &builtins),
            instant: false,
            may_be_empty: true,
        });
    }
    (out, left_out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn model() -> Value {
        json!({
            "uid": "api",
            "time": {"from": "now-6h", "to": "now"},
            "templating": {"list": [
                {"name": "datasource", "type": "datasource", "query": "prometheus"},
                {"name": "logs", "type": "datasource", "query": "loki"},
                {"name": "job", "type": "query", "multi": true, "includeAll": true,
                 "current": {"value": ["$__all"]}},
                {"name": "endpoint", "type": "query", "includeAll": true, "allValue": "/api/.*"},
                {"name": "quantile", "type": "custom", "query": "0.5,0.9,0.99",
                 "current": {"value": "0.99"}},
                {"name": "env", "type": "custom", "query": "prod, staging"}
            ]},
            "annotations": {"list": [
                {"name": "Annotations & Alerts", "builtIn": 1,
                 "datasource": {"type": "grafana", "uid": "-- Grafana --"}},
                {"name": "LMS alerts", "datasource": {"type": "prometheus", "uid": "${datasource}"},
                 "expr": "ALERTS{job=~\"$job\"}"}
            ]},
            "panels": [
                {"type": "row", "title": "Latency", "collapsed": true, "panels": [
                    {"type": "timeseries", "title": "p99",
                     "datasource": {"type": "prometheus", "uid": "${datasource}"},
                     "targets": [
                        {"refId": "A", "expr": "histogram_quantile($quantile, sum by (le) (rate(x_bucket{job=~\"$job\", handler=~\"${endpoint:regex}\", env=\"[[env]]\"}[$__rate_interval])))"},
                        {"refId": "B", "expr": "hidden", "hide": true}
                     ]}
                ]},
                {"type": "logs", "title": "Errors", "datasource": "${logs}",
                 "targets": [{"refId": "A", "expr": "{service=\"api\"} |= \"error\"", "instant": true}]},
                {"type": "stat", "title": "Mixed", "datasource": {"type": "datasource", "uid": "-- Mixed --"},
                 "targets": [{"refId": "A", "datasource": {"type": "loki", "uid": "x"},
                              "expr": "sum(count_over_time({service=\"api\"}[$__range]))"},
                             {"refId": "B", "datasource": {"type": "elasticsearch", "uid": "es"},
                              "expr": "level:error"}]},
                {"type": "text", "title": "Read me"}
            ]
        })
    }

    #[test]
    fn variables_and_builtins_are_put_in_as_the_page_opens_them() {
        let (qs, left_out) = queries("api", &model(), Window::of_dashboard(&model()));
        let exprs: Vec<(&str, &str, Language, bool)> = qs
            .iter()
            .map(|q| (q.source.as_str(), q.expr.as_str(), q.language, q.may_be_empty))
            .collect();
        assert_eq!(
            exprs,
            [
                (
                    "panel \"p99\" target A",
                    "histogram_quantile(0.99, sum by (le) (rate(x_bucket{job=~\".*\", handler=~\"/api/.*\", env=\"prod\"}[2m15s])))",
                    Language::PromQL,
                    false
                ),
                (
                    "panel \"Errors\" target A",
                    "{service=\"api\"} |= \"error\"",
                    Language::LogQL,
                    false
                ),
                (
                    "panel \"Mixed\" target A",
                    "sum(count_over_time({service=\"api\"}[21600s]))",
                    Language::LogQL,
                    false
                ),
                (
                    "annotation \"LMS alerts\"",
                    "ALERTS{job=~\".*\"}",
                    Language::PromQL,
                    true
                ),
            ]
        );
        assert!(qs[1].instant && !qs[0].instant);
        assert_eq!(
            left_out,
            ["panel \"Mixed\" target B: data source \"elasticsearch\" is neither Prometheus nor Loki"]
        );
    }

    #[test]
    fn an_undefined_variable_stays_for_the_query_to_name() {
        let (qs, _) = queries(
            "d",
            &json!({"panels": [{"title": "t", "targets": [{"refId": "A", "expr": "up{job=\"$nope\"}"}]}]}),
            Window::over(Duration::from_secs(3600)),
        );
        assert_eq!(qs[0].expr, "up{job=\"$nope\"}");
        assert_eq!(qs[0].language, Language::PromQL);
    }

    #[test]
    fn the_window_follows_the_dashboard() {
        let w = Window::of_dashboard(&json!({"time": {"from": "now-24h"}}));
        assert_eq!(w.range, Duration::from_secs(86_400));
        assert_eq!(w.step, Duration::from_secs(480));
        let w = Window::of_dashboard(&json!({"time": {"from": "2024-01-01T00:00:00Z"}}));
        assert_eq!(w.range, Duration::from_secs(6 * 3600));
        assert_eq!(w.step, Duration::from_secs(120));
    }
}
