//! `/api/v1/targets` and `/api/v1/metadata`: what the scrape manager knows.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::response::IntoResponse;
use serde_json::json;

use crate::scrape::{MetricMetadata, TargetStatus};
use crate::web::error::ApiError;
use crate::web::params::Params;
use crate::web::state::AppState;

use super::success;

/// `state` (active, dropped, any) and `scrapePool` filter, as in Prometheus.
pub async fn targets(
    State(state): State<Arc<AppState>>,
    params: Params,
) -> Result<impl IntoResponse, ApiError> {
    let wanted = params.get("state").unwrap_or("any").to_ascii_lowercase();
    let (want_active, want_dropped) = match wanted.as_str() {
        "" | "any" => (true, true),
        "active" => (true, false),
        "dropped" => (false, true),
        other => {
            return Err(ApiError::BadData(format!(
                "invalid parameter \"state\": {other:?} is not one of active, dropped, any"
            )));
        }
    };
    let pool = params.get("scrapePool").filter(|p| !p.is_empty());
    let mut active = Vec::new();
    let mut dropped = Vec::new();
    for t in state.scrape.targets() {
        match t {
            TargetStatus::Active(a) if want_active && pool.is_none_or(|p| a.scrape_pool == p) => {
                active.push(a)
            }
            TargetStatus::Dropped(d) if want_dropped && pool.is_none_or(|p| d.scrape_pool == p) => {
                dropped.push(d)
            }
            _ => {}
        }
    }
    Ok(success(
        json!({"activeTargets": active, "droppedTargets": dropped}),
        vec![],
    ))
}

/// Metric metadata grouped by family: `{"name": [{"type", "help", "unit"}]}`;
/// `metric` selects one family, `limit` caps families and
/// `limit_per_metric` entries per family.
pub async fn metadata(
    State(state): State<Arc<AppState>>,
    params: Params,
) -> Result<impl IntoResponse, ApiError> {
    let metric = params.get("metric").filter(|m| !m.is_empty());
    let limit = params.limit()?;
    let per_metric = match params.get("limit_per_metric") {
        None | Some("") => None,
        Some(s) => match s.parse::<i64>() {
            Ok(n) if n > 0 => Some(n as usize),
            Ok(_) => None,
            Err(_) => {
                return Err(ApiError::BadData(format!(
                    "invalid parameter \"limit_per_metric\": {s:?} is not an integer"
                )));
            }
        },
    };
    let mut grouped: BTreeMap<String, Vec<MetricMetadata>> = BTreeMap::new();
    for m in state.scrape.metadata() {
        if metric.is_some_and(|want| want != m.metric) {
            continue;
        }
        let entries = grouped.entry(m.metric.clone()).or_default();
        if !entries.contains(&m) && per_metric.is_none_or(|n| entries.len() < n) {
            entries.push(m);
        }
    }
    if let Some(n) = limit {
        grouped = grouped.into_iter().take(n).collect();
    }
    Ok(success(grouped, vec![]))
}
