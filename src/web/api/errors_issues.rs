//! The issues API under `/api/belfry/errors/`: the list with filters and
//! order, one issue with its latest event, an issue's events a page at a
//! time, and status changes.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::errors::{
    ErrorStore, ErrorsError, Issue, IssueQuery, IssueSearch, IssueSort, IssueStatus, LEVELS, StatusChange,
};
use crate::web::error::ApiError;
use crate::web::params::Params;
use crate::web::state::AppState;

use super::blocking;
use super::errors_correlation::with_log_links;
use super::errors_ingest::errors;

const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1_000;

fn store(state: &AppState) -> Result<Arc<ErrorStore>, ApiError> {
    Ok(errors(state)?.store().clone())
}

fn bad(message: String) -> ApiError {
    ApiError::from(ErrorsError::BadRequest(message))
}

fn limit(params: &Params) -> Result<usize, ApiError> {
    match params.get("limit") {
        None | Some("") => Ok(DEFAULT_LIMIT),
        Some(s) => match s.parse::<usize>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            _ => Err(bad(format!(
                "invalid parameter \"limit\": {s:?} (1 to {MAX_LIMIT})"
            ))),
        },
    }
}

fn id(text: &str) -> Result<u64, ApiError> {
    text.parse()
        .map_err(|_| bad(format!("{text:?} is not an issue id")))
}

fn seconds_rfc3339(secs: f64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs_f64(secs.max(0.0));
    crate::model::rfc3339(t)
}

/// An issue as the API shows it (ids as strings, as Sentry's API).
fn issue_json(i: &Issue) -> Value {
    json!({
        "id": i.id.to_string(),
        "project": i.project.to_string(),
        "title": i.title,
        "culprit": i.culprit,
        "level": i.level,
        "status": i.status.as_str(),
        "is_regression": i.regressed,
        "count": i.count,
        "user_count": i.user_count,
        "first_seen": seconds_rfc3339(i.first_seen),
        "last_seen": seconds_rfc3339(i.last_seen),
        "first_release": i.first_release,
        "last_release": i.last_release,
        "environments": i.environments,
        "ignored_until_count": i.ignored_until_count,
    })
}

/// The issue list's filters from its parameters (the Errors page takes the same).
pub(crate) fn query(params: &Params) -> Result<IssueQuery, ApiError> {
    let text = |k: &str| params.get(k).filter(|s| !s.is_empty()).map(str::to_string);
    let project = match params.get("project").filter(|s| !s.is_empty()) {
        Some(p) => Some(p.parse::<u64>().map_err(|_| {
            bad(format!(
                "invalid parameter \"project\": {p:?} is not a project id"
            ))
        })?),
        None => None,
    };
    let status = match text("status") {
        Some(s) => Some(IssueStatus::parse(&s).ok_or_else(|| {
            bad(format!(
                "invalid parameter \"status\": {s:?} (unresolved, resolved, resolved_in_next_release, ignored)"
            ))
        })?),
        None => None,
    };
    let level = text("level");
    if let Some(l) = &level
        && !LEVELS.contains(&l.as_str())
    {
        return Err(bad(format!(
            "invalid parameter \"level\": {l:?} ({})",
            LEVELS.join(", ")
        )));
    }
    let sort = match text("sort") {
        Some(s) => IssueSort::parse(&s).ok_or_else(|| {
            bad(format!(
                "invalid parameter \"sort\": {s:?} (last_seen, first_seen, count, users)"
            ))
        })?,
        None => IssueSort::default(),
    };
    Ok(IssueQuery {
        project,
        status,
        level,
        release: text("release"),
        environment: text("environment"),
        search: match params.get("query") {
            Some(q) => IssueSearch::parse(q).map_err(|m| bad(format!("invalid parameter \"query\": {m}")))?,
            None => IssueSearch::default(),
        },
        sort,
    })
}

/// `GET /api/belfry/errors/issues?project=&status=&level=&release=&environment=&query=&sort=&limit=`
pub async fn list(State(state): State<Arc<AppState>>, params: Params) -> Result<Json<Value>, ApiError> {
    let store = store(&state)?;
    let query = query(&params)?;
    let limit = limit(&params)?;
    let issues = store.issues(&query);
    let data: Vec<Value> = issues.iter().take(limit).map(issue_json).collect();
    Ok(Json(json!({ "data": data, "total": issues.len() })))
}

/// `GET /api/belfry/errors/issues/{id}`: the issue, its tag summary and
/// its latest event (stack trace, breadcrumbs, tags, request, user,
/// contexts, as stored, and links to its request's logs).
pub async fn detail(
    State(state): State<Arc<AppState>>,
    Path(issue): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let store = store(&state)?;
    let issue = id(&issue)?;
    let found = store.issue(issue).ok_or(ErrorsError::IssueNotFound(issue))?;
    let page = blocking(move || store.events(issue, None, 1).map_err(ApiError::from)).await?;
    let mut body = issue_json(&found);
    body["tags"] = found.tags.to_json();
    let mut latest = page.events.into_iter().next().unwrap_or(Value::Null);
    with_log_links(&mut latest);
    body["latest_event"] = latest;
    body["feedback"] = Value::Array(super::errors_feedback::of_issue(&state, issue).await?);
    Ok(Json(json!({ "data": body })))
}

/// `GET /api/belfry/errors/issues/{id}/events?limit=&cursor=`, newest first.
pub async fn events(
    State(state): State<Arc<AppState>>,
    Path(issue): Path<String>,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let store = store(&state)?;
    let issue = id(&issue)?;
    let limit = limit(&params)?;
    let cursor = params.get("cursor").filter(|s| !s.is_empty()).map(str::to_string);
    let health = super::errors_releases::health(&state).ok();
    let page = blocking(move || {
        let mut page = store.events(issue, cursor.as_deref(), limit)?;
        if let Some(h) = health {
            super::errors_attachments::add_to_events(&h, &mut page.events)?;
        }
        Ok(page)
    })
    .await?;
    let mut events = page.events;
    events.iter_mut().for_each(with_log_links);
    Ok(Json(json!({ "data": events, "next_cursor": page.next_cursor })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusBody {
    status: String,
    #[serde(default)]
    ignore_count: Option<u64>,
}

/// `PUT /api/belfry/errors/issues/{id}` with `{"status": …}` (and, for
/// `ignored`, an optional `ignore_count`).
pub async fn update(
    State(state): State<Arc<AppState>>,
    Path(issue): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let store = store(&state)?;
    let issue = id(&issue)?;
    let body: StatusBody =
        serde_json::from_slice(&body).map_err(|e| bad(format!("the body must be {{\"status\": …}}: {e}")))?;
    let status = IssueStatus::parse(&body.status).ok_or_else(|| {
        bad(format!(
            "\"status\": {:?} is not a status (unresolved, resolved, resolved_in_next_release, ignored)",
            body.status
        ))
    })?;
    if body.ignore_count.is_some() && status != IssueStatus::Ignored {
        return Err(bad(
            "\"ignore_count\" goes with \"status\": \"ignored\" only".into()
        ));
    }
    let change = StatusChange {
        status,
        ignore_count: body.ignore_count.filter(|n| *n > 0),
    };
    let updated = store.set_status(issue, &change).await?;
    Ok(Json(json!({ "data": issue_json(&updated) })))
}
