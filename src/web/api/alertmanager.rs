//! Alertmanager API v2 subset: `/api/v2/alerts`, `/api/v2/silences`,
//! `/api/v2/silence/{id}`, `/api/v2/receivers`, `/api/v2/status`, in the
//! shapes of Alertmanager's OpenAPI spec, so an external Prometheus can send
//! alerts here and `amtool` works. Errors are a JSON string, as
//! Alertmanager answers them (`AlertmanagerApiError`).

use std::sync::Arc;
use std::time::SystemTime;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::alerting::fingerprint::fingerprint_hex;
use crate::alerting::notify::webhook::object;
use crate::alerting::{AlertView, AlertingError, Silence, SilenceMatcher};
use crate::model::{Alert, AlertSource, Label, Labels, Matcher};
use crate::model::{matches_all, parse_matchers};
use crate::model::{parse_rfc3339, rfc3339};
use crate::web::error::{AlertmanagerApiError, ApiError};
use crate::web::state::AppState;

/// Errors answer in Alertmanager's shape (a JSON string body) with the
/// statuses of the one mapping in `web/error.rs`.
type AmError = AlertmanagerApiError;

fn bad(message: impl Into<String>) -> AmError {
    AlertmanagerApiError(ApiError::BadData(message.into()))
}

async fn read_json<T: for<'de> Deserialize<'de>>(state: &AppState, body: Body) -> Result<T, AmError> {
    let limit = state.max_request_body_bytes;
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| {
        state.metrics.body_limit_exceeded.inc();
        AlertmanagerApiError(ApiError::BodyTooLarge { limit })
    })?;
    serde_json::from_slice(&bytes).map_err(|e| bad(format!("invalid JSON body: {e}")))
}

