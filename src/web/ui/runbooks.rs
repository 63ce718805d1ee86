//! `/runbooks`, `/runbooks/{name}` and `/runbooks/{name}/edit`: the list of
//! runbooks with each alert's severity, one runbook rendered from its
//! Markdown beside the loaded rules that raise its alert, and an admin's
//! editor (the changes go through `/api/belfry/runbooks`, from
//! `runbooks.js`). They live under the Alerts section: a runbook is read
//! from an alert.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::Value;

use crate::auth::Permission;
use crate::rules::{QueryLanguage, RuleFilter};
use crate::runbooks::{REQUIRED_SECTIONS, render_markdown, validate_name};
use crate::web::access::percent_encode;
use crate::web::state::AppState;

use super::explore::{self, Lang};
use super::frame::{Frame, Section};
use super::overview::severity_rank;
use super::render::{not_found_with, render};

/// One loaded alerting rule, as the runbook page shows it.
pub struct AlertRule {
    pub group: String,
    pub file: String,
    pub query: String,
    /// `for:`, e.g. `5m` ("" for none).
    pub hold: String,
    pub severity: String,
    pub state: String,
    pub explore: String,
}

pub struct ListRow {
    pub name: String,
    pub href: String,
    pub severity: String,
    pub summary: String,
    pub builtin: bool,
    pub edited: bool,
    pub updated_by: String,
    pub updated_at: i64,
    /// Whether a loaded rule raises this alert.
    pub loaded: bool,
    /// Raised by the login checks, not by a rule.
    pub login_check: bool,
}

/// The login checks' alerts carry `severity="warning"` without a rule.
fn login_check(name: &str) -> bool {
    crate::logins::ALERT_NAMES.contains(&name)
}

#[derive(Template)]
#[template(path = "runbooks.html")]
struct ListPage {
    frame: Frame,
    section: Section,
    title: &'static str,
    rows: Vec<ListRow>,
    /// Loaded alerts that have no runbook, with their editor's address.
    missing: Vec<(String, String)>,
    can_edit: bool,
}

#[derive(Template)]
#[template(path = "runbook.html")]
struct RunbookPage {
    frame: Frame,
    section: Section,
    title: String,
    name: String,
    edit_href: String,
    /// The Alerts page's rules narrowed to this alert.
    alerts_href: String,
    /// The Markdown rendered, raw HTML escaped (`runbooks::render_markdown`).
    html: String,
    builtin: bool,
    edited: bool,
    updated_by: String,
    updated_at: i64,
    rules: Vec<AlertRule>,
    login_check: bool,
    can_edit: bool,
}

#[derive(Template)]
#[template(path = "runbook_edit.html")]
struct EditPage {
    frame: Frame,
    section: Section,
    title: String,
    name: String,
    view_href: String,
    markdown: String,
    exists: bool,
    builtin: bool,
}

fn seconds_text(secs: f64) -> String {
    if secs <= 0.0 {
        String::new()
    } else if secs % 3600.0 == 0.0 {
        format!("{}h", secs as u64 / 3600)
    } else if secs % 60.0 == 0.0 {
        format!("{}m", secs as u64 / 60)
    } else {
        format!("{secs}s")
    }
}

fn text(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or_default().to_string()
}

/// Every loaded alerting rule by alert name (one alert may be raised by
/// several rules, e.g. one per environment).
fn alert_rules(state: &AppState) -> HashMap<String, Vec<AlertRule>> {
    let filter = |language| RuleFilter {
        kind: Some("alert".to_string()),
        exclude_alerts: true,
        language,
        ..RuleFilter::default()
    };
    // GroupStatus does not say its language; asking for the LogQL groups does.
    let logql: HashSet<(String, String)> = state
        .rules
        .rules_status(&filter(Some(QueryLanguage::LogQL)))
        .into_iter()
        .map(|g| (g.file, g.name))
        .collect();
    let mut out: HashMap<String, Vec<AlertRule>> = HashMap::new();
    for g in state.rules.rules_status(&filter(None)) {
        let lang = if logql.contains(&(g.file.clone(), g.name.clone())) {
            Lang::LogQL
        } else {
            Lang::PromQL
        };
        for v in &g.rules {
            let query = text(v, "query");
            out.entry(text(v, "name")).or_default().push(AlertRule {
                group: g.name.clone(),
                file: g.file.clone(),
                explore: explore::link(lang, &[query.as_str()], "now-6h", "now"),
                query,
                hold: seconds_text(v.get("duration").and_then(Value::as_f64).unwrap_or_default()),
                severity: v
                    .get("labels")
                    .and_then(|l| l.get("severity"))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                state: text(v, "state"),
            });
        }
    }
    out
}

/// The most severe severity among an alert's rules.
fn severity_of(rules: Option<&Vec<AlertRule>>) -> String {
    rules
        .into_iter()
        .flatten()
        .map(|r| r.severity.as_str())
        .min_by_key(|s| severity_rank(s))
        .unwrap_or_default()
        .to_string()
}

