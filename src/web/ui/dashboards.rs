//! `/dashboards` (the list, import, export and duplicate) and `/d/{uid}`
//! (one dashboard: the model goes into the page as JSON data and the
//! renderer in `web/static/js/dashboard/` draws it).

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;

use crate::auth::Permission;
use crate::dashboards::DashboardSummary;
use crate::web::state::AppState;

use super::frame::{Frame, Section};
use super::render::{not_found, render};

#[derive(Template)]
#[template(path = "dashboards.html")]
struct ListPage {
    frame: Frame,
    section: Section,
    title: &'static str,
    dashboards: Vec<DashboardSummary>,
    can_change: bool,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    frame: Frame,
    section: Section,
    title: String,
    uid: String,
    builtin: bool,
    can_change: bool,
    /// The model as JSON, safe inside `<script type="application/json">`.
    model_json: String,
    /// The renderer's modules, preloaded together.
    preload: Vec<String>,
}

/// `GET /dashboards`.
pub async fn list(State(state): State<Arc<AppState>>, frame: Frame) -> Response {
    let can_change = frame.allows(Permission::Write);
    render(&ListPage {
        frame,
        section: Section::Dashboards,
        title: "Dashboards",
        dashboards: state.dashboards.list(),
        can_change,
    })
}

/// JSON that cannot end the `<script>` element holding it: `<` (and the
/// line separators JavaScript once refused) written as escapes, which
/// JSON reads back as the same characters.
fn script_safe_json(value: &serde_json::Value) -> String {
    serde_json::to_string(value)
        .unwrap_or_else(|_| "{}".to_string())
        .replace('<', "\\u003c")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// `GET /d/{uid}`.
pub async fn view(State(state): State<Arc<AppState>>, frame: Frame, Path(uid): Path<String>) -> Response {
    let Some((dashboard, builtin)) = state.dashboards.get(&uid) else {
        return not_found(
            frame,
            Section::Dashboards,
            format!("No dashboard has uid \"{uid}\"."),
        );
    };
    let can_change = frame.allows(Permission::Write);
    render(&DashboardPage {
        frame,
        section: Section::Dashboards,
        title: dashboard.title.clone(),
        uid: dashboard.uid.clone(),
        builtin,
        can_change,
        model_json: script_safe_json(&dashboard.model),
        preload: super::assets::modules(&[
            "js/dashboard/",
            "js/chart.js",
            "js/units.js",
            "js/timerange.js",
            "js/timepicker.js",
            "vendor/uplot/",
        ]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_cannot_close_its_script_element() {
        let v = serde_json::json!({"title": "</script><script>alert(1)</script>", "t": "a\u{2028}b"});
        let s = script_safe_json(&v);
        assert!(!s.contains('<') && !s.contains('\u{2028}'), "{s}");
        let back: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back, v);
    }
}