/// Query parameters as (name, value) pairs; `filter` may repeat.
fn params(query: Option<String>) -> Vec<(String, String)> {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn bool_param(params: &[(String, String)], name: &str, default: bool) -> Result<bool, AmError> {
    match params.iter().rev().find(|(k, _)| k == name) {
        None => Ok(default),
        Some((_, v)) => v
            .parse()
            .map_err(|_| bad(format!("parameter {name} must be true or false, got {v:?}"))),
    }
}

fn filters(params: &[(String, String)]) -> Result<Vec<Matcher>, AmError> {
    let mut out = Vec::new();
    for (_, v) in params.iter().filter(|(k, _)| k == "filter") {
        out.extend(parse_matchers(v).map_err(|e| bad(format!("bad matcher format: {e}")))?);
    }
    Ok(out)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostableAlert {
    labels: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    annotations: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    starts_at: Option<String>,
    #[serde(default)]
    ends_at: Option<String>,
    #[serde(rename = "generatorURL", default)]
    generator_url: String,
}

fn labels(map: std::collections::BTreeMap<String, String>) -> Labels {
    Labels::new(map.into_iter().map(|(n, v)| Label::new(n, v)).collect())
}

/// A posted `startsAt`/`endsAt`; absent, empty or Go's zero time (however
/// spelled: `amtool alert add` sends `0001-01-01T00:00:00.000Z`) is "not
/// given", the Unix epoch here, as Alertmanager's `IsZero`.
fn time_field(v: Option<String>, what: &str) -> Result<SystemTime, AmError> {
    match v.as_deref() {
        None | Some("") => Ok(SystemTime::UNIX_EPOCH),
        Some(s) => {
            let t = parse_rfc3339(s).map_err(|e| bad(format!("{what}: {e}")))?;
            let zero = parse_rfc3339(crate::model::GO_ZERO_TIME).ok();
            Ok(if Some(t) == zero {
                SystemTime::UNIX_EPOCH
            } else {
                t
            })
        }
    }
}

/// `POST /api/v2/alerts`.
pub async fn post_alerts(State(state): State<Arc<AppState>>, body: Body) -> Result<StatusCode, AmError> {
    let posted: Vec<PostableAlert> = read_json(&state, body).await?;
    let mut alerts = Vec::with_capacity(posted.len());
    for p in posted {
        alerts.push(Alert {
            labels: labels(p.labels),
            annotations: labels(p.annotations),
            starts_at: time_field(p.starts_at, "startsAt")?,
            ends_at: time_field(p.ends_at, "endsAt")?,
            generator_url: p.generator_url,
        });
    }
    state.alerting.ingest(AlertSource::Api, alerts)?;
    Ok(StatusCode::OK)
}

/// The filters `GET /api/v2/alerts` and `/api/v2/alerts/groups` share:
/// `filter` matchers, `active`, `silenced`, `inhibited` and `receiver`.
struct AlertQuery {
    active: bool,
    silenced: bool,
    inhibited: bool,
    filter: Vec<Matcher>,
    receiver: Option<Matcher>,
}

impl AlertQuery {
    fn parse(query: Option<String>) -> Result<AlertQuery, AmError> {
        let params = params(query);
        let receiver = match params.iter().find(|(k, _)| k == "receiver") {
            Some((_, r)) => Some(
                Matcher::new(crate::model::MatchOp::Regex, "receiver", r)
                    .map_err(|e| bad(format!("failed to parse receiver param: {e}")))?,
            ),
            None => None,
        };
        Ok(AlertQuery {
            active: bool_param(&params, "active", true)?,
            silenced: bool_param(&params, "silenced", true)?,
            inhibited: bool_param(&params, "inhibited", true)?,
            filter: filters(&params)?,
            receiver,
        })
    }

    /// The matchers and the state flags (not the receiver).
    fn keeps(&self, a: &AlertView) -> bool {
        let is_silenced = !a.silenced_by.is_empty();
        let is_inhibited = !a.inhibited_by.is_empty();
        let is_active = !is_silenced && !is_inhibited;
        matches_all(&self.filter, &a.alert.labels)
            && (self.active || !is_active)
            && (self.silenced || !is_silenced)
            && (self.inhibited || !is_inhibited)
    }

    fn receiver_matches(&self, name: &str) -> bool {
        self.receiver.as_ref().is_none_or(|m| m.matches(name))
    }
}

/// One alert in the API's `gettableAlert` shape.
fn alert_json(a: &AlertView) -> Value {
    let suppressed = !a.silenced_by.is_empty() || !a.inhibited_by.is_empty();
    json!({
        "labels": object(&a.alert.labels),
        "annotations": object(&a.alert.annotations),
        "startsAt": rfc3339(a.alert.starts_at),
        "endsAt": rfc3339(a.alert.ends_at),
        "updatedAt": rfc3339(a.updated_at),
        "generatorURL": a.alert.generator_url,
        "fingerprint": fingerprint_hex(a.fingerprint),
        "receivers": a.receivers.iter().map(|r| json!({"name": r})).collect::<Vec<_>>(),
        "status": {
            "state": if suppressed { "suppressed" } else { "active" },
            "silencedBy": a.silenced_by,
            "inhibitedBy": a.inhibited_by,
            "mutedBy": [],
        },
    })
}

/// `GET /api/v2/alerts` with `filter`, `active`, `silenced`, `inhibited`,
/// `unprocessed` and `receiver`.
pub async fn get_alerts(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, AmError> {
    let q = AlertQuery::parse(query)?;
    let out: Vec<Value> = state
        .alerting
        .alerts()
        .into_iter()
        .filter(|a| q.keeps(a) && a.receivers.iter().any(|r| q.receiver_matches(r)))
        .map(|a| alert_json(&a))
        .collect();
    Ok(Json(Value::Array(out)))
}

/// `GET /api/v2/alerts/groups`: the aggregation groups (`labels`,
/// `receiver`, `alerts`) with the same filters; `receiver` picks groups by
/// their route's receiver, as in Alertmanager.
pub async fn get_alert_groups(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, AmError> {
    let q = AlertQuery::parse(query)?;
    let out: Vec<Value> = state
        .alerting
        .alert_groups(|a| q.keeps(a))
        .into_iter()
        .filter(|g| q.receiver_matches(&g.receiver))
        .map(|g| {
            json!({
                "labels": object(&g.labels),
                "receiver": {"name": g.receiver},
                "alerts": g.alerts.iter().map(alert_json).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(Json(Value::Array(out)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ApiMatcher {
    name: String,
    value: String,
    is_regex: bool,
    #[serde(default = "yes")]
    is_equal: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostableSilence {
    #[serde(default)]
    id: Option<String>,
    matchers: Vec<ApiMatcher>,
    starts_at: String,
    ends_at: String,
    created_by: String,
    comment: String,
}

fn silence_json(s: &Silence, now: SystemTime) -> Value {
    json!({
        "id": s.id,
        "status": {"state": s.state(now).as_str()},
        "updatedAt": rfc3339(s.updated_at),
        "matchers": s.matchers.iter().map(|m| json!({
            "name": m.name, "value": m.value, "isRegex": m.is_regex, "isEqual": m.is_equal,
        })).collect::<Vec<_>>(),
        "startsAt": rfc3339(s.starts_at),
        "endsAt": rfc3339(s.ends_at),
        "createdBy": s.created_by,
        "comment": s.comment,
    })
}

/// `POST /api/v2/silences`: create, or update when `id` is given.
pub async fn post_silences(State(state): State<Arc<AppState>>, body: Body) -> Result<Json<Value>, AmError> {
    let p: PostableSilence = read_json(&state, body).await?;
    let silence = Silence {
        id: p.id.unwrap_or_default(),
        matchers: p
            .matchers
            .into_iter()
            .map(|m| SilenceMatcher {
                name: m.name,
                value: m.value,
                is_regex: m.is_regex,
                is_equal: m.is_equal,
            })
            .collect(),
        starts_at: parse_rfc3339(&p.starts_at).map_err(|e| bad(format!("startsAt: {e}")))?,
        ends_at: parse_rfc3339(&p.ends_at).map_err(|e| bad(format!("endsAt: {e}")))?,
        updated_at: SystemTime::now(),
        created_by: p.created_by,
        comment: p.comment,
    };
    let result = state.alerting.silences().set(silence, SystemTime::now()).await;
    if matches!(result, Err(AlertingError::TooManySilences(_))) {
        state.alerting.silences_limited();
    }
    Ok(Json(json!({"silenceID": result?})))
}

/// `GET /api/v2/silences` with `filter` (matched against each silence's
/// equality matchers, as Alertmanager does).
pub async fn get_silences(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, AmError> {
    let filter = filters(&params(query))?;
    let now = SystemTime::now();
    let mut silences = state.alerting.silences().list();
    silences.retain(|s| {
        let eq = Labels::new(
            s.matchers
                .iter()
                .filter(|m| m.is_equal && !m.is_regex)
                .map(|m| Label::new(m.name.clone(), m.value.clone()))
                .collect(),
        );
        matches_all(&filter, &eq)
    });
    // Active first, then pending, then expired; newest end first within.
    silences.sort_by_key(|s| {
        let rank = match s.state(now) {
            crate::alerting::SilenceState::Active => 0,
            crate::alerting::SilenceState::Pending => 1,
            crate::alerting::SilenceState::Expired => 2,
        };
        (rank, std::cmp::Reverse(s.ends_at))
    });
    Ok(Json(Value::Array(
        silences.iter().map(|s| silence_json(s, now)).collect(),
    )))
}

/// `GET /api/v2/silence/{id}`.
pub async fn get_silence(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, AmError> {
    let s = state
        .alerting
        .silences()
        .get(&id)
        .ok_or(AlertingError::SilenceNotFound(id))?;
    Ok(Json(silence_json(&s, SystemTime::now())))
}

/// `DELETE /api/v2/silence/{id}`: expires it.
pub async fn delete_silence(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<StatusCode, AmError> {
    state.alerting.silences().expire(&id, SystemTime::now()).await?;
    Ok(StatusCode::OK)
}

/// `GET /api/v2/receivers`.
pub async fn receivers(State(state): State<Arc<AppState>>) -> Json<Value> {
    let rt = state.alerting.runtime();
    let mut names: Vec<&String> = rt.receivers.keys().collect();
    names.sort();
    Json(Value::Array(
        names.into_iter().map(|n| json!({"name": n})).collect(),
    ))
}

/// `GET /api/v2/status`. Belfry runs no cluster, so `cluster.status` is
/// `disabled`, as for a single Alertmanager started without peers.
pub async fn status(State(state): State<Arc<AppState>>) -> Json<Value> {
    let rt = state.alerting.runtime();
    Json(json!({
        "cluster": {"name": "", "status": "disabled", "peers": []},
        "config": {"original": rt.original},
        "uptime": rfc3339(state.alerting.started()),
        "versionInfo": {
            "branch": "",
            "buildDate": "",
            "buildUser": "",
            "goVersion": "",
            "revision": "",
            "version": env!("CARGO_PKG_VERSION"),
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_zero_time_in_any_spelling_is_not_given() {
        for zero in [
            None,
            Some(""),
            Some("0001-01-01T00:00:00Z"),
            Some("0001-01-01T00:00:00.000Z"),
        ] {
            let t = time_field(zero.map(str::to_string), "endsAt").unwrap();
            assert_eq!(t, SystemTime::UNIX_EPOCH, "{zero:?}");
        }
        let t = time_field(Some("2026-12-07T21:00:00.000Z".into()), "endsAt").unwrap();
        assert_eq!(t, parse_rfc3339("2026-12-07T21:00:00Z").unwrap());
        assert!(time_field(Some("yesterday".into()), "endsAt").is_err());
    }
}
