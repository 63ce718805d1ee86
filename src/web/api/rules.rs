//! `/api/v1/rules` and `/api/v1/alerts` in Prometheus's shapes; the rule
//! manager builds the content, this only reads the filters. Prometheus's
//! paths show the PromQL groups; Loki ruler's `/prometheus/api/v1/…` paths
//! the LogQL groups, so Grafana's Prometheus and Loki data sources pointed
//! at the same Belfry each list the rules they can run.

use std::sync::Arc;

use axum::extract::State;
use axum::response::IntoResponse;
use serde_json::json;

use crate::rules::{QueryLanguage, RuleFilter};
use crate::web::error::ApiError;
use crate::web::params::Params;
use crate::web::state::AppState;

use super::success;

/// `GET /api/v1/rules`: the PromQL groups.
pub async fn rules(state: State<Arc<AppState>>, params: Params) -> Result<impl IntoResponse, ApiError> {
    rules_of(state, params, QueryLanguage::PromQL).await
}

/// `GET /prometheus/api/v1/rules`: the LogQL groups.
pub async fn logql_rules(state: State<Arc<AppState>>, params: Params) -> Result<impl IntoResponse, ApiError> {
    rules_of(state, params, QueryLanguage::LogQL).await
}

/// `type` (alert|record), `rule_name[]`, `rule_group[]` (or `group_name[]`),
/// `file[]`, `exclude_alerts`.
async fn rules_of(
    State(state): State<Arc<AppState>>,
    params: Params,
    language: QueryLanguage,
) -> Result<impl IntoResponse, ApiError> {
    let kind = match params.get("type").unwrap_or("") {
        "" => None,
        "alert" => Some("alert".to_string()),
        "record" => Some("record".to_string()),
        other => {
            return Err(ApiError::BadData(format!(
                "invalid parameter \"type\": {other:?} is not one of alert, record"
            )));
        }
    };
    let list = |k: &str| -> Vec<String> { params.all(k).map(str::to_string).collect() };
    let mut group_names = list("rule_group[]");
    group_names.extend(list("group_name[]"));
    let filter = RuleFilter {
        kind,
        rule_names: list("rule_name[]"),
        group_names,
        files: list("file[]"),
        exclude_alerts: params.get("exclude_alerts") == Some("true"),
        language: Some(language),
    };
    let rules = state.rules.clone();
    let groups = tokio::task::spawn_blocking(move || rules.rules_status(&filter))
        .await
        .map_err(|e| ApiError::Internal(format!("rule status task failed: {e}")))?;
    Ok(success(json!({ "groups": groups }), Vec::new()))
}

/// `GET /api/v1/alerts`: the PromQL groups' alerts.
pub async fn alerts(state: State<Arc<AppState>>) -> Result<impl IntoResponse, ApiError> {
    alerts_of(state, QueryLanguage::PromQL).await
}

/// `GET /prometheus/api/v1/alerts`: the LogQL groups' alerts.
pub async fn logql_alerts(state: State<Arc<AppState>>) -> Result<impl IntoResponse, ApiError> {
    alerts_of(state, QueryLanguage::LogQL).await
}

async fn alerts_of(
    State(state): State<Arc<AppState>>,
    language: QueryLanguage,
) -> Result<impl IntoResponse, ApiError> {
    let rules = state.rules.clone();
    let alerts = tokio::task::spawn_blocking(move || rules.alerts_status(Some(language)))
        .await
        .map_err(|e| ApiError::Internal(format!("alert status task failed: {e}")))?;
    Ok(success(json!({ "alerts": alerts }), Vec::new()))
}
