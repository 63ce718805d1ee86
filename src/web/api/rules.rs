//! `/api/v1/rules` and `/api/v1/alerts` in Prometheus's shapes; the rule
//! manager builds the content, this only reads the filters.

use std::sync::Arc;

use axum::extract::State;
use axum::response::IntoResponse;
use serde_json::json;

use crate::rules::RuleFilter;
use crate::web::error::ApiError;
use crate::web::params::Params;
use crate::web::state::AppState;

use super::success;

/// `type` (alert|record), `rule_name[]`, `rule_group[]` (or `group_name[]`),
/// `file[]`, `exclude_alerts`.
pub async fn rules(
    State(state): State<Arc<AppState>>,
    params: Params,
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
    };
    let rules = state.rules.clone();
    let groups = tokio::task::spawn_blocking(move || rules.rules_status(&filter))
        .await
        .map_err(|e| ApiError::Internal(format!("rule status task failed: {e}")))?;
    Ok(success(json!({ "groups": groups }), Vec::new()))
}

pub async fn alerts(State(state): State<Arc<AppState>>) -> Result<impl IntoResponse, ApiError> {
    let rules = state.rules.clone();
    let alerts = tokio::task::spawn_blocking(move || rules.alerts_status())
        .await
        .map_err(|e| ApiError::Internal(format!("alert status task failed: {e}")))?;
    Ok(success(json!({ "alerts": alerts }), Vec::new()))
}
