//! `/errors/issues/{id}` (not `/errors/{id}`, which would take
//! Elasticsearch's `/errors/_bulk` from a shipper writing to index
//! `errors`): one issue as Sentry shows it — title, culprit, counts
//! and users, first and last seen, status with its actions, the tag
//! summary, then the latest event (exceptions with in-app frames first,
//! breadcrumbs, request, user, tags, context) and the newest events, each
//! linking to its request's logs.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::Value;

use crate::auth::Permission;
use crate::web::state::AppState;

use super::frame::{Frame, Section};
use super::render::{not_found, render};

const EVENTS: usize = 20;
/// Logs around an event: this long before and after it.
const LOG_WINDOW_MS: i64 = 15 * 60 * 1000;

pub struct FrameLine {
    pub function: String,
    pub place: String,
    pub context: String,
    pub in_app: bool,
    pub vars: Vec<(String, String)>,
}

pub struct ExceptionBlock {
    pub kind: String,
    pub value: String,
    /// Innermost call first, as Sentry lists them.
    pub frames: Vec<FrameLine>,
}

pub struct Crumb {
    pub time: String,
    pub category: String,
    pub level: String,
    pub message: String,
}

pub struct EventLine {
    pub event_id: String,
    pub at_ms: i64,
    pub release: String,
    pub environment: String,
    pub request_id: String,
}

pub struct EventView {
    pub event_id: String,
    pub at_ms: i64,
    pub message: String,
    pub exceptions: Vec<ExceptionBlock>,
    pub breadcrumbs: Vec<Crumb>,
    pub request: Vec<(String, String)>,
    pub user: Vec<(String, String)>,
    pub tags: Vec<(String, String)>,
    pub contexts: String,
    pub request_id: String,
}

pub struct TagLine {
    pub key: String,
    pub values: Vec<(String, u64)>,
}