fn page_href(name: &str) -> String {
    format!("/runbooks/{}", percent_encode(name))
}

/// `GET /runbooks`.
pub async fn list(State(state): State<Arc<AppState>>, frame: Frame) -> Response {
    let rules = alert_rules(&state);
    let rows: Vec<ListRow> = state
        .runbooks
        .list()
        .into_iter()
        .map(|r| ListRow {
            href: page_href(&r.name),
            severity: if login_check(&r.name) {
                "warning".to_string()
            } else {
                severity_of(rules.get(&r.name))
            },
            loaded: rules.contains_key(&r.name),
            login_check: login_check(&r.name),
            name: r.name,
            summary: r.summary,
            builtin: r.builtin,
            edited: r.edited,
            updated_by: r.updated_by,
            updated_at: r.updated_at,
        })
        .collect();
    let mut missing: Vec<(String, String)> = rules
        .keys()
        .filter(|name| !rows.iter().any(|r| &r.name == *name))
        .map(|name| (name.clone(), format!("{}/edit", page_href(name))))
        .collect();
    missing.sort();
    render(&ListPage {
        can_edit: frame.allows(Permission::Admin),
        frame,
        section: Section::Alerts,
        title: "Runbooks",
        rows,
        missing,
    })
}

fn no_runbook(frame: Frame, name: &str) -> Response {
    let message = if validate_name(name).is_err() {
        format!("\"{name}\" cannot be an alert's name, so there is no runbook by it.")
    } else {
        format!(
            "No runbook is written for the alert \"{name}\": it is not an alert of the built-in LMS rule packs, \
             and no admin has written one for it."
        )
    };
    not_found_with(frame, Section::Alerts, message, ("/runbooks", "All runbooks"))
}

/// `GET /runbooks/{name}`.
pub async fn view(State(state): State<Arc<AppState>>, frame: Frame, Path(name): Path<String>) -> Response {
    let Some(runbook) = state.runbooks.get(&name) else {
        return no_runbook(frame, &name);
    };
    let mut rules = alert_rules(&state).remove(&name).unwrap_or_default();
    rules.sort_by(|a, b| (&a.file, &a.group).cmp(&(&b.file, &b.group)));
    render(&RunbookPage {
        can_edit: frame.allows(Permission::Admin),
        frame,
        section: Section::Alerts,
        title: format!("Runbook: {name}"),
        edit_href: format!("{}/edit", page_href(&name)),
        alerts_href: format!("/alerts?q={}", percent_encode(&name)),
        html: render_markdown(&runbook.markdown),
        builtin: runbook.builtin,
        edited: runbook.edited,
        updated_by: runbook.updated_by,
        updated_at: runbook.updated_at,
        rules,
        login_check: login_check(&name),
        name,
    })
}

/// The text a new runbook starts from: the built-in runbooks' headings.
fn skeleton(name: &str) -> String {
    let mut out = format!("# {name}\n\nOne sentence: what is wrong when this alert fires.\n");
    for section in REQUIRED_SECTIONS {
        out.push_str(&format!("\n## {section}\n\n"));
    }
    out
}

/// `GET /runbooks/{name}/edit` (admins): an existing runbook's text, or a
/// new one's skeleton for an alert of a team's own rules.
pub async fn edit(State(state): State<Arc<AppState>>, frame: Frame, Path(name): Path<String>) -> Response {
    if validate_name(&name).is_err() {
        return no_runbook(frame, &name);
    }
    let existing = state.runbooks.get(&name);
    render(&EditPage {
        frame,
        section: Section::Alerts,
        title: format!("Edit runbook: {name}"),
        view_href: page_href(&name),
        exists: existing.is_some(),
        builtin: existing.as_ref().is_some_and(|r| r.builtin),
        markdown: existing.map_or_else(|| skeleton(&name), |r| r.markdown),
        name,
    })
}

