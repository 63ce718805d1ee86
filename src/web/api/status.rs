//! `/api/v1/status/buildinfo` and `/api/v1/status/tsdb`.

use std::sync::Arc;

use axum::extract::State;
use axum::response::IntoResponse;
use serde_json::json;

use crate::web::error::ApiError;
use crate::web::params::Params;
use crate::web::state::AppState;

use super::{blocking, success};

pub async fn buildinfo() -> impl IntoResponse {
    success(
        json!({
            "version": env!("CARGO_PKG_VERSION"),
            "revision": option_env!("BELFRY_GIT_REVISION").unwrap_or("unknown"),
            "branch": "main",
            "buildUser": "",
            "buildDate": "",
            "goVersion": "",
            "application": "belfry",
        }),
        vec![],
    )
}

/// Cardinality figures, in Prometheus's shape; `limit` (default 10) caps
/// each top list.
pub async fn tsdb(State(state): State<Arc<AppState>>, params: Params) -> Result<impl IntoResponse, ApiError> {
    let top_n = params.limit()?.unwrap_or(10);
    let storage = state.storage.clone();
    let stats = blocking(move || Ok(storage.stats(top_n))).await?;
    let pairs = |v: &[(String, u64)]| -> Vec<serde_json::Value> {
        v.iter()
            .map(|(name, value)| json!({"name": name, "value": value}))
            .collect()
    };
    Ok(success(
        json!({
            "headStats": {
                "numSeries": stats.num_series,
                "numLabelPairs": stats.num_label_pairs,
                "chunkCount": stats.chunk_count,
                "minTime": stats.min_time,
                "maxTime": stats.max_time,
            },
            "seriesCountByMetricName": pairs(&stats.series_count_by_metric_name),
            "labelValueCountByLabelName": pairs(&stats.label_value_count_by_label_name),
            "memoryInBytesByLabelName": pairs(&stats.memory_in_bytes_by_label_name),
            "seriesCountByLabelValuePair": pairs(&stats.series_count_by_label_value_pair),
        }),
        vec![],
    ))
}