#[derive(Template)]
#[template(path = "error_issue.html")]
struct IssuePage {
    frame: Frame,
    section: Section,
    title: String,
    id: u64,
    culprit: String,
    level: String,
    status: String,
    regressed: bool,
    count: u64,
    users: u64,
    first_seen_ms: i64,
    last_seen_ms: i64,
    first_release: String,
    last_release: String,
    environments: String,
    tags: Vec<TagLine>,
    latest: Option<EventView>,
    events: Vec<EventLine>,
    can_change: bool,
    log_window: i64,
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn pairs(v: &Value) -> Vec<(String, String)> {
    match v {
        Value::Object(map) => map.iter().map(|(k, v)| (k.clone(), text(v))).collect(),
        // Sentry also sends tags and headers as `[["key", "value"], …]`.
        Value::Array(items) => items
            .iter()
            .filter_map(|p| Some((text(p.get(0)?), text(p.get(1)?))))
            .collect(),
        _ => Vec::new(),
    }
}

fn seconds_ms(v: &Value) -> i64 {
    match v {
        Value::Number(n) => (n.as_f64().unwrap_or_default() * 1000.0) as i64,
        Value::String(s) => super::times::rfc3339_ms(s).unwrap_or_default(),
        _ => 0,
    }
}

fn frames_of(exception: &Value) -> Vec<FrameLine> {
    let frames = exception["stacktrace"]["frames"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    frames
        .iter()
        .rev()
        .map(|f| {
            let file = f["filename"]
                .as_str()
                .or(f["abs_path"].as_str())
                .or(f["module"].as_str())
                .unwrap_or("?");
            let line = f["lineno"].as_u64().map(|l| format!(":{l}")).unwrap_or_default();
            FrameLine {
                function: f["function"].as_str().unwrap_or("?").to_string(),
                place: format!("{file}{line}"),
                context: f["context_line"].as_str().unwrap_or_default().trim().to_string(),
                in_app: f["in_app"].as_bool().unwrap_or(false),
                vars: pairs(&f["vars"]),
            }
        })
        .collect()
}

fn event_view(e: &Value) -> EventView {
    // The outermost exception is last in Sentry's list; show it first.
    let exceptions = e["exception"]["values"]
        .as_array()
        .map(|values| {
            values
                .iter()
                .rev()
                .map(|x| ExceptionBlock {
                    kind: x["type"].as_str().unwrap_or("Error").to_string(),
                    value: text(&x["value"]),
                    frames: frames_of(x),
                })
                .collect()
        })
        .unwrap_or_default();
    let crumbs = e["breadcrumbs"]["values"]
        .as_array()
        .or(e["breadcrumbs"].as_array())
        .cloned()
        .unwrap_or_default();
    let breadcrumbs = crumbs
        .iter()
        .rev()
        .take(50)
        .map(|c| Crumb {
            time: super::times::iso(seconds_ms(&c["timestamp"])),
            category: c["category"].as_str().unwrap_or_default().to_string(),
            level: c["level"].as_str().unwrap_or("info").to_string(),
            message: text(&c["message"]),
        })
        .collect();
    let request = &e["request"];
    let mut req = Vec::new();
    for key in ["method", "url", "query_string"] {
        if !request[key].is_null() {
            req.push((key.to_string(), text(&request[key])));
        }
    }
    for (k, v) in pairs(&request["headers"]) {
        req.push((format!("header {k}"), v));
    }
    let message = e["logentry"]["formatted"]
        .as_str()
        .or(e["logentry"]["message"].as_str())
        .or(e["message"].as_str())
        .unwrap_or_default()
        .to_string();
    EventView {
        event_id: text(&e["event_id"]),
        at_ms: seconds_ms(&e["timestamp"]),
        message,
        exceptions,
        breadcrumbs,
        request: req,
        user: pairs(&e["user"]),
        tags: pairs(&e["tags"]),
        contexts: serde_json::to_string_pretty(&e["contexts"]).unwrap_or_default(),
        request_id: text(&e["request_id"]),
    }
}

fn no_such_issue(frame: Frame, id: &str) -> Response {
    not_found(frame, Section::Errors, format!("No error issue has id \"{id}\"."))
}

/// `GET /errors/issues/{id}`.
pub async fn page(State(state): State<Arc<AppState>>, frame: Frame, Path(id): Path<String>) -> Response {
    let (Some(errors), Ok(issue_id)) = (state.errors.clone(), id.parse::<u64>()) else {
        return no_such_issue(frame, &id);
    };
    let store = errors.store().clone();
    let Some(issue) = store.issue(issue_id) else {
        return no_such_issue(frame, &id);
    };
    let page = tokio::task::spawn_blocking(move || store.events(issue_id, None, EVENTS)).await;
    let events: Vec<Value> = match page {
        Ok(Ok(p)) => p.events,
        _ => Vec::new(),
    };
    let latest = events.first().map(event_view);
    let lines = events
        .iter()
        .map(|e| EventLine {
            event_id: text(&e["event_id"]),
            at_ms: seconds_ms(&e["timestamp"]),
            release: text(&e["release"]),
            environment: text(&e["environment"]),
            request_id: text(&e["request_id"]),
        })
        .collect();
    let tags = issue
        .tags
        .to_json()
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|t| TagLine {
            key: text(&t["key"]),
            values: t["values"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|v| {
                    (
                        if v["value"].is_null() {
                            "other".to_string()
                        } else {
                            text(&v["value"])
                        },
                        v["count"].as_u64().unwrap_or(0),
                    )
                })
                .collect(),
        })
        .collect();
    let can_change = frame.allows(Permission::Write);
    render(&IssuePage {
        frame,
        section: Section::Errors,
        title: issue.title.clone(),
        id: issue.id,
        culprit: issue.culprit.clone(),
        level: issue.level.clone(),
        status: issue.status.as_str().to_string(),
        regressed: issue.regressed,
        count: issue.count,
        users: issue.user_count,
        first_seen_ms: (issue.first_seen * 1000.0) as i64,
        last_seen_ms: (issue.last_seen * 1000.0) as i64,
        first_release: issue.first_release.clone().unwrap_or_default(),
        last_release: issue.last_release.clone().unwrap_or_default(),
        environments: issue.environments.join(", "),
        tags,
        latest,
        events: lines,
        can_change,
        log_window: LOG_WINDOW_MS,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_outer_exception_and_the_innermost_frame_come_first() {
        let e = json!({
            "event_id": "abc", "timestamp": 1700000000.5, "request_id": "req-1",
            "exception": {"values": [
                {"type": "KeyError", "value": "'x'", "stacktrace": {"frames": [
                    {"function": "main", "filename": "app.py", "lineno": 3},
                    {"function": "grade", "module": "lms.grading", "lineno": 40, "in_app": true, "context_line": "  d['x']", "vars": {"password": "[redacted]"}}
                ]}},
                {"type": "GradingError", "value": "failed"}
            ]},
            "breadcrumbs": {"values": [{"timestamp": 1700000000.0, "category": "sql", "message": "SELECT 1"}]},
            "request": {"method": "POST", "url": "http://lms/grade", "headers": [["Accept", "*/*"]]},
            "tags": [["release", "1.0"]],
            "user": {"id": "u_abc"}
        });
        let v = event_view(&e);
        assert_eq!(v.at_ms, 1_700_000_000_500);
        assert_eq!(v.exceptions[0].kind, "GradingError");
        let frames = &v.exceptions[1].frames;
        assert_eq!(frames[0].function, "grade");
        assert_eq!(frames[0].place, "lms.grading:40");
        assert!(frames[0].in_app);
        assert_eq!(
            frames[0].vars,
            vec![("password".to_string(), "[redacted]".to_string())]
        );
        assert_eq!(v.breadcrumbs[0].message, "SELECT 1");
        assert!(
            v.request
                .contains(&("header Accept".to_string(), "*/*".to_string()))
        );
        assert_eq!(v.tags, vec![("release".to_string(), "1.0".to_string())]);
        assert_eq!(v.request_id, "req-1");
    }
}