/// Where an alert's `runbook_url` annotation may be linked from a page:
/// an http(s) URL or a path of this site. Annotations come from rule files
/// and from anyone who may post alerts, so nothing else becomes a link.
pub fn runbook_link(annotations: impl Fn(&str) -> Option<String>) -> String {
    let Some(url) = annotations("runbook_url") else {
        return String::new();
    };
    let url = url.trim();
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("https://")
        || lower.starts_with("http://")
        || (url.starts_with('/') && !url.starts_with("//"))
    {
        url.to_string()
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runbooks::{builtin_names, builtin_text};

    /// The alert names of a built-in rule pack.
    fn pack_alerts(pack: &str) -> Vec<String> {
        let path = std::path::PathBuf::from(format!("builtin:{pack}"));
        crate::rules::load_specs(&[path])
            .unwrap()
            .iter()
            .flat_map(|g| &g.rules)
            .filter_map(|r| match &r.kind {
                crate::rules::RuleKind::Alerting { alert, .. } => Some(alert.clone()),
                crate::rules::RuleKind::Recording { .. } => None,
            })
            .collect()
    }

    #[test]
    fn every_alert_of_the_packs_has_a_runbook_and_every_runbook_an_alert() {
        let mut alerts: Vec<String> = ["lms", "lms-logs"].iter().flat_map(|p| pack_alerts(p)).collect();
        // The login checks raise theirs without a rule.
        alerts.extend(crate::logins::ALERT_NAMES.iter().map(|a| a.to_string()));
        assert!(alerts.len() >= 20, "{alerts:?}");
        let names: HashSet<&str> = builtin_names().collect();
        for a in &alerts {
            assert!(names.contains(a.as_str()), "{a} has no web/runbooks/{a}.md");
        }
        for n in &names {
            assert!(
                alerts.iter().any(|a| a == n),
                "web/runbooks/{n}.md is for no alert of the packs"
            );
        }
        assert_eq!(names.len(), builtin_names().count(), "a runbook is listed twice");
    }

    /// Each runbook's own text, and its links lead somewhere: dashboards
    /// by a built-in uid, other runbooks that exist, pages that exist.
    #[test]
    fn runbooks_are_distinct_and_their_links_resolve() {
        let uids = crate::dashboards::BUILTIN_UIDS;
        let pages = [
            "/d/",
            "/runbooks",
            "/explore?",
            "/logs?",
            "/errors",
            "/alerts",
            "/targets",
            "/status",
        ];
        let mut seen = HashSet::new();
        for name in builtin_names() {
            let text = builtin_text(name).unwrap();
            for section in REQUIRED_SECTIONS {
                let body = text
                    .split(&format!("\n## {section}\n"))
                    .nth(1)
                    .unwrap_or_default();
                let body = body.split("\n## ").next().unwrap_or_default().trim();
                assert!(
                    body.len() > 150,
                    "{name}: `{section}` is too short to say anything"
                );
                assert!(
                    seen.insert(body),
                    "{name}: its `{section}` repeats another runbook's"
                );
            }
            for link in text.split("](").skip(1) {
                let target = link.split(')').next().unwrap_or_default();
                if target.starts_with("http") {
                    continue;
                }
                assert!(
                    pages.iter().any(|p| target.starts_with(p)),
                    "{name}: link to {target}"
                );
                if let Some(uid) = target.strip_prefix("/d/") {
                    assert!(
                        uids.contains(&uid),
                        "{name} links /d/{uid}, which is no built-in dashboard"
                    );
                }
                if let Some(other) = target.strip_prefix("/runbooks/") {
                    assert!(
                        builtin_text(other).is_some(),
                        "{name} links the runbook of {other}, which has none"
                    );
                }
                if let Some(q) = target.strip_prefix("/explore?") {
                    assert!(
                        q.starts_with("lang=promql&q=") || q.starts_with("lang=logql&q="),
                        "{name}: {target}"
                    );
                }
            }
            // What to check first is concrete: pages and queries to open.
            let check = text
                .split("\n## What to check first\n")
                .nth(1)
                .unwrap_or_default();
            let check = check.split("\n## ").next().unwrap_or_default();
            assert!(
                check.matches("](/").count() >= 3,
                "{name}: what to check first links under three pages"
            );
        }
    }

    #[test]
    fn an_alert_raised_by_several_rules_shows_its_most_severe_severity() {
        let rule = |severity: &str| AlertRule {
            group: "g".into(),
            file: "f".into(),
            query: "up == 0".into(),
            hold: String::new(),
            severity: severity.into(),
            state: "inactive".into(),
            explore: String::new(),
        };
        let rules = vec![rule("warning"), rule("critical"), rule("")];
        assert_eq!(severity_of(Some(&rules)), "critical");
        assert_eq!(severity_of(Some(&vec![rule("warning")])), "warning");
        assert_eq!(severity_of(None), "");
    }

    #[test]
    fn the_skeleton_has_the_sections_of_the_built_in_ones() {
        let s = skeleton("TheirAlert");
        assert!(s.starts_with("# TheirAlert\n"));
        for section in REQUIRED_SECTIONS {
            assert!(s.contains(&format!("\n## {section}\n")), "{section}");
        }
    }

    #[test]
    fn only_web_and_site_runbook_urls_become_links() {
        let of = |v: &'static str| move |k: &str| (k == "runbook_url").then(|| v.to_string());
        assert_eq!(
            runbook_link(of("https://b.example/runbooks/X")),
            "https://b.example/runbooks/X"
        );
        assert_eq!(runbook_link(of("/runbooks/X")), "/runbooks/X");
        assert_eq!(runbook_link(of("javascript:alert(1)")), "");
        assert_eq!(runbook_link(of("//evil.example/x")), "");
        assert_eq!(runbook_link(|_| None), "");
        assert_eq!(seconds_text(300.0), "5m");
        assert_eq!(seconds_text(3600.0), "1h");
        assert_eq!(seconds_text(0.0), "");
    }
}
